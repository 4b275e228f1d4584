"""`lookalike study export`: the answers as CSV for the analysis, and a summary of the study so far.

Reads the database through SQLite's WAL, so it is safe while the server runs.
`trials.csv` has one row per answered trial (`catch` = 1 marks the attention
checks); `complete` marks participants who answered every pair (the analysis
keeps only those). `sessions.csv` has one row per participant who consented:
link, platform ids, questionnaire, display and timing. `psychds/` is the same
data as a Psych-DS dataset, without the platform ids, for others to reuse.
"""

from __future__ import annotations

import statistics
from typing import Any

from ..contract import SESSIONS, STUDY_SUMMARY, TRAINING, TRIALS, StudySummary, write_config
from ..runfolder import Run
from .store import Store

TOLERANCE_MS = 50.0


def timing_stats(values: list[float], target: float) -> dict[str, Any]:
    """How well the browsers kept the planned display time."""
    if not values:
        return {"n": 0, "target_ms": target}
    return {"n": len(values), "target_ms": target, "median_ms": round(statistics.median(values), 1),
            "min_ms": round(min(values), 1), "max_ms": round(max(values), 1),
            "within_50ms": round(sum(abs(v - target) <= TOLERANCE_MS for v in values) / len(values), 4)}


def export_study(run: Run, store: Store) -> StudySummary:
    """Write study/trials.csv, training.csv, sessions.csv, psychds/ and summary.json; returns the summary."""
    from .psychds import write_psychds

    trials, training, sessions = store.trial_rows(), store.training_rows(), store.session_rows()
    design = store.design()
    TRIALS.write(run, trials)
    TRAINING.write(run, training)
    SESSIONS.write(run, sessions)
    psychds = write_psychds(run.study / "psychds", trials, training, sessions, store)
    groups = store.progress()
    simulated = {s["participant"] for s in sessions if s["simulated"]}
    for name, g in groups.items():
        done = [t for t in trials if t["group"] == name and t["complete"] and not t["catch"]]
        g["accuracy_complete"] = round(sum(t["correct"] for t in done) / len(done), 4) if done else None
        g["simulated"] = len({t["participant"] for t in trials if t["group"] == name} & simulated)
    summary = {
        "participants": sum(g["links"] for g in groups.values()),
        "complete": sum(g["complete"] for g in groups.values()),
        "answers": len(trials),
        "groups": groups,
        "design": design.__dict__,
        "stimuli_per_person": {str(k): len(v) for k, v in store.stimuli().items()},
        "stimuli_note": store.meta("stimuli_note"),
        "simulated_participants": len(simulated),
        "settings": store.settings(),
        "shown_test": timing_stats([t["shown_ms"] for t in trials], design.pair_ms),
        "shown_training": timing_stats([t["shown_ms"] for t in training], design.train_ms),
        "files": {"trials": "study/trials.csv", "training": "study/training.csv", "sessions": "study/sessions.csv",
                  "psychds": psychds, "database": "study/study.sqlite"},
    }
    write_config(run.study, {"design": design.__dict__, "seed": store.meta("seed"), "names": store.names(),
                             "rules": store.rules().to_dict(), "stimuli_sha256": store.meta("stimuli_sha256")})
    return STUDY_SUMMARY.write(run, summary)
