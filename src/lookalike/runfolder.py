"""Where a run's stage folders are (`Run`); what each file in them holds is `lookalike.contract`.

A stage reads what earlier stages wrote under `<run>/` and writes only
inside its own sub-folder, ending with `<run>/<stage>/summary.json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import StageMissing


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
