"""Black-box saliency for a model without gradients: occlusion (Captum) and RISE random masks.

Both only call `score(images) -> probability of the explained class` on perturbed copies of one
face, so every model evaluation for one face goes to the network as one batch. Maps are ≥ 0:
they keep the evidence *for* the explained class, like the white-box maps beside them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

Score = Callable[[torch.Tensor], torch.Tensor]  # N×3×H×W float in [0, 1] → N probabilities
Fill = float | torch.Tensor  # what hidden pixels become: a gray level, or a 3×H×W picture (the mean face)
FILL = 0.5


def occlusion_map(score: Score, image: torch.Tensor, patch: int = 32, stride: int = 16,
                  fill: Fill = FILL) -> np.ndarray:
    """Drop in the explained probability when a gray `patch`×`patch` square hides each place, averaged
    over the squares covering a pixel (Zeiler & Fergus 2014, via captum.attr.Occlusion); H×W, ≥ 0."""
    from captum.attr import Occlusion

    h, w = image.shape[-2:]
    n_windows = (-(-max(h - patch, 0) // stride) + 1) * (-(-max(w - patch, 0) // stride) + 1)
    attr = Occlusion(lambda x: score(x).unsqueeze(1)).attribute(
        image.unsqueeze(0).float(), sliding_window_shapes=(3, patch, patch), strides=(3, stride, stride),
        baselines=fill if isinstance(fill, float) else fill.unsqueeze(0).float(), target=0, perturbations_per_eval=max(1, n_windows))
    return attr[0].mean(dim=0).clamp_min(0).numpy().astype(np.float32)


def rise_masks(n: int, shape: int | tuple[int, int] = 128, grid: int = 8, keep: float = 0.5,
               seed: int = 0) -> torch.Tensor:
    """`n` smooth random masks (n×1×H×W in [0, 1]) as in RISE (Petsiuk et al. 2018): a coarse
    grid×grid binary grid (each cell kept with probability `keep`), bilinearly upsampled and shifted
    by a random sub-cell offset so the cell edges fall everywhere."""
    h, w = (shape, shape) if isinstance(shape, int) else shape
    size = max(h, w)
    g = torch.Generator().manual_seed(seed)
    cell = int(np.ceil(size / grid))
    coarse = (torch.rand(n, 1, grid, grid, generator=g) < keep).float()
    up = F.interpolate(coarse, size=((grid + 1) * cell, (grid + 1) * cell), mode="bilinear", align_corners=False)
    dx = torch.randint(0, cell, (n,), generator=g)
    dy = torch.randint(0, cell, (n,), generator=g)
    return torch.stack([up[i, :, int(dy[i]):int(dy[i]) + h, int(dx[i]):int(dx[i]) + w] for i in range(n)]).clamp_(0, 1)


def rise_map(score: Score, image: torch.Tensor, masks: torch.Tensor, fill: Fill = FILL,
             batch: int = 256) -> np.ndarray:
    """Σ_m (p_m − mean p) · m / Σ_m m: how much more probable the explained class is when a pixel is
    seen than on average. Centring removes RISE's constant offset (mean p), which would otherwise
    spread attribution over the whole picture in proportion to area; H×W, ≥ 0."""
    x = image.float().unsqueeze(0)
    fill = fill if isinstance(fill, float) else fill.float().unsqueeze(0)
    probs = []
    for start in range(0, len(masks), batch):
        m = masks[start:start + batch]
        probs.append(score(x * m + fill * (1 - m)).double())
    p = torch.cat(probs)
    m2 = masks[:, 0].double()
    sal = torch.einsum("n,nhw->hw", p - p.mean(), m2) / m2.sum(dim=0).clamp_min(1e-6)
    return sal.clamp_min(0).float().numpy()
