"""`lookalike study links|simulate|export|analyze` from the command line."""

from __future__ import annotations

import json

import pytest

from lookalike.cli import main
from lookalike.fakerun import make_fake_run
from lookalike.io import read_csv, read_json


def test_simulate_links_and_export_from_the_cli(tmp_path, capsys):
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    assert main(["study", "simulate", str(run.root), "--group", "expert", "--n", "4", "--accuracy", "1.0",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["completed"] == 4 and out["n_errors"] == 0 and out["accuracy_simulated"] == 1.0
    rows = read_csv(run.study / "trials.csv")
    assert len(rows) == 88 and {r["correct"] for r in rows} == {"1"} and {r["group"] for r in rows} == {"expert"}
    assert sum(r["catch"] == "1" for r in rows) == 8  # 20 pairs and 2 catch trials each

    assert main(["study", "simulate", str(run.root), "--group", "pre", "--n", "3", "--accuracy", "0.0"]) == 0
    assert main(["study", "links", str(run.root), "--group", "random", "--n", "2",
                 "--base-url", "http://example.org:9000/"]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) >= 2 and all(u.startswith("http://example.org:9000/p/") for u in printed[-2:])
    links = read_json(run.study / "links.json")["links"]
    assert len(links) == 9 and {lk["link_group"] for lk in links} == {"expert", "pre", "random"}

    assert main(["study", "export", str(run.root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["participants"] == 9 and summary["complete"] == 7 and summary["answers"] == 154
    assert summary["groups"]["pre"]["accuracy_complete"] == 0.0
    assert summary["groups"]["expert"]["accuracy_complete"] == 1.0
    assert (run.study / "summary.json").exists() and (run.study / "config.json").exists()
    assert summary["simulated_participants"] == 7 and summary["groups"]["pre"]["simulated"] == 3
    assert summary["files"]["psychds"]["errors"] == []


def test_cli_refuses_bad_input_clearly(tmp_path, cli_error):
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    cli_error(["study", "simulate", str(run.root), "--group", "pre", "--n", "1", "--accuracy", "1.5"], "between 0 and 1")
    cli_error(["study", "export", str(tmp_path / "nowhere")], "study serve")
    with pytest.raises(SystemExit):
        main(["study", "links", str(run.root), "--group", "vip"])
    cli_error(["study", "links", str(tmp_path / "empty"), "--group", "pre"], "prepare")


def test_analyze_is_registered(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["study", "analyze", "--help"])
    assert exc.value.code == 0
    assert "RUN" in capsys.readouterr().out
