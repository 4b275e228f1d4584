"""Face pairs for the baseline: read the Siamese network's fixed test pairs, and score pairs by distance.

Scoring the baseline on exactly the pairs the Siamese network was scored on makes the two pair
accuracies comparable; without them we draw pairs with lookalike.training's own generator and seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import read_csv


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    """Rows of a test_pairs.csv (a, b, same), paths relative to data/."""
    rows = read_csv(path)
    if rows and not {"a", "b", "same"} <= set(rows[0]):
        raise SystemExit(f"{path} should have the columns a, b, same; found {sorted(rows[0])}")
    return [(r["a"], r["b"], int(float(r["same"]))) for r in rows]


def pair_distances(emb: dict[str, np.ndarray], pairs: list[tuple[str, str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean embedding distance per pair, and the same/different truth."""
    a = np.stack([emb[p[0]] for p in pairs]) if pairs else np.zeros((0, 128), np.float32)
    b = np.stack([emb[p[1]] for p in pairs]) if pairs else np.zeros((0, 128), np.float32)
    same = np.array([p[2] for p in pairs], np.int64)
    return np.linalg.norm(a - b, axis=1), same
