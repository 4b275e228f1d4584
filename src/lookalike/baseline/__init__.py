"""A modern baseline beside the paper's networks: dlib's pretrained ResNet face embedding with a linear
head (and a distance threshold for pairs), plus black-box saliency maps for it.

Entry points used by other stages: `train_embedding` (lookalike train --model embedding) and
`explain_embedding` (lookalike explain --model embedding). Both import dlib only when called.
"""

from __future__ import annotations

from typing import Any


def train_embedding(run: Any, config: dict[str, Any] | None = None, seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    from .train import train_embedding as _train

    return _train(run, config, seed, device)


def explain_embedding(run: Any, n: int = 16, seed: int = 0, device: str = "cpu",
                      options: dict[str, Any] | None = None) -> dict[str, Any]:
    from .explain import explain_embedding as _explain

    return _explain(run, n, seed, device, options)


__all__ = ["train_embedding", "explain_embedding"]
