"""Cartoon faces whose two identities differ only in chosen regions: ground truth for the analysis.

Used by the tests and the benchmark when no `lookalike synth` data is at hand:
the faces are drawn from the region masks themselves (skin per region, dark
eyes, brows and lips), with per-image nuisance (pose jitter, lighting, per-region
shading) shared by both identities. Person B's planted regions carry a fine
striped skin texture; the stripes average out, so the overall brightness says
nothing and a network that tells the two apart has to look at the planted
regions themselves, while an edge detector points at the eyes, brows and mouth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from ..face.regions import REGIONS, region_labels
from ..face.template import SIZE, TEMPLATE_68, landmark_columns
from ..io import atomic_write_csv, atomic_write_json, save_png
from ..runfolder import Run

DEFAULT_PLANTED = ("forehead", "cheekbone_left", "cheekbone_right")
IDENTITIES = ["person_a", "person_b"]


def jittered_landmarks(rng: np.random.Generator) -> np.ndarray:
    """The template moved by a small random similarity transform plus per-point noise."""
    angle = np.deg2rad(rng.uniform(-4, 4))
    scale = rng.uniform(0.96, 1.04)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
    centre = np.array([SIZE / 2, SIZE / 2])
    pts = (TEMPLATE_68 - centre) @ rot.T + centre + rng.uniform(-2, 2, size=2)
    return (pts + rng.normal(0, 0.5, size=pts.shape)).astype(np.float32)


def render_face(landmarks: np.ndarray, label: int, rng: np.random.Generator,
                planted: tuple[str, ...] = DEFAULT_PLANTED, strength: float = 0.2) -> np.ndarray:
    """One 128×128×3 uint8 face; identity `label` 1 has stripes of amplitude `strength` in its `planted` regions."""
    regions = region_labels(landmarks)
    skin = np.array([0.78, 0.6, 0.5]) * rng.uniform(0.85, 1.1)
    shade = np.zeros((SIZE, SIZE), np.float64)
    for k in range(len(REGIONS)):
        shade[regions == k] = rng.normal(0, 0.05)
    if label == 1:
        planted_mask = np.isin(regions, [REGIONS.index(r) for r in planted])
        yy = np.arange(SIZE)[:, None] + rng.uniform(0, 4)
        shade += strength * np.sin(2 * np.pi * yy / 4.0) * gaussian_filter(planted_mask * 1.0, 1.0)
    img = np.empty((SIZE, SIZE, 3), np.float64)
    img[:] = rng.uniform(0.15, 0.45, size=3)  # background
    face = regions >= 0
    img[face] = skin
    img += shade[..., None] * face[..., None]
    dark = np.zeros((SIZE, SIZE), np.float64)
    for pts, radius in ((landmarks[36:48], 2.0), (landmarks[17:27], 1.6), (landmarks[48:60], 1.8),
                        (landmarks[31:36], 1.2)):
        for x, y in pts:
            yy, xx = np.ogrid[:SIZE, :SIZE]
            dark = np.maximum(dark, np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * radius**2)))
    img *= 1 - 0.65 * dark[..., None]
    img += rng.normal(0, 0.02, size=img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def make_planted_run(root: str | Path, n_per_identity: int = 60, seed: int = 0,
                     planted: tuple[str, ...] = DEFAULT_PLANTED, strength: float = 0.2,
                     split: tuple[float, float, float] = (0.6, 0.1, 0.3)) -> Run:
    """Write `<root>/data/` (faces, identities.json, split.csv, landmarks.csv) as `prepare` would."""
    unknown = set(planted) - set(REGIONS)
    if unknown:
        raise ValueError(f"unknown regions {sorted(unknown)}; choose from {REGIONS}")
    run = Run(root)
    rng = np.random.default_rng(seed)
    rows, marks = [], []
    cols = landmark_columns()
    for label, who in enumerate(IDENTITIES):
        for i in range(n_per_identity):
            lm = jittered_landmarks(rng)
            rel = f"faces/{who}/{who}_{i:04d}.png"
            save_png(run.data / rel, render_face(lm, label, rng, planted, strength))
            frac = i / n_per_identity
            part = "train" if frac < split[0] else "val" if frac < split[0] + split[1] else "test"
            rows.append({"path": rel, "identity": who, "label": label, "split": part, "group": rel})
            marks.append({"path": rel, **dict(zip(cols, lm.reshape(-1).round(2).tolist()))})
    atomic_write_json(run.identities_json, IDENTITIES)
    atomic_write_csv(run.split_csv, rows, ["path", "identity", "label", "split", "group"])
    atomic_write_csv(run.landmarks_csv, marks, ["path", *cols])
    atomic_write_json(run.data / "planted.json", {"planted": list(planted), "strength": strength})
    return run
