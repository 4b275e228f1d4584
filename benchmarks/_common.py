"""What every benchmark does at its end: read peak memory and write its JSON (atomically) to results/."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

from lookalike.io import atomic_write_json

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write `results/<name>` and return its path."""
    return atomic_write_json(RESULTS / name, result)
