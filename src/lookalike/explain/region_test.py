"""Does the network need a face region? Cover it with the average face and see whether the answer changes.

Heatmaps say where a network's gradients are large, and gradients are drawn to
high-contrast parts (eyes, brows) whether or not the network relies on them.
This is the direct test: for each named feature of the face (the regions of
`lookalike.face.regions`, left and right joined), every test face gets that feature
replaced by the same pixels of the mean test face, and we record the drop of
the probability of the correct answer (for a Siamese pair both faces are
covered at once). Captum's FeatureAblation does the covering, with the
features as its feature mask. A feature the network needs has a mean drop
above 0 with a bootstrap 95 % interval that excludes 0.

Covering finds what a network cannot do without, not everything it uses:
when two features each tell the people apart on their own (the demo's forehead
and cheekbones), covering either one leaves the other, and neither seems
needed. So the test also runs the other way round: the whole face is the mean
face and only one feature of the real face is shown (the same covering with
image and mean face swapped). A feature is *sufficient* when showing it alone
raises the right answer's probability with an interval above 0. The hint names
features that are needed or sufficient (see `lookalike.regions.hint`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..face.regions import FEATURES, REGIONS
from ..intervals import bootstrap_mean

FEATURE_NAMES = list(FEATURES)
RULE = ("each feature of every test face (both faces of a pair) replaced by the mean test face; a feature is "
        "needed when the mean drop of the correct answer's probability has a 95 % bootstrap interval above 0; "
        "then each feature's further drop with the most needed feature covered already (drop_given); "
        "and each feature shown alone on the mean face: sufficient when the mean gain of that probability "
        "over the mean face has a 95 % bootstrap interval above 0")


def feature_ids(region_labels: torch.Tensor) -> torch.Tensor:
    """Region labels (-1 outside the face) → feature ids: 0 outside, k + 1 for FEATURE_NAMES[k]."""
    lookup = torch.zeros(len(REGIONS) + 1, dtype=torch.long)
    for k, members in enumerate(FEATURES.values()):
        for region in members:
            lookup[REGIONS.index(region) + 1] = k + 1
    return lookup[region_labels.long() + 1]


def region_drops(model, inputs: tuple[torch.Tensor, ...], target: torch.Tensor,
                 regions: tuple[torch.Tensor, ...], reference: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """units × features: drop of P(target) when each feature is covered with `reference` (3×H×W)."""
    covers = tuple(reference.to(x.device).expand_as(x) for x in inputs)
    return _ablate(model, inputs, covers, target, regions, batch_size)


def drops_given(model, inputs: tuple[torch.Tensor, ...], target: torch.Tensor, regions: tuple[torch.Tensor, ...],
                reference: torch.Tensor, given: int, batch_size: int = 16) -> np.ndarray:
    """units × features: the further drop of P(target) when each feature is covered on faces whose feature
    `given` (an index of FEATURE_NAMES) is covered already: what a feature adds beside the most needed one."""
    covered = tuple(_cover(x, r, reference, given) for x, r in zip(inputs, regions))
    return region_drops(model, covered, target, regions, reference, batch_size)


def _cover(images: torch.Tensor, regions: torch.Tensor, reference: torch.Tensor, feature: int) -> torch.Tensor:
    """`images` with the pixels of FEATURE_NAMES[feature] taken from `reference` (3×H×W)."""
    inside = (feature_ids(regions) == feature + 1).to(images.device)[:, None]
    return torch.where(inside, reference.to(images.device).expand_as(images), images)


def region_gains(model, inputs: tuple[torch.Tensor, ...], target: torch.Tensor,
                 regions: tuple[torch.Tensor, ...], reference: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """units × features: rise of P(target) over the mean face `reference` when only that feature of the real
    face is shown on it (the covering of `region_drops` with face and mean face swapped)."""
    means = tuple(reference.to(x.device).expand_as(x).contiguous() for x in inputs)
    return -_ablate(model, means, inputs, target, regions, batch_size)


def _ablate(model, inputs: tuple[torch.Tensor, ...], baselines: tuple[torch.Tensor, ...], target: torch.Tensor,
            regions: tuple[torch.Tensor, ...], batch_size: int) -> np.ndarray:
    """units × features: P(target | inputs) − P(target | inputs with the feature's pixels from `baselines`)."""
    from captum.attr import FeatureAblation

    def probability(*images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(*images).float(), dim=1)

    ablation = FeatureAblation(probability)
    n_feat = len(FEATURE_NAMES) + 1
    rows = []
    for s in range(0, len(target), batch_size):
        chunk = tuple(x[s:s + batch_size] for x in inputs)
        ids = tuple(feature_ids(r[s:s + batch_size]).to(x.device) for r, x in zip(regions, chunk))
        with torch.no_grad():
            attr = ablation.attribute(chunk, baselines=tuple(b[s:s + batch_size] for b in baselines),
                                      target=target[s:s + batch_size], feature_mask=tuple(i[:, None] for i in ids),
                                      perturbations_per_eval=4)
        attr = attr if isinstance(attr, tuple | list) else (attr,)
        # every pixel of a feature holds that feature's drop: read it off as the mean over the feature's pixels
        sums = torch.zeros(len(ids[0]), n_feat, device=ids[0].device)
        counts = torch.zeros_like(sums)
        for a, i in zip(attr, ids):
            flat = i.flatten(1)
            sums.scatter_add_(1, flat, a[:, 0].flatten(1).float())
            counts.scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float32))
        drops = torch.where(counts > 0, sums / counts.clamp_min(1), torch.full_like(sums, float("nan")))
        rows.append(drops[:, 1:].cpu())
    return torch.cat(rows).numpy().astype(np.float64) if rows else np.zeros((0, n_feat - 1))


def summarise(drops: np.ndarray, gains: np.ndarray | None = None, seed: int = 0,
              given: tuple[int, np.ndarray] | None = None) -> dict[str, Any]:
    """Mean drop (and gain, when measured) per feature with bootstrap intervals: needed, sufficient.
    `given` = (feature index, drops_given(...)): each feature's further drop once that feature is covered."""
    units = np.arange(len(drops))
    mean, lo, hi = bootstrap_mean(drops, units, seed=seed)
    features = {f: {"drop": float(mean[k]), "ci_low": float(lo[k]), "ci_high": float(hi[k]),
                    "needed": bool(np.isfinite(lo[k]) and lo[k] > 0)} for k, f in enumerate(FEATURE_NAMES)}
    out: dict[str, Any] = {"n_units": int(len(drops)), "features": features,
                           "needed": [f for f in sorted(features, key=lambda f: -features[f]["drop"])
                                      if features[f]["needed"]]}
    if gains is not None:
        g_mean, g_lo, g_hi = bootstrap_mean(gains, units, seed=seed)
        for k, f in enumerate(FEATURE_NAMES):
            features[f].update(gain=float(g_mean[k]), gain_ci_low=float(g_lo[k]), gain_ci_high=float(g_hi[k]),
                               sufficient=bool(np.isfinite(g_lo[k]) and g_lo[k] > 0))
        out["sufficient"] = [f for f in sorted(features, key=lambda f: -features[f]["gain"])
                             if features[f]["sufficient"]]
    if given is not None:
        c_mean, c_lo, c_hi = bootstrap_mean(given[1], units, seed=seed)
        out["given"] = FEATURE_NAMES[given[0]]
        for k, f in enumerate(FEATURE_NAMES):
            features[f].update(drop_given=float(c_mean[k]), given_ci_low=float(c_lo[k]),
                               given_ci_high=float(c_hi[k]))
    return out
