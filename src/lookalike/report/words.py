"""What a person reads instead of a field name: methods named with their network, numbers with the
digits that matter, and the plain words for the report's table headers."""

from __future__ import annotations

import math
from typing import Any

NETWORKS = {"classifier": "classifier", "siamese": "Siamese network", "embedding": "dlib embedding (baseline)",
            "fooling": "classifier"}
METHODS = {"guided_backprop": "guided backpropagation", "grad_cam": "Grad-CAM", "guided_grad_cam": "guided Grad-CAM",
           "integrated_gradients": "integrated gradients", "occlusion": "occlusion", "rise": "RISE",
           "aggregate": "fooling: mean change", "edge_detector": "edge detector"}


def network_name(kind: str) -> str:
    return NETWORKS.get(kind, kind.replace("_", " "))


def method_label(method: str) -> str:
    return METHODS.get(method, method.replace("_", " "))


def source_name(source: str) -> str:
    """A map's or source's file name in words with its network: 'siamese-guided_backprop' → 'guided
    backpropagation (Siamese network)'; a name without a network part is only put in words."""
    network, sep, method = str(source).partition("-")
    if not sep or network not in NETWORKS:
        return method_label(str(source))
    return f"{method_label(method)} ({network_name(network)})"


def network_of(source: str) -> str | None:
    network, sep, _ = str(source).partition("-")
    return network if sep and network in NETWORKS else None


def sig(value: Any, digits: int = 2) -> str:
    """A number with the digits that matter: `digits` significant ones, at most 3 decimals; a dash for none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    decimals = max(0, min(3, digits - 1 - int(math.floor(math.log10(abs(value))))))
    return f"{value:.{decimals}f}"


def yes_no(value: Any) -> str:
    if value is None:
        return "not checked"
    return "yes" if value in (True, 1, "true", "True", "yes", "pass") else "no"
