"""Model-randomisation sanity check (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

A map that explains the network must change when the network's learned
weights are destroyed. We re-initialise the weight layers (convolutions and
dense layers) cumulatively from the top (output) layer down, recompute the
maps at a few depths of this cascade, and measure the Spearman rank
correlation between each trained map and its randomised counterpart (per
image, then averaged). A method FAILS when, with every weight layer
randomised, its maps still correlate with the trained maps at
ρ ≥ SANITY_THRESHOLD: what it shows then comes from the input image (edges,
contrast), not from what the network learned, and it must not be trusted to
say where the network looks.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from .methods import Method, attribute_maps
from .wrap import explainable

SANITY_THRESHOLD = 0.5
RULE = (f"fails when the mean Spearman rank correlation between maps of the trained network and of the "
        f"network with every weight layer re-initialised (cascading from the top) is >= {SANITY_THRESHOLD}")


def weight_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """Convolutional and dense layers, from the output back to the input."""
    layers = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    return layers[::-1]


def randomise_(layer: nn.Module, seed: int) -> None:
    """Fresh He-normal weights and small random biases (keeps activations at a useful scale)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = torch.randn(layer.weight.shape, generator=gen) * math.sqrt(2.0 / max(1, layer.weight[0].numel()))
        layer.weight.copy_(w.to(layer.weight))
        if getattr(layer, "bias", None) is not None:
            layer.bias.copy_((torch.randn(layer.bias.shape, generator=gen) * 0.01).to(layer.bias))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman ρ between a[i] and b[i] (flattened); 0 where a map is constant (nothing left to rank)."""
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    ra = rankdata(a, axis=1)
    rb = rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ra * rb).sum(1) / denom
    return np.where(denom > 0, rho, 0.0)


def cascade_depths(n_layers: int, steps: int) -> list[int]:
    """How many top layers are randomised at each step; always ends with all of them."""
    steps = max(1, min(steps, n_layers))
    if steps == 1:
        return [n_layers]
    return sorted({int(round(d)) for d in np.linspace(1, n_layers, steps)} | {n_layers})


def _maps(method: Method, net: nn.Module, inputs, target, batch_size: int) -> np.ndarray:
    model = explainable(net)
    maps = attribute_maps(method, model, inputs, target, batch_size=batch_size)
    return torch.stack(maps, 1).flatten(0, 1).numpy()  # units × inputs → rows


def sanity_check(net: nn.Module, method: Method, inputs: tuple[torch.Tensor, ...], target: torch.Tensor,
                 steps: int = 4, seed: int = 0, batch_size: int = 8,
                 trained: np.ndarray | None = None) -> dict[str, Any]:
    """Cascading randomisation for one method; returns the curve and whether the method passed."""
    net = copy.deepcopy(net).eval()  # the caller's network is never touched
    device = next(net.parameters()).device
    inputs = tuple(x.to(device) for x in inputs)
    target = target.to(device)
    if trained is None:
        trained = _maps(method, net, inputs, target, batch_size)
    layers = weight_layers(net)
    curve = []
    done = 0
    for depth in cascade_depths(len(layers), steps):
        for i in range(done, depth):
            randomise_(layers[i][1], seed * 1000 + i)
        done = depth
        rho = spearman_rows(trained, _maps(method, net, inputs, target, batch_size))
        curve.append({"layers_randomised": depth, "down_to": layers[depth - 1][0],
                      "spearman_mean": float(rho.mean()), "spearman_std": float(rho.std())})
    final = curve[-1]["spearman_mean"]
    return {"method": method.name, "passed": bool(final < SANITY_THRESHOLD), "final_spearman": final,
            "threshold": SANITY_THRESHOLD, "n_maps": int(len(trained)), "weight_layers": len(layers),
            "cascade": curve}
