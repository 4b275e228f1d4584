"""Face pairs for the baseline, scored by embedding distance.

Scoring the baseline on exactly the pairs the Siamese network was scored on (`lookalike.pairs`) makes
the two pair accuracies comparable; without them it draws pairs with the same generator and seed.
"""

from __future__ import annotations

import numpy as np


def pair_distances(emb: dict[str, np.ndarray], pairs: list[tuple[str, str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean embedding distance per pair, and the same/different truth."""
    a = np.stack([emb[p[0]] for p in pairs]) if pairs else np.zeros((0, 128), np.float32)
    b = np.stack([emb[p[1]] for p in pairs]) if pairs else np.zeros((0, 128), np.float32)
    same = np.array([p[2] for p in pairs], np.int64)
    return np.linalg.norm(a - b, axis=1), same
