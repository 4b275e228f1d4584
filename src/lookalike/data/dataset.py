"""Read the prepared data set (`<run>/data/`) into memory for training and analysis.

Images are decoded once and kept as uint8 tensors (N×3×128×128): 2,000 faces
take 98 MB, so even `faces-dev` fits comfortably in RAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..io import load_rgb, read_csv, read_json
from ..runfolder import IMAGE_SIZE, Run
from ..template import TEMPLATE_68

SPLITS = ("train", "val", "test")


@dataclass
class FaceSet:
    """Faces of one split: `images` uint8 N×3×H×W, `labels` int64 N (index into `identities`)."""

    images: torch.Tensor
    labels: torch.Tensor
    paths: list[str]  # relative to <run>/data/
    groups: list[str]  # near-duplicate group ids (never straddle splits)
    identities: list[str]

    def __len__(self) -> int:
        return len(self.paths)

    def float(self) -> torch.Tensor:
        """Images as float32 in [0, 1]: the input scale every network and attack uses."""
        return self.images.float().div_(255.0)


def identities(run: Run) -> list[str]:
    """The two people, in label order (label 0, label 1)."""
    return list(read_json(run.require(run.identities_json, "prepare")))


def split_rows(run: Run, split: str | None = None) -> list[dict[str, str]]:
    """Rows of split.csv (columns: path, identity, label, split, group), optionally one split."""
    rows = read_csv(run.require(run.split_csv, "prepare"))
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        rows = [r for r in rows if r["split"] == split]
    return rows


def load_split(run: Run | str | Path, split: str, limit: int | None = None) -> FaceSet:
    """Decode every face of `split` once into a uint8 tensor."""
    run = run if isinstance(run, Run) else Run(run)
    rows = split_rows(run, split)
    if limit is not None:
        rows = rows[:limit]
    images = np.zeros((len(rows), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for i, row in enumerate(rows):
        images[i] = load_rgb(run.data / row["path"], size=IMAGE_SIZE).transpose(2, 0, 1)
    return FaceSet(
        images=torch.from_numpy(images),
        labels=torch.tensor([int(r["label"]) for r in rows], dtype=torch.long),
        paths=[r["path"] for r in rows],
        groups=[r.get("group", r["path"]) for r in rows],
        identities=identities(run),
    )


def load_landmarks(run: Run | str | Path, paths: list[str]) -> np.ndarray:
    """68 landmarks (N×68×2, aligned-face pixels) for `paths`; the template where none was found."""
    run = run if isinstance(run, Run) else Run(run)
    table: dict[str, np.ndarray] = {}
    if run.landmarks_csv.exists():
        for row in read_csv(run.landmarks_csv):
            try:
                xy = np.array([float(row[f"{a}{i}"]) for i in range(68) for a in ("x", "y")], dtype=np.float32)
            except (KeyError, ValueError):
                continue
            if np.isfinite(xy).all():
                table[row["path"]] = xy.reshape(68, 2)
    return np.stack([table.get(p, TEMPLATE_68) for p in paths]) if paths else np.zeros((0, 68, 2), np.float32)
