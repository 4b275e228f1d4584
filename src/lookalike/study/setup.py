"""Open a run's study: choose the stimuli once (seeded) and create the database.

The 200 images of each person come from the test split, so nobody in the
study sees a picture the networks were trained on, and the choice is fixed in
the database: links made later, or after a restart, draw from the same set.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from ..errors import InputError
from ..runfolder import Run
from .store import Design, Store

PER_PERSON = 200
# The paper's hint (§6), for runs where `lookalike regions` has not written one; `serve` says so.
HINT_FALLBACK = "Look closely at the forehead and the cheekbones: that is where these two faces differ most."


def db_path(run: Run) -> Path:
    return run.study / "study.sqlite"


def select_stimuli(run: Run, seed: int, per_person: int = PER_PERSON,
                   minimum: int = 0) -> tuple[dict[int, list[str]], str | None]:
    """Up to `per_person` test-split images of each person, drawn with `seed`.

    A small data set (the quick demo) may have fewer than `minimum` test images
    of a person; the set is then topped up from the validation and training
    splits, which only matters to the networks, and the returned note says so.
    """
    from ..data.dataset import split_rows  # imports torch: only needed the first time

    rows = split_rows(run)
    out: dict[int, list[str]] = {}
    notes = []
    for label in (0, 1):
        chosen: list[str] = []
        for split in ("test", "val", "train"):
            paths = sorted(r["path"] for r in rows if int(r["label"]) == label and r["split"] == split)
            random.Random(f"{seed}:stimuli:{label}:{split}").shuffle(paths)
            room = per_person - len(chosen) if split == "test" else max(0, minimum - len(chosen))
            chosen += paths[:room]
            if split != "test" and paths[:room]:
                notes.append(f"person {label}: {len(paths[:room])} from {split}")
        out[label] = sorted(chosen)
    note = ("the test split was too small; topped up with " + ", ".join(notes)) if notes else None
    return out, note


def display_names(run: Run) -> list[str]:
    """The two people's names as a participant should read them ("drew_barrymore" -> "Drew Barrymore")."""
    from ..io import read_json

    names = list(read_json(run.require(run.identities_json, "prepare")))
    return [str(n).replace("_", " ").replace("-", " ").strip().title() for n in names]


def open_study(run: Run, seed: int = 0, design: Design | None = None, per_person: int = PER_PERSON) -> Store:
    """The run's study store, created with its stimuli on first use; stops with a clear message if unusable."""
    store = Store(db_path(run))
    if not store.initialised():
        design = design or Design()
        need = design.images_needed()
        stimuli, note = select_stimuli(run, seed, per_person, minimum=need)
        for label, paths in stimuli.items():
            if len(paths) < need:
                store.close()
                db_path(run).unlink(missing_ok=True)
                raise InputError(f"the data set of {run.root} has {len(paths)} images of person {label}; the study "
                                 f"needs at least {need} of each ({design.train_per_person} for training, up to "
                                 f"{need - design.train_per_person} for the {design.pairs} pairs and "
                                 f"{design.catch_trials} catch trials, none shown twice)")
        store.initialise(stimuli, display_names(run), design, seed)
        if note:
            store.set_meta("stimuli_note", note)
            print(f"note: {note}", file=sys.stderr)
    return store


def hint(run: Run) -> tuple[str, Path | None]:
    """The post-group hint (regions/hint.txt) and its picture when present; the paper's hint otherwise."""
    text_path, picture = run.regions / "hint.txt", run.regions / "hint.png"
    text = text_path.read_text(encoding="utf-8").strip() if text_path.exists() else ""
    return (text or HINT_FALLBACK), (picture if picture.exists() else None)
