"""Attribution methods: one registry entry per method, all called the same way.

Each entry is `function(model, inputs, target, **settings) -> attributions`
where `model` is an `Explainable` network, `inputs` a tuple of N×3×128×128
float tensors in [0, 1] (one for the classifier, two for a Siamese pair),
`target` an N-vector of class indices, and the result one tensor per input
(N×C×H×W, any C). A method's settings (integrated gradients' steps, the
occlusion window) have defaults in its entry and can be passed per call.
`reduce` says how a result becomes a map ≥ 0 (N×128×128): "abs" sums the
absolute values over channels (signed gradients), "relu" keeps positive
evidence only (Grad-CAM, occlusion). Adding a method is adding one entry.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import SettingError

Inputs = tuple[torch.Tensor, ...]
AttributeFn = Callable[..., Inputs]

# Occlusion: a 20-pixel grey square slid in steps of 12 (10×10 positions covering a 128 face).
OCCLUSION = {"window": 20, "stride": 12}
INTEGRATED_GRADIENTS = {"steps": 20}


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # for figure titles and the report
    fn: AttributeFn
    reduce: str  # "abs" | "relu"
    about: str
    defaults: Mapping[str, Any] = field(default_factory=dict)  # the method's settings, overridable per call

    def settings(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults with the settings of `given` that this method has (others are for other methods)."""
        return {**self.defaults, **{k: v for k, v in (given or {}).items() if k in self.defaults}}


METHODS: dict[str, Method] = {}


def register(name: str, label: str, reduce: str, about: str,
             defaults: Mapping[str, Any] | None = None) -> Callable[[AttributeFn], AttributeFn]:
    """Decorator that adds a method to METHODS under `name`."""
    if reduce not in ("abs", "relu"):
        raise ValueError(f"reduce must be 'abs' or 'relu', not {reduce!r}")

    def wrap(fn: AttributeFn) -> AttributeFn:
        METHODS[name] = Method(name, label, fn, reduce, about, dict(defaults or {}))
        return fn

    return wrap


def _prep(inputs: Inputs) -> Inputs:
    return tuple(x.detach().clone().requires_grad_(True) for x in inputs)


def _as_tuple(result: torch.Tensor | Inputs) -> Inputs:
    return tuple(result) if isinstance(result, tuple | list) else (result,)


@register("guided_backprop", "Guided backpropagation", "abs",
          "Springenberg et al. 2015: gradients with negative values zeroed at every ReLU (the paper's method)")
def guided_backprop(model, inputs: Inputs, target: torch.Tensor) -> Inputs:
    from captum.attr import GuidedBackprop

    with warnings.catch_warnings():  # Captum announces its ReLU hooks on every call
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
        return _as_tuple(GuidedBackprop(model).attribute(_prep(inputs), target=target))


@register("grad_cam", "Grad-CAM", "relu",
          "Selvaraju et al. 2017: last-convolution activations weighted by their mean gradient, upsampled")
def grad_cam(model, inputs: Inputs, target: torch.Tensor) -> Inputs:
    from captum.attr import LayerAttribution, LayerGradCam

    size = tuple(inputs[0].shape[-2:])
    maps = []
    for layer in model.gradcam_layers:
        cam = LayerGradCam(model, layer).attribute(_prep(inputs), target=target, relu_attributions=True)
        maps.append(LayerAttribution.interpolate(cam.detach(), size, "bilinear"))
    return tuple(maps)


@register("guided_grad_cam", "Guided Grad-CAM", "abs",
          "Selvaraju et al. 2017: guided backpropagation multiplied by the upsampled Grad-CAM map")
def guided_grad_cam(model, inputs: Inputs, target: torch.Tensor) -> Inputs:
    guided = guided_backprop(model, inputs, target)
    cams = grad_cam(model, inputs, target)
    return tuple(g.detach() * c for g, c in zip(guided, cams))


@register("integrated_gradients", "Integrated gradients", "abs",
          f"Sundararajan et al. 2017: gradients averaged on the path from a black image "
          f"({INTEGRATED_GRADIENTS['steps']} steps)", INTEGRATED_GRADIENTS)
def integrated_gradients(model, inputs: Inputs, target: torch.Tensor, steps: int = 20) -> Inputs:
    from captum.attr import IntegratedGradients

    baselines = tuple(torch.zeros_like(x) for x in inputs)
    batch = max(1, inputs[0].shape[0])
    result = IntegratedGradients(model).attribute(
        _prep(inputs), baselines=baselines, target=target, n_steps=steps,
        internal_batch_size=batch * 8)
    return _as_tuple(result)


@register("occlusion", "Occlusion", "relu",
          f"Zeiler & Fergus 2014: drop of the class score when a {OCCLUSION['window']}-pixel grey square "
          f"covers each place (stride {OCCLUSION['stride']})", OCCLUSION)
def occlusion(model, inputs: Inputs, target: torch.Tensor, window: int = 20, stride: int = 12) -> Inputs:
    from captum.attr import Occlusion

    windows = tuple((x.shape[1], window, window) for x in inputs)
    strides = tuple((x.shape[1], stride, stride) for x in inputs)
    baselines = tuple(torch.full_like(x, 0.5) for x in inputs)
    with torch.no_grad():
        result = Occlusion(model).attribute(
            tuple(x.detach() for x in inputs), sliding_window_shapes=windows, strides=strides,
            baselines=baselines, target=target, perturbations_per_eval=8)
    return _as_tuple(result)


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise SettingError(f"unknown attribution method {name!r}; choose from {', '.join(METHODS)}")
    return METHODS[name]


def to_maps(result: Inputs, reduce: str, size: int = 128) -> tuple[torch.Tensor, ...]:
    """Turn one attribution tensor per input into maps ≥ 0 of shape N×size×size (float32)."""
    out = []
    for r in result:
        r = r.detach().float()
        if r.dim() == 3:
            r = r.unsqueeze(1)
        r = r.abs().sum(1, keepdim=True) if reduce == "abs" else r.sum(1, keepdim=True).clamp_min(0)
        if r.shape[-1] != size or r.shape[-2] != size:
            r = F.interpolate(r, size=(size, size), mode="bilinear", align_corners=False).clamp_min(0)
        out.append(torch.nan_to_num(r[:, 0], nan=0.0, posinf=0.0).cpu())
    return tuple(out)


def attribute_maps(method: Method | str, model, inputs: Inputs, target: torch.Tensor, batch_size: int = 8,
                   settings: Mapping[str, Any] | None = None) -> tuple[torch.Tensor, ...]:
    """Maps (one N×128×128 tensor per input) of `method` for `target`, computed in batches.

    `settings`: method settings (e.g. {"steps": 4, "window": 32}); each method takes the ones it has."""
    method = get_method(method) if isinstance(method, str) else method
    options = method.settings(settings)
    n = inputs[0].shape[0]
    parts: list[tuple[torch.Tensor, ...]] = []
    for start in range(0, n, batch_size):
        chunk = tuple(x[start:start + batch_size] for x in inputs)
        result = method.fn(model, chunk, target[start:start + batch_size], **options)
        parts.append(to_maps(result, method.reduce, size=inputs[0].shape[-1]))
    return tuple(torch.cat([p[i] for p in parts]) for i in range(len(inputs)))
