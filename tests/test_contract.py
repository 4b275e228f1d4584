"""The run-folder contract: records validate what stages write, read back typed, and match the docs."""

from __future__ import annotations

from pathlib import Path

import pytest

import lookalike as lk
from lookalike import contract as c
from lookalike.contract.docs import render
from lookalike.errors import InputError, StageMissing
from lookalike.runfolder import Run

DOC = Path(__file__).resolve().parents[1] / "docs" / "run-folder.md"


def test_docs_run_folder_is_written_from_the_contract():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/run-folder.md is out of date: python -m lookalike.contract.docs > docs/run-folder.md")


def test_every_file_is_named_once_and_every_record_is_listed_with_its_fields():
    from lookalike.contract.docs import records

    patterns = [f.pattern for f in c.FILES]
    assert len(patterns) == len(set(patterns))
    text = records()
    for f in c.FILES:
        if isinstance(f, c.JsonFile) and f.record.model_fields:
            assert f"`{f.pattern}`" in text and f.record.__name__ in text
    assert "| `success_rate` ★ | float (optional) |" in text  # a field the report shows, with its type


def test_a_summary_writes_only_what_its_stage_set_and_reads_back_typed(tmp_path):
    run = Run(tmp_path)
    written = c.FOOLING_SUMMARY.write(run, {"model": "classifier", "n": 4, "n_fooled": 3, "success_rate": 0.75,
                                            "steps": {"median": 7}, "later_field": [1, 2]})
    raw = (tmp_path / "fooling" / "summary.json").read_text()
    assert '"success_rate": 0.75' in raw and '"later_field"' in raw  # a field a newer version adds is kept
    assert "success_rate_initially_correct" not in raw  # not set: absent, not null
    assert '"info"' in raw  # provenance added to every summary
    back = c.FOOLING_SUMMARY.read(run)
    assert back == written and back.steps.median == 7.0 and back["n_fooled"] == 3 and "later_field" in back
    assert back.get("seconds", "none") == "none"


def test_a_stage_that_writes_the_wrong_type_is_stopped_before_the_file_changes(tmp_path):
    run = Run(tmp_path)
    c.FOOLING_SUMMARY.write(run, {"model": "classifier", "n": 4, "n_fooled": 3})
    before = (tmp_path / "fooling" / "summary.json").read_bytes()
    with pytest.raises(TypeError, match="n_fooled"):
        c.FOOLING_SUMMARY.write(run, {"model": "classifier", "n": 4, "n_fooled": "many"})
    assert (tmp_path / "fooling" / "summary.json").read_bytes() == before


def test_readers_name_the_missing_stage_and_the_bad_line(tmp_path):
    run = Run(tmp_path)
    with pytest.raises(StageMissing, match="lookalike fool"):
        c.FOOLING_SUMMARY.read(run)
    assert not c.FOOLING_SUMMARY.load(run).ok and c.FOOLING_SUMMARY.load(run).error is None
    c.SPLIT.write(run, [c.SplitRow(path="faces/a/1.png", identity="a", label=0, split="train")])
    path = c.SPLIT.path(run)
    path.write_text(path.read_text() + "faces/b/1.png,b,1,holiday,g1\n")
    with pytest.raises(InputError, match=r"split.csv, line 3: split"):
        c.SPLIT.read(run)
    (tmp_path / "fooling" / "summary.json").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "fooling" / "summary.json").write_text("{broken")
    loaded = c.FOOLING_SUMMARY.load(run)
    assert not loaded.ok and "summary.json could not be read" in loaded.error


def test_shown_fields_are_the_reports_key_numbers(tmp_path):
    """Declaring a field with shown(...) is all it takes for the report to list it for its stage."""
    from lookalike.report.html import key_numbers

    summary = c.FoolingSummary(model="classifier", n=4, n_fooled=3, success_rate=0.75, seconds=1.5)
    rows = {r["key"]: r["value"] for r in key_numbers(summary)}
    assert rows == {"images attacked": "4", "fooled": "3", "success rate": "75.0%", "seconds": "1.5 s"}
    run = Run(tmp_path)
    c.FOOLING_SUMMARY.write(run, summary)
    html = Path(lk.report(run)["report"]).read_text()
    fooling = html.split('id="fooling"')[1].split("</section>")[0]
    assert "success rate</td>" in fooling and "75.0%" in fooling and "images attacked" in fooling


def test_the_api_returns_typed_summaries(tmp_path):
    summary = lk.synth(tmp_path, n_per_identity=2, workers=1, seed=3)
    assert isinstance(summary, c.SynthSummary) and summary.images == 4
    assert c.SYNTH_SUMMARY.read(Run(tmp_path)) == summary
