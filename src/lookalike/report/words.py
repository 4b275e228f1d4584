"""What a person reads instead of a map's file name: each method in words, named with its network."""

from __future__ import annotations

from ..contract import split_map_name

NETWORKS = {"classifier": "classifier", "siamese": "Siamese network", "embedding": "dlib embedding (baseline)",
            "fooling": "classifier"}
METHODS = {"guided_backprop": "guided backpropagation", "grad_cam": "Grad-CAM", "guided_grad_cam": "guided Grad-CAM",
           "integrated_gradients": "integrated gradients", "occlusion": "occlusion", "rise": "RISE",
           "aggregate": "fooling: mean change", "edge_detector": "edge detector"}


def network_name(kind: str) -> str:
    return NETWORKS.get(kind, kind.replace("_", " "))


def person_name(folder: str) -> str:
    """A person's folder name as a table header reads it: 'person_a' → 'person a'."""
    return str(folder).replace("_", " ")


def method_label(method: str) -> str:
    return METHODS.get(method, method.replace("_", " "))


def source_name(source: str) -> str:
    """A map's name in words with its network: 'siamese-guided_backprop' → 'guided backpropagation (Siamese
    network)'; a name without a known network part is only put in words."""
    network, method = split_map_name(str(source))
    if network not in NETWORKS:
        return method_label(str(source))
    return f"{method_label(method)} ({network_name(network)})"
