"""lookalike: teach people to tell two look-alike faces apart with an interpretable CNN.

`import lookalike as lk` gives one function per stage (`lk.prepare`, `lk.train`, `lk.fool`,
`lk.explain`, `lk.regions`, `lk.study_analyze`, `lk.report`, …; see docs/api.md). They are
loaded on first use, so importing the package stays cheap. Where a stage's package has the
stage's name (`lookalike.explain`), the package itself is callable (see `lookalike.callable`).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

API = ("synth", "prepare", "train", "predict", "fool", "explain", "regions", "study_serve", "study_links", "study_preregister",
       "study_export", "study_simulate", "study_analyze", "report", "demo")
ERRORS = ("LookalikeError", "StageMissing", "InputError", "SettingError", "NotAvailable")
__all__ = [*API, *ERRORS, "Run", "__version__"]


CALLABLE_PACKAGES = ("synth", "explain", "regions", "report", "demo")


def __getattr__(name: str) -> Any:
    if name in CALLABLE_PACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in API:
        return getattr(importlib.import_module(".api", __name__), name)
    if name in ERRORS:
        return getattr(importlib.import_module(".errors", __name__), name)
    if name == "Run":
        return importlib.import_module(".runfolder", __name__).Run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
