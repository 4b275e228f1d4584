"""The run folder: the one contract between stages (see docs/run-folder.md).

A stage reads what earlier stages wrote under `<run>/` and writes only
inside its own sub-folder, ending with `<run>/<stage>/summary.json`.
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .io import atomic_write_json, read_json

IMAGE_SIZE = 128


class StageMissing(SystemExit):
    """Raised when a stage needs the output of one that has not run yet."""


@dataclass(frozen=True)
class Run:
    root: Path

    def __init__(self, root: str | Path):
        object.__setattr__(self, "root", Path(root))

    # stage folders -------------------------------------------------------
    @property
    def synth(self) -> Path:
        return self.root / "synth"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model(self, kind: str) -> Path:
        return self.models / kind

    @property
    def fooling(self) -> Path:
        return self.root / "fooling"

    @property
    def explain(self) -> Path:
        return self.root / "explain"

    @property
    def regions(self) -> Path:
        return self.root / "regions"

    @property
    def study(self) -> Path:
        return self.root / "study"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    # well-known files ----------------------------------------------------
    @property
    def split_csv(self) -> Path:
        return self.data / "split.csv"

    @property
    def manifest_csv(self) -> Path:
        return self.data / "manifest.csv"

    @property
    def identities_json(self) -> Path:
        return self.data / "identities.json"

    @property
    def landmarks_csv(self) -> Path:
        return self.data / "landmarks.csv"

    def require(self, path: Path, stage: str) -> Path:
        """Return `path` or stop with a message that names the stage to run first."""
        if not path.exists():
            raise StageMissing(f"{path} is missing: run `lookalike {stage} {self.root}` first")
        return path


def stage_info() -> dict[str, Any]:
    """Provenance written into every summary so a result can be reproduced."""
    return {
        "lookalike_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "finished_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def write_summary(stage_dir: str | Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Write `<stage_dir>/summary.json` atomically, adding provenance; returns what was written."""
    out = dict(summary)
    out.setdefault("info", stage_info())
    atomic_write_json(Path(stage_dir) / "summary.json", out)
    return out


def write_config(stage_dir: str | Path, config: dict[str, Any]) -> None:
    """Save the exact settings a stage ran with, next to its results."""
    atomic_write_json(Path(stage_dir) / "config.json", config)


def read_summary(stage_dir: str | Path) -> dict[str, Any] | None:
    path = Path(stage_dir) / "summary.json"
    return read_json(path) if path.exists() else None
