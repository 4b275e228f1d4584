"""The run's own files: how the demo made it (`demo.json`) and the report of it (`report.html`)."""

from __future__ import annotations

from .files import Artefact, JsonFile, RunFile
from .records import Record


class DemoStep(Record):
    name: str
    argv: list[str] = []  # the equivalent command line
    status: str  # ok | skipped | failed
    seconds: float = 0.0
    error: str | None = None


class DemoRecord(Record):
    """`lookalike demo`: each step's command, status and time."""

    run: str
    profile: str
    seed: int = 0
    steps: list[DemoStep] = []
    total_seconds: float = 0.0


DEMO = JsonFile("demo.json", "demo", "each step's command, status (ok|skipped|failed) and seconds", record=DemoRecord)
RUN_FILES: list[RunFile] = [
    Artefact("report.html", "report", "self-contained; --pdf adds report.pdf"),
    DEMO,
]
