"""`lookalike demo`: runs every stage in order through the API, keeps going after a failure, records timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lookalike as lk
from lookalike import demo
from lookalike.cli import main
from lookalike.errors import LookalikeError


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
    assert demo.plan("r", True)[4].argv("r") == ["lookalike", "fool", "r", "--n", "3", "--max-steps", "10"]
    assert demo.plan("r", True)[4].settings == {"n": 3, "max_steps": 10}  # typed values for the API call


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


@pytest.mark.slow
def test_quick_demo_runs_end_to_end(tmp_path: Path) -> None:
    """Every stage that exists runs on fresh synthetic faces (skipped stages are not built yet)."""
    run = tmp_path / "demo"
    assert main(["demo", str(run), "--quick"]) == 0
    record = json.loads((run / "demo.json").read_text())
    failed = {s["name"]: s.get("error") for s in record["steps"] if s["status"] == "failed"}
    assert not failed, failed
    ran = {s["name"] for s in record["steps"] if s["status"] == "ok"}
    assert {"synth", "prepare"} <= ran
    assert (run / "synth" / "summary.json").exists() and (run / "data" / "split.csv").exists()
    for name, folder in [("train-classifier", "models/classifier"), ("fool", "fooling"), ("explain", "explain"),
                         ("regions", "regions"), ("study-analyze", "study")]:
        if name in ran:
            assert (run / folder / "summary.json").exists(), name
    if "report" in ran:
        assert (run / "report.html").exists()
