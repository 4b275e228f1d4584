"""Fooling images and their pixel maps (paper §4.2, Figure 5, Table 1).

Names are imported lazily so that `lookalike --help` (which imports `fooling.cli`)
does not pay for torch and matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AttackResult": "attack", "AttackSettings": "attack", "attack": "attack",
    "classifier_forward": "attack", "siamese_forward": "attack",
    "colourise": "pixelmap", "intensity": "pixelmap", "levels": "pixelmap", "pixel_map": "pixelmap",
    "FoolSettings": "stage", "fool": "stage",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
