"""Where the networks look (paper §5): attribution maps, sanity check, faithfulness.

Names are imported lazily so `lookalike --help` does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "METHODS": "methods", "Method": "methods", "attribute_maps": "methods", "register": "methods",
    "SANITY_THRESHOLD": "sanity", "sanity_check": "sanity", "run_explain": "stage",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)

from ..callable import make_callable  # noqa: E402

make_callable(__name__)  # `lookalike.explain(run, ...)` runs the stage (lookalike.api.explain)
