"""Assignment and exclusion from questionnaire answers, catch trials, speed and frame timing; the
preregistration and its deviations; the Psych-DS export. All on hand-made data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lookalike.io import read_json
from lookalike.runfolder import Run
from lookalike.study.analysis import analyze
from lookalike.study.design import SESSION_COLUMNS, TRAINING_COLUMNS, TRIAL_COLUMNS
from lookalike.study.psychds import DATAFILE_REGEX, validate
from lookalike.study.rules import RuleError, Rules


def write(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def trials(pid: str, group: str, correct: int, catch_wrong: int = 0, shown: float = 1200.0) -> list[dict]:
    """20 real pairs (the first `correct` answered right) and 2 catch trials (`catch_wrong` answered wrong)."""
    rows = []
    for i in range(20):
        truth = "same" if i % 2 else "different"
        answer = truth if i < correct else ("different" if truth == "same" else "same")
        rows.append({"truth": truth, "answer": answer, "catch": 0})
    rows.insert(5, {"truth": "same", "answer": "different" if catch_wrong >= 1 else "same", "catch": 1})
    rows.insert(12, {"truth": "same", "answer": "different" if catch_wrong >= 2 else "same", "catch": 1})
    return [{"participant": pid, "group": group, "complete": 1, "trial": i, "image_a": "a", "image_b": "b",
             "correct": int(r["truth"] == r["answer"]), "response_ms": 800, "shown_ms": shown, "frame_ms": 16.667,
             **r} for i, r in enumerate(rows)]


def session(pid: str, group: str, a: str, b: str, hint: bool = False, duration: float = 60.0,
            simulated: int = 0) -> dict:
    return {"participant": pid, "link_group": "public", "group": group, "simulated": simulated,
            "platform": "prolific", "platform_pid": f"X{pid}", "familiarity_a": a, "familiarity_b": b,
            "hint_seen": int(hint), "frame_ms": 16.667, "duration_s": duration, "complete": 1}


def hand_made_study(root: Path) -> Run:
    """Eleven participants, each meant to meet one rule (or none)."""
    people = [  # pid, server group, familiarity, hint, correct, catch wrong, duration, shown_ms
        ("p01", "pre", ("never", "never"), False, 10, 0, 60.0, 1200.0),     # novice, no hint -> pre
        ("p02", "pre", ("never", "never"), False, 11, 0, 60.0, 1200.0),
        ("p03", "post", ("never", "never"), True, 14, 0, 60.0, 1200.0),     # novice with hint -> post
        ("p04", "post", ("never", "never"), True, 15, 0, 60.0, 1200.0),
        ("p05", "expert", ("well", "well"), False, 18, 0, 60.0, 1200.0),    # expert
        ("p06", "pre", ("well", "well"), False, 17, 0, 60.0, 1200.0),       # knows both, no hint -> expert
        ("p07", "post", ("well", "well"), True, 19, 0, 60.0, 1200.0),       # expert who saw the hint: out
        ("p08", "unclassified", ("well", "never"), False, 12, 0, 60.0, 1200.0),  # knows one: out
        ("p09", "pre", ("never", "never"), False, 13, 1, 60.0, 1200.0),     # failed a catch trial: out
        ("p10", "post", ("never", "never"), True, 9, 0, 3.0, 1200.0),       # 3 s for everything: out
        ("p11", "pre", ("never", "seen"), False, 10, 0, 60.0, 1240.0),      # 'seen' is not a novice; slow frames
    ]
    run = Run(root)
    rows, sessions = [], []
    for pid, group, (a, b), hint, correct, wrong, duration, shown in people:
        rows += trials(pid, group, correct, wrong, shown)
        sessions.append(session(pid, group, a, b, hint, duration))
    write(run.study / "trials.csv", rows, TRIAL_COLUMNS)
    write(run.study / "sessions.csv", sessions, SESSION_COLUMNS)
    write(run.study / "training.csv", [], TRAINING_COLUMNS)
    return run


def test_groups_come_from_the_questionnaire_and_every_rule_excludes_its_participant(tmp_path):
    run = hand_made_study(tmp_path)
    summary = analyze(run, n_boot=100, n_permutations=100)
    ex = summary["exclusions"]
    by_rule = {r["id"]: r["participants"] for r in ex["rules"]}
    assert by_rule == {"incomplete": [], "no_questionnaire": [], "familiarity": ["p08", "p11"],
                       "expert_saw_hint": ["p07"], "catch": ["p09"], "too_fast": ["p10"], "display": ["p11"]}
    assert ex["excluded"] == 5 and ex["included"] == 6  # p11 meets two rules, counted under both
    assert ex["included_per_group"] == {"pre": 2, "post": 2, "expert": 2}
    assert ex["reassigned"] == {"pre -> expert": 1}
    groups = summary["groups"]
    assert {g: v["participants"] for g, v in groups.items()} == {"pre": 2, "post": 2, "expert": 2}
    # equation (1) over the 20 real pairs of the included participants only: catch trials do not count
    assert groups["pre"]["correct"] == 21 and groups["post"]["correct"] == 29 and groups["expert"]["correct"] == 35
    assert groups["pre"]["excluded"] == {"catch": 1, "familiarity": 1, "display": 1}  # p09, p11 (run as pre)
    assert groups["expert"]["excluded"] == {"expert_saw_hint": 1} and groups["post"]["excluded"] == {"too_fast": 1}
    assert summary["preregistration"] is None


def test_the_rules_are_settings_and_other_settings_assign_differently(tmp_path):
    run = hand_made_study(tmp_path)
    (run.study / "config.json").write_text(json.dumps({"rules": {"novice_max": "seen", "catch_errors_allowed": 1,
                                                                 "max_off_frame_share": 1.0}}))
    summary = analyze(run, n_boot=100, n_permutations=100)
    by_rule = {r["id"]: r["participants"] for r in summary["exclusions"]["rules"]}
    assert by_rule["familiarity"] == ["p08"] and by_rule["catch"] == [] and by_rule["display"] == []
    assert summary["groups"]["pre"]["participants"] == 4  # p09 (one catch error) and p11 ('seen') are novices now
    with pytest.raises(RuleError, match="higher familiarity"):
        Rules(novice_max="well", expert_min="seen")
    assert Rules().role("never", "never") == "novice" and Rules().role("well", "seen") is None


def test_a_trials_csv_without_sessions_keeps_its_groups_and_says_what_was_not_checked(tmp_path):
    run = hand_made_study(tmp_path)
    (run.study / "sessions.csv").unlink()
    summary = analyze(run, n_boot=100, n_permutations=100)
    assert summary["exclusions"]["checked"]["familiarity"] is False
    assert {r["id"]: r["n"] for r in summary["exclusions"]["rules"]}["catch"] == 1
    assert "unclassified" in summary["groups"] and summary["groups"]["post"]["participants"] == 4


def test_a_preregistration_is_written_before_data_and_deviations_are_listed(tmp_path, capsys):
    from lookalike.cli import main
    from lookalike.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    assert main(["study", "preregister", str(run.root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    plan = read_json(run.study / "preregistration.json")
    md = (run.study / "preregistration.md").read_text()
    import hashlib

    assert result["sha256"] == hashlib.sha256((run.study / "preregistration.json").read_bytes()).hexdigest()
    assert result["sha256"] in md and "## Hypotheses" in md and "## Exclusion rules" in md
    assert plan["hypotheses"][0]["comparison"] == ["post", "pre"] and plan["hypotheses"][0]["primary"]
    n = plan["sample_size"]["per_group"]
    assert n["pre"] == n["post"] == 31 and n["expert"] == 5  # d = 0.11 / 0.15 at 80% power, alpha 0.05
    assert [r["id"] for r in plan["exclusions"]][-3:] == ["catch", "too_fast", "display"]
    assert main(["study", "preregister", str(run.root)]) == 1
    assert "written once" in capsys.readouterr().err

    # data that follow the plan except where they do not: settings changed, fewer people, edited plan
    assert main(["study", "simulate", str(run.root), "--group", "pre", "--n", "2", "--accuracy", "0.5"]) == 0
    from lookalike.study.setup import open_study
    from lookalike.study.workflow import (
        apply_settings,  # what `study serve --catch-errors-allowed 1` does first
    )

    store = open_study(run)
    apply_settings(store, {"catch_errors_allowed": 1})
    from lookalike.study.export import export_study

    export_study(run, store)
    store.close()
    summary = analyze(run, n_boot=100, n_permutations=100)
    found = [d["what"] for d in summary["preregistration"]["deviations"]]
    assert "rules setting 'catch_errors_allowed' differs from the plan" in found
    assert any("changed 1 time(s) after registration" in w for w in found)
    assert "pre: 2 participants analysed, 31 planned (fewer than planned)" in found
    assert any("bootstrap_resamples" in w for w in found)
    assert "2 of the analysed participants were simulated by code, not people" in found
    path = run.study / "preregistration.json"
    path.write_text(path.read_text().replace('"alpha": 0.05', '"alpha": 0.1'))
    found = [d["what"] for d in analyze(run, n_boot=100, n_permutations=100)["preregistration"]["deviations"]]
    assert any("changed after it was registered" in w for w in found)
    assert "analysis setting 'alpha' differs from the plan" in found


def test_the_export_is_a_valid_psychds_dataset_and_the_checker_catches_broken_ones(tmp_path):
    from lookalike.cli import main
    from lookalike.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    assert main(["study", "simulate", str(run.root), "--group", "expert", "--n", "2", "--accuracy", "0.9"]) == 0
    folder = run.study / "psychds"
    meta = read_json(folder / "dataset_description.json")
    assert meta["@type"] == "Dataset" and meta["@context"] == "https://schema.org/"
    files = sorted(p.name for p in (folder / "data").iterdir())
    assert files == ["study-lookalike_description-sessions_data.csv", "study-lookalike_description-training_data.csv",
                     "study-lookalike_description-trials_data.csv"]
    assert all(DATAFILE_REGEX.fullmatch(f) for f in files)
    columns = set()
    for f in files:
        with open(folder / "data" / f) as fh:
            columns |= set(next(csv.reader(fh)))
    assert {v["name"] for v in meta["variableMeasured"]} == columns  # every column, and only those
    assert all(v["description"] for v in meta["variableMeasured"])
    assert "platform_pid" not in columns and "SIMULATED" in meta["description"]
    assert [p for p in validate(folder) if p.level == "error"] == []

    def codes(folder: Path) -> set[str]:
        return {p.code for p in validate(folder) if p.level == "error"}

    trials = folder / "data" / files[2]
    original = trials.read_text()
    trials.write_text(original.replace("participant,", "participant,mystery,", 1))
    assert {"CSV_COLUMN_MISSING_FROM_METADATA", "CSV_HEADER_LENGTH_MISMATCH"} <= codes(folder)
    trials.write_text(original + "\n\n")
    assert "CSV_FORMATTING_ERROR" in codes(folder)
    trials.write_text(original)
    (folder / "data" / "trials.csv").write_text("a\n1\n")
    assert codes(folder) == {"FILENAME_KEYWORD_FORMATTING_ERROR"}
    (folder / "data" / "trials.csv").unlink()
    broken = dict(meta)
    del broken["variableMeasured"]
    broken["@type"] = "Thing"
    (folder / "dataset_description.json").write_text(json.dumps(broken))
    assert {"JSON_KEY_REQUIRED", "INCORRECT_DATASET_TYPE"} <= codes(folder)
    (folder / "dataset_description.json").unlink()
    assert "MISSING_DATASET_DESCRIPTION" in codes(folder)
