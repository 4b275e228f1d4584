"""Read the prepared data set (`<run>/data/`) into memory for training and analysis.

Images are decoded once and kept as uint8 tensors (N×3×128×128): 2,000 faces
take 98 MB, so even `faces-dev` fits comfortably in RAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..contract import SPLIT, SplitRow, read_identities, read_landmarks
from ..face.template import SIZE as IMAGE_SIZE
from ..face.template import TEMPLATE_68
from ..io import load_rgb
from ..runfolder import Run

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
    return read_identities(run)


def split_rows(run: Run, split: str | None = None) -> list[SplitRow]:
    """Rows of split.csv (path, identity, label, split, group), optionally of one split."""
    rows = SPLIT.read(run)
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
        labels=torch.tensor([r.label for r in rows], dtype=torch.long),
        paths=[r.path for r in rows],
        groups=[r.group or r.path for r in rows],
        identities=identities(run),
    )


def load_landmarks(run: Run | str | Path, paths: list[str]) -> np.ndarray:
    """68 landmarks (N×68×2, aligned-face pixels) for `paths`; the template where none was found."""
    run = run if isinstance(run, Run) else Run(run)
    table = read_landmarks(run.landmarks_csv) if run.landmarks_csv.exists() else {}
    return np.stack([table.get(p, TEMPLATE_68) for p in paths]) if paths else np.zeros((0, 68, 2), np.float32)
