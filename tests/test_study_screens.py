"""Figure 8: the study's screens photographed in Chromium from a scratch copy of the study."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.fakerun import make_fake_run
from lookalike.study.screens import VIEWPORT, capture_screens


def _colourful(path, top: float = 1.0) -> float:
    """Share of strongly coloured pixels (in the top part of the picture): the toy faces are, the app
    around them is grey and white."""
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    rgb = rgb[: int(top * len(rgb))]
    return float(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).mean())


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_three_screens_are_photographed_without_touching_the_runs_study(tmp_path):
    pytest.importorskip("playwright.sync_api")
    from studybrowser import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    run = make_fake_run(tmp_path / "run", 45, faces="plain")
    record = capture_screens(run)
    folder = run.study / "screens"
    assert sorted(p.name for p in folder.iterdir()) == ["answer.png", "screens.json", "test.png", "training.png"]
    assert not (run.study / "study.sqlite").exists()  # the run's own study was never opened
    assert record["browser"].startswith("Chromium ")
    for name in ("training", "test", "answer"):
        with Image.open(folder / f"{name}.png") as im:  # the study's card, not the empty window around it
            assert 300 < im.width <= VIEWPORT["width"] and 150 < im.height < VIEWPORT["height"]
    training, test = _colourful(folder / "training.png"), _colourful(folder / "test.png")
    assert training > 0.05 and test > training  # one face with its name, then two faces and the buttons
    assert _colourful(folder / "answer.png", top=0.6) < 0.01 < _colourful(folder / "test.png", top=0.6)
    # the pair is gone when the buttons are live
    # the CLI form
    assert main(["study", "screens", str(run.root), "--json"]) == 0


def test_without_chromium_the_reason_is_noted_for_the_report(tmp_path, monkeypatch, cli_error):
    monkeypatch.setenv("LOOKALIKE_CHROMIUM", str(tmp_path / "no-such-browser"))
    run = make_fake_run(tmp_path / "run", 45, faces="plain")
    cli_error(["study", "screens", str(run.root)], "need Chromium")
    assert main(["study", "screens", str(run.root), "--if-available", "--json"]) == 0
    record = json.loads((run.study / "screens" / "screens.json").read_text())
    assert record["screens"] == {} and "need Chromium" in record["unavailable"]
