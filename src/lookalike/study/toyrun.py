"""A tiny run folder with just what the study reads (data/faces, split.csv, identities.json).

For tests and the load benchmark, where no prepared data set is at hand:
plain 128×128 PNGs, a different colour pattern per person.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import atomic_write_csv, atomic_write_json, save_png
from ..runfolder import Run

IDENTITIES = ["anna_example", "bella_example"]


def make_toy_run(root: str | Path, per_person: int = 45, seed: int = 0) -> Run:
    """Write `per_person` test images of each of two people (plus a few train ones) under `root`/data."""
    run = Run(root)
    rng = np.random.default_rng(seed)
    rows = []
    for label, name in enumerate(IDENTITIES):
        for i in range(per_person + 3):
            base = np.array([200, 120, 90] if label == 0 else [90, 130, 200], dtype=np.int16)
            img = np.clip(base + rng.integers(-40, 40, size=(128, 128, 3)), 0, 255).astype(np.uint8)
            path = f"faces/{name}/{name}_{i:03d}.png"
            save_png(run.data / path, img)
            split = "test" if i < per_person else "train"
            rows.append({"path": path, "identity": name, "label": label, "split": split, "group": f"{name}-{i}"})
    atomic_write_csv(run.split_csv, rows, ["path", "identity", "label", "split", "group"])
    atomic_write_json(run.identities_json, IDENTITIES)
    return run
