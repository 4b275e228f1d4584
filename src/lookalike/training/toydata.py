"""A tiny stand-in data set for tests and benchmarks: cartoon faces of two "people" who differ only in
planted cheek patches, written as a `<run>/data/` folder that follows docs/run-folder.md.

The real demo data comes from `lookalike synth`; this exists so training can be
tested without it, in seconds, with a difference we know a network can learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..face.template import SIZE as IMAGE_SIZE
from ..io import atomic_write_csv, atomic_write_json, save_png
from ..runfolder import Run

IDENTITIES = ["person_a", "person_b"]


def toy_faces(n: int, label: int, rng: np.random.Generator, size: int = IMAGE_SIZE,
              contrast: float = 35.0) -> np.ndarray:
    """n faces (n×size×size×3 uint8); label 1 has brighter cheeks by `contrast` grey levels."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for k in range(n):
        dx, dy = rng.uniform(-0.03, 0.03, 2)
        bg = rng.uniform(30, 220, 3)
        skin = rng.uniform(120, 210) * np.array([1.0, 0.82, 0.7]) + rng.normal(0, 8, 3)
        img = np.broadcast_to(bg, (size, size, 3)).astype(np.float32).copy()
        face = ((xx - 0.5 - dx) / 0.33) ** 2 + ((yy - 0.52 - dy) / 0.42) ** 2 < 1
        img[face] = skin
        for ex in (0.37, 0.63):  # eyes
            img[((xx - ex - dx) / 0.06) ** 2 + ((yy - 0.42 - dy) / 0.03) ** 2 < 1] = 40
        img[(np.abs(xx - 0.5 - dx) < 0.1) & (np.abs(yy - 0.72 - dy) < 0.012)] = 90  # mouth
        cheeks = sum(np.exp(-(((xx - cx - dx) / 0.07) ** 2 + ((yy - 0.58 - dy) / 0.06) ** 2))
                     for cx in (0.33, 0.67))
        strength = contrast * (1.0 if label == 1 else 0.0) + rng.normal(0, contrast * 0.3)
        img += (strength * cheeks * face)[..., None]
        img += rng.normal(0, 10, img.shape)
        out[k] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def make_toy_run(root: str | Path, n_per_class: int = 100, seed: int = 0,
                 fractions: tuple[float, float] = (0.7, 0.15), contrast: float = 35.0) -> Run:
    """Write `<root>/data/` (faces, identities.json, split.csv) with `n_per_class` faces per person."""
    run = Run(root)
    rng = np.random.default_rng(seed)
    rows = []
    for label, name in enumerate(IDENTITIES):
        faces = toy_faces(n_per_class, label, rng, contrast=contrast)
        n_train = int(n_per_class * fractions[0])
        n_val = int(n_per_class * fractions[1])
        for i, face in enumerate(faces):
            rel = f"faces/{name}/{name}_{i:04d}.png"
            save_png(run.data / rel, face)
            split = "train" if i < n_train else "val" if i < n_train + n_val else "test"
            rows.append({"path": rel, "identity": name, "label": label, "split": split, "group": rel})
    atomic_write_json(run.identities_json, IDENTITIES)
    atomic_write_csv(run.split_csv, rows, ["path", "identity", "label", "split", "group"])
    return run
