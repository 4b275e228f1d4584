"""Balanced face pairs: the Siamese network's fixed test pairs when they exist, else drawn deterministically.

Scoring the baseline on exactly the pairs the Siamese network was scored on makes the two pair
accuracies comparable; when the Siamese network has not been trained we draw our own, half of one
person, half of two, from a seeded generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import read_csv


def draw_pairs(labels: np.ndarray, n: int, seed: int) -> list[tuple[int, int, int]]:
    """`n` index pairs (i, j, same), i ≠ j, same = 1 for one person; half same, half different."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels == c) for c in (0, 1)]
    can_same = [c for c in (0, 1) if len(by_class[c]) >= 2]
    can_diff = all(len(idx) >= 1 for idx in by_class)
    if not can_same or not can_diff:
        raise ValueError("drawing pairs needs both people, and one of them at least twice")
    out: list[tuple[int, int, int]] = []
    for k in range(n):
        if k % 2 == 0:
            c = can_same[int(rng.integers(len(can_same)))]
            i, j = rng.choice(by_class[c], size=2, replace=False)
            out.append((int(i), int(j), 1))
        else:
            i = rng.choice(by_class[0])
            j = rng.choice(by_class[1])
            a, b = (i, j) if rng.random() < 0.5 else (j, i)
            out.append((int(a), int(b), 0))
    return out


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
