"""Deletion and insertion curves (Petsiuk et al., RISE, 2018): does the map point at what matters?

Deletion removes pixels in the order of the map (most important first) and
follows the probability of the explained class: a faithful map makes it fall
fast (small area under the curve). Insertion starts from a removed image and
puts pixels back in the same order: a faithful map makes it rise fast (large
area). "Removed" means replaced by a strongly blurred copy of the image,
which stays closer to a face than a black hole does. The same curves for a
random pixel order are the reference a method has to beat. For a Siamese pair
both images are edited at once, each in the order of its own map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

STEPS = 16
BLUR_SIGMA = 6.0


def blur(x: torch.Tensor, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Separable Gaussian blur of N×C×H×W images (reflect padding)."""
    radius = int(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _ranks(maps: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Rank of every pixel (0 = most important) per map; random ranks when `gen` is given."""
    n, h, w = maps.shape
    if gen is not None:
        order = torch.stack([torch.randperm(h * w, generator=gen) for _ in range(n)])
    else:
        order = torch.argsort(maps.reshape(n, -1), dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(h * w, device=order.device).expand(n, -1).contiguous())
    return ranks.view(n, 1, h, w)


def curves(model, inputs: tuple[torch.Tensor, ...], target: torch.Tensor, maps: tuple[torch.Tensor, ...] | None,
           steps: int = STEPS, seed: int = 0, batch_size: int = 16) -> dict[str, np.ndarray]:
    """Deletion and insertion curves (units × steps+1) of the target probability; maps=None: random order."""
    device = inputs[0].device
    gen = torch.Generator().manual_seed(seed) if maps is None else None
    ranks = [_ranks(m if maps is not None else torch.zeros(x.shape[0], *x.shape[-2:]), gen).to(device)
             for x, m in zip(inputs, maps if maps is not None else inputs)]
    blurred = [blur(x) for x in inputs]
    pixels = inputs[0].shape[-1] * inputs[0].shape[-2]
    n = inputs[0].shape[0]
    out = {"deletion": np.zeros((n, steps + 1)), "insertion": np.zeros((n, steps + 1))}
    for k in range(steps + 1):
        cut = int(round(pixels * k / steps))
        for kind in ("deletion", "insertion"):
            edited = []
            for x, b, r in zip(inputs, blurred, ranks):
                top = r < cut
                edited.append(torch.where(top, b, x) if kind == "deletion" else torch.where(top, x, b))
            probs = []
            for s in range(0, n, batch_size):
                with torch.no_grad():
                    logits = model(*(e[s:s + batch_size] for e in edited))
                probs.append(torch.softmax(logits.float(), 1).gather(1, target[s:s + batch_size, None]))
            out[kind][:, k] = torch.cat(probs)[:, 0].cpu().numpy()
    return out


def area(curve: np.ndarray) -> np.ndarray:
    """Area under each curve on x ∈ [0, 1] (trapezoid rule)."""
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz
    return trapezoid(curve, dx=1.0 / (curve.shape[1] - 1), axis=1)


def summarise(method_curves: dict[str, np.ndarray], random_curves: dict[str, np.ndarray]) -> dict[str, Any]:
    """Areas (mean over units) for the method and the random order, plus the mean curves."""
    d, i = area(method_curves["deletion"]), area(method_curves["insertion"])
    rd, ri = area(random_curves["deletion"]), area(random_curves["insertion"])
    return {
        "deletion_auc": float(d.mean()), "insertion_auc": float(i.mean()),
        "random_deletion_auc": float(rd.mean()), "random_insertion_auc": float(ri.mean()),
        "beats_random": bool(d.mean() < rd.mean() and i.mean() > ri.mean()),
        "n_units": int(len(d)), "steps": int(method_curves["deletion"].shape[1] - 1),
        "deletion_curve": method_curves["deletion"].mean(0).round(5).tolist(),
        "insertion_curve": method_curves["insertion"].mean(0).round(5).tolist(),
        "random_deletion_curve": random_curves["deletion"].mean(0).round(5).tolist(),
        "random_insertion_curve": random_curves["insertion"].mean(0).round(5).tolist(),
    }
