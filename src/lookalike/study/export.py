"""`lookalike study export`: the answers as CSV for the analysis, and a summary of the study so far.

Reads the database through SQLite's WAL, so it is safe while the server runs.
`trials.csv` has one row per answered trial; `complete` marks participants
who answered every pair (the analysis keeps only those).
"""

from __future__ import annotations

import csv
import io
import statistics
from typing import Any

from ..io import atomic_write_csv
from ..runfolder import Run, write_config, write_summary
from .design import TRAINING_COLUMNS, TRIAL_COLUMNS
from .store import Store

TOLERANCE_MS = 50.0


def csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def timing_stats(values: list[float], target: float) -> dict[str, Any]:
    """How well the browsers kept the planned display time."""
    if not values:
        return {"n": 0, "target_ms": target}
    return {"n": len(values), "target_ms": target, "median_ms": round(statistics.median(values), 1),
            "min_ms": round(min(values), 1), "max_ms": round(max(values), 1),
            "within_50ms": round(sum(abs(v - target) <= TOLERANCE_MS for v in values) / len(values), 4)}


def export_study(run: Run, store: Store) -> dict[str, Any]:
    """Write study/trials.csv, study/training.csv and study/summary.json; returns the summary."""
    trials, training = store.trial_rows(), store.training_rows()
    design = store.design()
    atomic_write_csv(run.study / "trials.csv", trials, TRIAL_COLUMNS)
    atomic_write_csv(run.study / "training.csv", training, TRAINING_COLUMNS)
    groups = store.progress()
    for name, g in groups.items():
        done = [t for t in trials if t["group"] == name and t["complete"]]
        g["accuracy_complete"] = round(sum(t["correct"] for t in done) / len(done), 4) if done else None
    summary = {
        "participants": sum(g["links"] for g in groups.values()),
        "complete": sum(g["complete"] for g in groups.values()),
        "answers": len(trials),
        "groups": groups,
        "design": design.__dict__,
        "stimuli_per_person": {str(k): len(v) for k, v in store.stimuli().items()},
        "stimuli_note": store.meta("stimuli_note"),
        "shown_test": timing_stats([t["shown_ms"] for t in trials], design.pair_ms),
        "shown_training": timing_stats([t["shown_ms"] for t in training], design.train_ms),
        "files": {"trials": "study/trials.csv", "training": "study/training.csv", "database": "study/study.sqlite"},
    }
    write_config(run.study, {"design": design.__dict__, "seed": store.meta("seed"), "names": store.names()})
    return write_summary(run.study, summary)
