"""How much of a map falls in each region, relative to the region's size, with bootstrap intervals.

Score of region r on one image: (share of the map's total inside the face
that falls in r) ÷ (r's share of the face area). 1 means "as much as its size
predicts", 2 "twice as much". Images are the unit of resampling, except that
the two images of a Siamese pair are resampled together (they were explained
together), so intervals are not made too narrow by counting a pair twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr


@dataclass
class Scores:
    names: list[str]
    enrichment: np.ndarray  # images × regions
    attribution: np.ndarray  # images × regions (share of the face's total)
    area: np.ndarray  # images × regions (share of the face's area)
    clusters: np.ndarray  # images: resampling unit
    dropped: int  # images whose map was empty inside the face


def score_maps(maps: np.ndarray, labels: np.ndarray, groups: dict[str, list[int]],
               clusters: np.ndarray | None = None) -> Scores:
    """Scores of each group of region labels (a group may join several labels) for each map.

    `maps` N×H×W ≥ 0, `labels` N×H×W (or H×W shared) region indices with -1 outside the face.
    """
    maps = np.asarray(maps, dtype=np.float64)
    labels = np.broadcast_to(labels, maps.shape)
    n, g = len(maps), len(groups)
    attribution = np.zeros((n, g))
    area = np.zeros((n, g))
    face_sum = np.where(labels >= 0, maps, 0).reshape(n, -1).sum(1)
    face_px = (labels >= 0).reshape(n, -1).sum(1)
    for j, members in enumerate(groups.values()):
        inside = np.isin(labels, members)
        attribution[:, j] = np.where(inside, maps, 0).reshape(n, -1).sum(1)
        area[:, j] = inside.reshape(n, -1).sum(1)
    keep = (face_sum > 0) & (face_px > 0) & np.isfinite(face_sum)
    attribution = attribution[keep] / face_sum[keep, None]
    area = area[keep] / face_px[keep, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        enrichment = np.where(area > 0, attribution / area, np.nan)
    clusters = np.arange(n) if clusters is None else np.asarray(clusters)
    return Scores(list(groups), enrichment, attribution, area, clusters[keep], int((~keep).sum()))


def rank_desc(values: np.ndarray) -> np.ndarray:
    """1 = highest; NaN last."""
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")
    ranks = np.empty(len(values), dtype=int)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def agreement(table: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Spearman correlation between the region scores of every two sources."""
    names = list(table)
    out: dict[str, dict[str, float]] = {a: {} for a in names}
    for a in names:
        for b in names:
            x, y = table[a], table[b]
            ok = np.isfinite(x) & np.isfinite(y)
            if a == b:
                out[a][b] = 1.0
            elif ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
                out[a][b] = float("nan")
            else:
                out[a][b] = float(spearmanr(x[ok], y[ok]).statistic)
    return out
