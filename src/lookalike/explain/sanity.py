"""Model-randomisation sanity check, as Adebayo et al. run it ("Sanity Checks for Saliency Maps", NeurIPS 2018).

A map that explains the network must change when the network's learned weights are destroyed. Two
randomisations, each through every weight layer (convolutions and dense layers):

* **cascading**: re-initialise the layers cumulatively from the top (output) layer down, recomputing the
  maps after each layer;
* **independent**: re-initialise one layer at a time, every other layer keeping its trained weights.

At each step three similarities to the maps of the trained network, per image and then averaged: the
Spearman rank correlation of the maps with absolute values (what the maps show), without absolute values
(signed attributions: the sign flips when a layer is randomised), and SSIM of the maps scaled to [0, 1].
A method FAILS when, with every weight layer randomised, its maps still correlate with the trained maps at
ρ ≥ SANITY_THRESHOLD (rank correlation with absolute values): what it shows then comes from the input image
(edges, contrast), not from what the network learned, and it is left out of the hint. The curves record,
in addition, how much each method changes when only the top layers are randomised: the paper finds guided
backpropagation nearly unchanged there.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from .methods import Method, attribute_both
from .wrap import explainable

SANITY_THRESHOLD = 0.5
TOP_LAYERS = 3  # "the top layers" of the curve's summary: the output layer and the two below it
RULE = (f"cascading and independent re-initialisation through every weight layer (Adebayo et al. 2018); "
        f"fails when the mean Spearman rank correlation (absolute values) between maps of the trained network "
        f"and of the network with every weight layer re-initialised is >= {SANITY_THRESHOLD}")


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


def ssim_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM (scikit-image) between a[i] and b[i], each map scaled to [0, 1] by its own range."""
    from skimage.metrics import structural_similarity

    def unit(m: np.ndarray) -> np.ndarray:
        m = m.astype(np.float64)
        span = float(m.max() - m.min())
        return (m - m.min()) / span if span > 0 else np.zeros_like(m)

    return np.array([structural_similarity(unit(x), unit(y), data_range=1.0) for x, y in zip(a, b)])


def cascade_depths(n_layers: int, steps: int = 0) -> list[int]:
    """How many top layers are randomised at each step (0 steps: every layer); always ends with all of them."""
    if steps <= 0 or steps >= n_layers:
        return list(range(1, n_layers + 1))
    if steps == 1:
        return [n_layers]
    return sorted({int(round(d)) for d in np.linspace(1, n_layers, steps)} | {n_layers})


def _maps(method: Method, net: nn.Module, inputs, target, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(maps as shown, signed maps), rows = units × inputs."""
    shown, signed = attribute_both(method, explainable(net), inputs, target, batch_size=batch_size)
    return (torch.stack(shown, 1).flatten(0, 1).numpy(), torch.stack(signed, 1).flatten(0, 1).numpy())


def _point(trained: tuple[np.ndarray, np.ndarray], now: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    rho = spearman_rows(trained[0], now[0])
    signed = spearman_rows(trained[1], now[1])
    ssim = ssim_rows(trained[0], now[0])
    return {"spearman_mean": float(rho.mean()), "spearman_std": float(rho.std()),
            "spearman_signed_mean": float(signed.mean()), "ssim_mean": float(ssim.mean())}


def sanity_check(net: nn.Module, method: Method, inputs: tuple[torch.Tensor, ...], target: torch.Tensor,
                 steps: int = 0, seed: int = 0, batch_size: int = 8, independent: bool = True) -> dict[str, Any]:
    """Cascading (and independent) randomisation for one method: the per-layer curves and the verdict.

    `steps` = 0 checks after every weight layer; a smaller number evaluates that many depths of the cascade
    (and independently randomises the same layers), always including the last (every layer random)."""
    net = copy.deepcopy(net).eval()  # the caller's network is never touched
    device = next(net.parameters()).device
    inputs = tuple(x.to(device) for x in inputs)
    target = target.to(device)
    trained = _maps(method, net, inputs, target, batch_size)
    layers = weight_layers(net)
    pristine = copy.deepcopy(net.state_dict())
    depths = cascade_depths(len(layers), steps)
    cascade = []
    done = 0
    for depth in depths:
        for i in range(done, depth):
            randomise_(layers[i][1], seed * 1000 + i)
        done = depth
        cascade.append({"layers_randomised": depth, "down_to": layers[depth - 1][0],
                        **_point(trained, _maps(method, net, inputs, target, batch_size))})
    single = []
    if independent:
        for depth in depths:
            net.load_state_dict(pristine)
            i = depth - 1
            randomise_(layers[i][1], seed * 1000 + i)
            single.append({"layer_index": depth, "layer": layers[i][0],
                           **_point(trained, _maps(method, net, inputs, target, batch_size))})
    final = cascade[-1]["spearman_mean"]
    top = [c for c in cascade if c["layers_randomised"] <= TOP_LAYERS]
    return {"method": method.name, "passed": bool(final < SANITY_THRESHOLD), "final_spearman": final,
            "final_spearman_signed": cascade[-1]["spearman_signed_mean"], "final_ssim": cascade[-1]["ssim_mean"],
            "top_layers_spearman": top[-1]["spearman_mean"] if top else None, "top_layers": TOP_LAYERS,
            "threshold": SANITY_THRESHOLD, "n_maps": int(len(trained[0])), "weight_layers": len(layers),
            "every_layer": len(depths) == len(layers), "cascade": cascade, "independent": single}


def finding(name: str, result: dict[str, Any]) -> str:
    """One sentence on what the check found for a method (used in the log and the report)."""
    from ..contract import SanityResult

    return SanityResult.model_validate(result).finding(name)
