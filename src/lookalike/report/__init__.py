"""The report: one self-contained HTML page that tells a run's whole story (SPEC §8)."""

from __future__ import annotations

from .build import build_report

__all__ = ["build_report"]

from ..callable import make_callable  # noqa: E402

make_callable(__name__)  # `lookalike.report(run, ...)` runs the stage (lookalike.api.report)
