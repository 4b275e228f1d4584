"""How well each map finds the planted difference, when the data carry ground truth.

Synthetic look-alikes (`lookalike synth`) differ only inside known masks, which
`prepare` copies to `data/truth/masks.npz`. For every map source we measure
the share of attribution inside the planted masks divided by the masks' share
of the image (1 = no better than a uniform map), averaged over images with a
bootstrap interval: a direct check of which methods can be believed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..intervals import bootstrap_mean
from ..runfolder import Run


def load_truth(run: Run) -> dict[str, np.ndarray] | None:
    path = run.data / "truth" / "masks.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        masks = npz["masks"].any(axis=1)  # N×128×128: any planted region
        return {str(p): m for p, m in zip(npz["paths"], masks)}


def planted_enrichment(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per image: (attribution inside the mask / all attribution) ÷ (mask area / image area)."""
    maps = np.clip(np.nan_to_num(maps.astype(np.float64)), 0, None)
    total = maps.sum(axis=(1, 2))
    inside = (maps * masks).sum(axis=(1, 2))
    area = masks.mean(axis=(1, 2))
    ok = (total > 0) & (area > 0)  # an empty map or an image without planting says nothing
    return inside[ok] / total[ok] / area[ok]


def recovery_table(run: Run, map_files: list[Path], fooling: Path | None, seed: int) -> dict[str, Any] | None:
    """{source: {score, ci_low, ci_high, n}} for every source whose images have planted masks."""
    from ..contract import load_maps

    truth = load_truth(run)
    if truth is None:
        return None
    out: dict[str, Any] = {}
    for path in map_files:
        mf = load_maps(path)
        keep = [i for i, p in enumerate(mf.paths) if p in truth]
        if not keep:
            continue
        scores = planted_enrichment(mf.maps[keep], np.stack([truth[mf.paths[i]] for i in keep]))
        if len(scores):
            m, lo, hi = bootstrap_mean(scores[:, None], np.arange(len(scores)), seed=seed)
            out[mf.name] = {"score": float(m[0]), "ci_low": float(lo[0]), "ci_high": float(hi[0]),
                            "n": int(len(scores))}
    if fooling is not None and fooling.exists():
        mean_mask = np.mean(np.stack(list(truth.values())), axis=0)  # where the planting usually falls
        score = planted_enrichment(np.load(fooling)[None], mean_mask[None])
        if len(score):
            out["fooling-aggregate"] = {"score": float(score[0]), "ci_low": None, "ci_high": None, "n": 1}
    return out
