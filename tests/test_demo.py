"""`lookalike demo`: runs the stages that exist in order, skips missing ones, keeps going, records timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookalike import demo
from lookalike.cli import main


@pytest.fixture
def tiny_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(demo.PROFILES, "quick", {**demo.PROFILES["quick"], "n_per_identity": 3})


def test_plan_fills_every_placeholder() -> None:
    for quick in (False, True):
        steps = demo.plan("runs/x y", quick)
        assert [name for name, _, _ in steps] == [name for name, _, _ in demo.STEPS]
        for _, argv, _ in steps:
            assert not any("{" in tok for tok in argv)
            assert "runs/x y" in argv or any(tok.startswith("runs/x y/") for tok in argv)


def test_missing_stages_are_skipped_and_failures_do_not_stop_the_demo(
        tiny_profile: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "STEPS", [
        demo.STEPS[0],
        ("not-built", "no-such-stage {run}", False),
        ("broken", "synth {run}/other --regions ears", False),  # fails with a clear message
        ("nested-missing", "study no-such-step {run}", False),
    ])
    run = tmp_path / "run"
    assert main(["demo", str(run), "--quick", "--seed", "2"]) == 0
    record = json.loads((run / "demo.json").read_text())
    status = {s["name"]: s["status"] for s in record["steps"]}
    assert status == {"synth": "ok", "not-built": "skipped", "broken": "failed", "nested-missing": "skipped"}
    assert "unknown region" in record["steps"][2]["error"]
    assert record["steps"][0]["seconds"] > 0 and record["total_seconds"] >= record["steps"][0]["seconds"]
    assert json.loads((run / "synth" / "config.json").read_text())["seed"] == 2
    out = capsys.readouterr().out
    assert "[demo 1/4] synth" in out and "skipped" in out and f"results are in {run.resolve()}" in out


def test_a_failed_critical_step_stops_the_demo(tiny_profile: None, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "STEPS", [("synth", "synth {run}/synth --regions ears", True), demo.STEPS[1]])
    record = demo.run_demo(tmp_path / "run", quick=True)
    assert [s["status"] for s in record["steps"]] == ["failed"]


def test_only_selects_steps_and_rejects_unknown_names(tiny_profile: None, tmp_path: Path) -> None:
    record = demo.run_demo(tmp_path / "run", quick=True, only=["synth"])
    assert [s["name"] for s in record["steps"]] == ["synth"]
    with pytest.raises(SystemExit, match="unknown step"):
        demo.run_demo(tmp_path / "run", quick=True, only=["synth", "dance"])


@pytest.mark.slow
def test_quick_demo_runs_end_to_end(quick_demo: Path) -> None:
    """Every stage that exists runs on fresh synthetic faces (skipped stages are not built yet)."""
    run = quick_demo
    record = json.loads((run / "demo.json").read_text())
    failed = {s["name"]: s.get("error") for s in record["steps"] if s["status"] == "failed"}
    assert not failed, failed
    ran = {s["name"] for s in record["steps"] if s["status"] == "ok"}
    assert {"synth", "prepare"} <= ran
    assert (run / "synth" / "summary.json").exists() and (run / "data" / "split.csv").exists()
    for name, folder in [("train-classifier", "models/classifier"), ("facemap", "facemap"), ("fool", "fooling"),
                         ("explain", "explain"), ("regions", "regions"), ("study-analyze", "study")]:
        if name in ran:
            assert (run / folder / "summary.json").exists(), name
    if "report" in ran:
        assert (run / "report.html").exists()
