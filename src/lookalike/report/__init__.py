"""The report: one self-contained HTML page that tells a run's whole story (SPEC §8)."""

from __future__ import annotations

from .build import build_report

__all__ = ["build_report"]
