"""Small fake runs for tests and benchmarks: a `data/` folder as `lookalike prepare` writes it, in seconds.

One builder, three kinds of faces:

- `planted` (default): cartoon faces drawn from the named face regions, the two
  identities differing only in chosen regions (a fine striped skin texture on person B):
  ground truth for the region analysis. Writes landmarks.csv too. Under per-image
  nuisance (pose jitter, lighting, per-region shading) shared by both identities; the
  stripes average out, so a network has to look at the planted regions themselves,
  while an edge detector points at the eyes, brows and mouth.
- `cheeks`: faces whose second person has brighter cheeks by `contrast` grey levels: a
  difference a tiny network learns in a few epochs (training tests).
- `plain`: flat colour noise, a different colour per person: all the study needs.

The demo's real synthetic data comes from `lookalike synth` (`lk.synth`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from .contract import LANDMARKS, SPLIT, SplitRow, write_identities
from .face.regions import REGIONS, region_labels
from .face.template import SIZE, TEMPLATE_68, landmark_columns
from .io import save_png
from .runfolder import Run

DEFAULT_PLANTED = ("forehead", "cheekbone_left", "cheekbone_right")
IDENTITIES = {"planted": ["person_a", "person_b"], "cheeks": ["person_a", "person_b"],
              "plain": ["anna_example", "bella_example"]}
SPLITS = {"planted": (0.6, 0.1, 0.3), "cheeks": (0.7, 0.15, 0.15)}  # fractions of train, val, test
FACES = tuple(IDENTITIES)
PLAIN_TRAIN = 3  # `plain`: all but this many images of a person are test images (the study draws from test)


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


def cheek_faces(n: int, label: int, rng: np.random.Generator, size: int = SIZE,
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


def plain_face(label: int, rng: np.random.Generator) -> np.ndarray:
    """Colour noise around one colour per person."""
    base = np.array([200, 120, 90] if label == 0 else [90, 130, 200], dtype=np.int16)
    return np.clip(base + rng.integers(-40, 40, size=(SIZE, SIZE, 3)), 0, 255).astype(np.uint8)


def _faces(kind: str, label: int, n: int, rng: np.random.Generator, planted: tuple[str, ...], strength: float,
           contrast: float) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(image, landmarks or None) for `n` faces of one person, in the order the random stream gives them."""
    if kind == "cheeks":
        yield from ((img, None) for img in cheek_faces(n, label, rng, contrast=contrast))
        return
    for _ in range(n):
        if kind == "plain":
            yield plain_face(label, rng), None
        else:
            lm = jittered_landmarks(rng)
            yield render_face(lm, label, rng, planted, strength), lm


def _split_of(kind: str, i: int, n: int, split: tuple[float, float, float] | None) -> str:
    if kind == "plain" and split is None:
        return "test" if i < n - PLAIN_TRAIN else "train"
    train, val, _ = split or SPLITS[kind]
    frac = i / n
    return "train" if frac < train else "val" if frac < train + val else "test"


def make_fake_run(root: str | Path, n_per_person: int = 60, faces: str = "planted", seed: int = 0,
                  split: tuple[float, float, float] | None = None, planted: tuple[str, ...] = DEFAULT_PLANTED,
                  strength: float = 0.2, contrast: float = 35.0, identities: Mapping[str, list[str]] = IDENTITIES
                  ) -> Run:
    """Write `<root>/data/` (faces, identities.json, split.csv, and landmarks.csv for `planted`) as `prepare` would.

    `split`: fractions of (train, val, test) in file order; default per kind (`plain`: all test but 3 train).
    """
    if faces not in FACES:
        raise ValueError(f"faces must be one of {FACES}, not {faces!r}")
    unknown = set(planted) - set(REGIONS)
    if unknown:
        raise ValueError(f"unknown regions {sorted(unknown)}; choose from {REGIONS}")
    run = Run(root)
    rng = np.random.default_rng(seed)
    rows, marks = [], []
    cols = landmark_columns()
    for label, who in enumerate(identities[faces]):
        for i, (img, lm) in enumerate(_faces(faces, label, n_per_person, rng, planted, strength, contrast)):
            rel = f"faces/{who}/{who}_{i:04d}.png"
            save_png(run.data / rel, img)
            rows.append(SplitRow(path=rel, identity=who, label=label, split=_split_of(faces, i, n_per_person, split),
                                 group=rel))
            if lm is not None:
                marks.append({"path": rel, **dict(zip(cols, lm.reshape(-1).round(2).tolist()))})
    write_identities(run, identities[faces])
    SPLIT.write(run, rows)
    if marks:
        LANDMARKS.write(run, marks)
    return run
