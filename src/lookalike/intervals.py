"""Bootstrap intervals that resample whole clusters (the two images of a pair, the trials of one person).

Shared by the region ranking, the region test and the planted-ground-truth check.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 1000


def bootstrap_mean(values: np.ndarray, clusters: np.ndarray, reps: int = BOOTSTRAP, seed: int = 0,
                   level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over rows of `values` (N×K, NaN ignored) and a percentile interval, resampling whole clusters."""
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[1]
    mean = np.nanmean(values, 0) if len(values) else np.full(k, np.nan)
    _, cid = np.unique(clusters, return_inverse=True)
    n_c = int(cid.max()) + 1 if len(cid) else 0
    if n_c < 2:
        return mean, np.full(k, np.nan), np.full(k, np.nan)
    ok = np.isfinite(values)
    sums = np.zeros((n_c, k))
    counts = np.zeros((n_c, k))
    np.add.at(sums, cid, np.where(ok, values, 0))
    np.add.at(counts, cid, ok)
    rng = np.random.default_rng(seed)
    means = np.empty((reps, k))
    for start in range(0, reps, 200):
        idx = rng.integers(n_c, size=(min(200, reps - start), n_c))
        with np.errstate(invalid="ignore", divide="ignore"):
            means[start:start + len(idx)] = sums[idx].sum(1) / counts[idx].sum(1)
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(means, [alpha, 1 - alpha], axis=0)
    return mean, lo, hi
