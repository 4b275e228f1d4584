"""`lookalike demo`: runs every stage in order through the API, keeps going after a failure, records timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lookalike as lk
from lookalike import contract as c
from lookalike import demo
from lookalike.api import STAGES
from lookalike.cli import main
from lookalike.errors import LookalikeError
from lookalike.runfolder import Run


@pytest.fixture
def tiny_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(demo.PROFILES, "quick", {**demo.PROFILES["quick"], "n_per_identity": 3})


def test_plan_fills_every_placeholder() -> None:
    for quick in (False, True):
        steps = demo.plan("runs/x y", quick)
        assert [s.name for s in steps] == [name for name, _, _, _ in demo.STEPS]
        for step in steps:
            argv = step.argv("runs/x y")
            assert not any("{" in tok for tok in argv) and not any("{" in str(v) for v in step.settings.values())
            assert "runs/x y" in argv or any(tok.startswith("runs/x y/") for tok in argv)
    fool = next(s for s in demo.plan("r", True) if s.name == "fool")
    assert fool.argv("r") == ["lookalike", "fool", "r", "--n", "3", "--max-steps", "10"]
    train = next(s for s in steps if s.name == "train-classifier")  # a training setting is a --set
    assert train.argv("r") == ["lookalike", "train", "r", "--model", "classifier", "--preset", "tiny",
                               "--epochs", "1", "--set", "input_size=96"]
    from lookalike.cli import build_parser

    for step in steps:  # every equivalent command is one the command line takes
        build_parser().parse_args(step.argv("r")[1:])
    assert fool.settings == {"n": 3, "max_steps": 10}  # typed values for the API call


def test_failures_do_not_stop_the_demo_and_unknown_stages_are_refused(
        tiny_profile: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "STEPS", [
        demo.STEPS[0],
        ("broken", "synth", {"folder": "{run}/other", "regions": ["ears"]}, False),  # fails with a clear message
        ("prepare-other", "prepare", {"photos": "{run}/nowhere"}, False),
    ])
    run = tmp_path / "run"
    assert main(["demo", str(run), "--quick", "--seed", "2"]) == 0
    record = json.loads((run / "demo.json").read_text())
    status = {s["name"]: s["status"] for s in record["steps"]}
    assert status == {"synth": "ok", "broken": "failed", "prepare-other": "failed"}
    assert "unknown region" in record["steps"][1]["error"] and "does not exist" in record["steps"][2]["error"]
    assert record["steps"][1]["argv"] == ["lookalike", "synth", f"{run}/other", "--regions", "ears"]
    assert record["steps"][0]["seconds"] > 0 and record["total_seconds"] >= record["steps"][0]["seconds"]
    assert json.loads((run / "synth" / "config.json").read_text())["seed"] == 2
    out = capsys.readouterr().out
    assert "[demo 1/3] synth" in out and "failed" in out and f"results are in {run.resolve()}" in out
    monkeypatch.setattr(demo, "STEPS", [("dance", "no_such_stage", {}, False)])
    with pytest.raises(LookalikeError, match="no_such_stage"):
        lk.demo(run)


def test_a_failed_critical_step_stops_the_demo(tiny_profile: None, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "STEPS", [("synth", "synth", {"regions": ["ears"]}, True), demo.STEPS[1]])
    record = lk.demo(tmp_path / "run", quick=True)
    assert [s["status"] for s in record["steps"]] == ["failed"]


def test_only_selects_steps_and_rejects_unknown_names(tiny_profile: None, tmp_path: Path) -> None:
    record = lk.demo(tmp_path / "run", quick=True, only=["synth"])
    assert [s["name"] for s in record["steps"]] == ["synth"]
    with pytest.raises(LookalikeError, match="unknown step"):
        lk.demo(tmp_path / "run", quick=True, only=["synth", "dance"])


def test_side_by_side_steps_group_only_when_consecutive_and_allowed() -> None:
    steps = demo.plan("r", quick=True)
    groups = [[s.name for s in g] for g in demo._groups(steps, side_by_side=True)]
    assert ["train-classifier", "train-siamese"] in groups and sum(map(len, groups)) == len(steps)
    assert all(len(g) == 1 for g in demo._groups(steps, side_by_side=False))
    by_name = {s.name: s for s in steps}
    apart = [by_name[name] for name in ("train-classifier", "fool", "train-siamese")]
    assert all(len(g) == 1 for g in demo._groups(apart, side_by_side=True))  # not consecutive: one at a time
    fake = {**STAGES, "train": lambda run, **_: None}  # another process could not import it
    assert not demo.can_run_side_by_side(fake, "cpu")


@pytest.mark.slow
def test_both_networks_train_side_by_side_and_a_failure_stays_in_its_step(
        tiny_profile: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(demo.PROFILES, "quick", {**demo.PROFILES["quick"], "n_per_identity": 40})
    run = tmp_path / "run"
    names = ["synth", "prepare", "train-classifier", "train-siamese"]
    record = demo.run_demo(STAGES, run, quick=True, only=names, side_by_side=True)
    assert [(s.name, s.status) for s in record.steps] == [(n, "ok") for n in names]
    assert "run side by side" in capsys.readouterr().out
    for kind in ("classifier", "siamese"):
        assert c.NETWORK_SUMMARY.read(Run(run), kind=kind).epochs == 1
    monkeypatch.setattr(demo, "STEPS", [*demo.STEPS[:2], (
        "train-classifier", "train", {"model": "classifier", "preset": "tiny", "epochs": 1, "lr": "fast"}, False),
        *demo.STEPS[3:4]])
    again = demo.run_demo(STAGES, run, quick=True, only=names, side_by_side=True)
    status = {s.name: (s.status, s.error) for s in again.steps}
    assert status["train-classifier"][0] == "failed" and "lr" in status["train-classifier"][1]
    assert status["train-siamese"] == ("ok", None)


@pytest.mark.slow
def test_quick_demo_runs_end_to_end(quick_demo: Path) -> None:
    """Every stage runs on fresh synthetic faces, and each one's summary reads back through the contract."""
    run = quick_demo
    record = c.DEMO.read(Run(run))
    failed = {s.name: s.error for s in record.steps if s.status != "ok"}
    assert not failed, failed
    assert [s.name for s in record.steps] == [name for name, _, _, _ in demo.STEPS]  # every stage ran
    r = Run(run)
    assert c.SYNTH_SUMMARY.read(r).images == 2 * demo.PROFILES["quick"]["n_per_identity"]
    data = c.DATA_SUMMARY.read(r)
    assert data.kept == len(c.SPLIT.read(r)) > 0
    for kind in ("classifier", "siamese"):
        net = c.NETWORK_SUMMARY.read(r, kind=kind)
        assert net.model == kind and net.epochs == 1 and 0 <= net.test_accuracy <= 1 and net.test.n > 0
    faces = c.FACEMAP_SUMMARY.read(r)
    assert set(faces.networks) == {"classifier", "siamese"} and all(e.faces["test"] > 0 for e in faces.networks.values())
    screens = c.SCREENS.read(r)  # photographed, or the reason why not
    assert set(screens.screens) == {"training", "test", "answer"} or screens.unavailable
    fooled = c.FOOLING_SUMMARY.read(r)
    assert fooled.n == demo.PROFILES["quick"]["fool_n"] == len(c.RESULTS.read(r))
    explained = c.EXPLAIN_SUMMARY.read(r)
    assert set(explained.networks) >= {"classifier", "siamese"} and c.SANITY.read(r).methods
    assert set(c.SANITY.read(r).methods) == set(explained.trusted_methods) | set(explained.failed_methods)
    hint = c.REGIONS_SUMMARY.read(r)
    assert hint.hint == c.HINT.read(r) and hint.sources and len(c.RANKING.read(r)) > 0
    study = c.STUDY_SUMMARY.read(r)
    assert study.answers == len(c.TRIALS.read(r)) > 0
    analysis = c.ANALYSIS_SUMMARY.read(r)
    assert set(analysis.groups) == {"pre", "post", "expert"} and analysis.simulated_participants
    html = (run / "report.html").read_text()
    for sid in ("overview", "data", "training", "fooling", "explain", "regions", "study", "appendix"):
        assert f'id="{sid}" data-status="present"' in html or sid in ("overview", "appendix"), sid
