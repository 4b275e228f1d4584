"""`prepare --aligned`: crops like faces-dev (resize, predicted landmarks, filter) and synth run folders."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import shared_data
from lookalike import contract as c
from lookalike.data import extract as extract_mod
from lookalike.data.dataset import load_landmarks, load_split
from lookalike.data.prepare import PrepareOptions, prepare
from lookalike.io import read_csv, read_json
from lookalike.runfolder import Run


def test_aligned_crops_are_resized_get_landmarks_and_are_filtered(tmp_path):
    dev = shared_data("faces-dev")
    photos = tmp_path / "crops"
    for person in ("drew_barrymore", "gwyneth_paltrow"):
        (photos / person).mkdir(parents=True)
        for f in sorted((dev / person).iterdir())[:6]:
            shutil.copy(f, photos / person / f.name)
    summary = prepare(PrepareOptions(str(photos), str(tmp_path / "run"), aligned=True, workers=1))
    run = Run(tmp_path / "run")
    assert summary["mode"] == "aligned" and summary["faces_found"] == 12
    assert summary["filter"]["used"] and "no 'other' material" in summary["filter"]["note"]
    rows = [r for r in read_csv(run.manifest_csv) if r["face"] != ""]
    assert all(r["landmarks"].startswith(("predicted", "template")) for r in rows)
    assert sum(r["landmarks"] == "predicted" for r in rows) >= 9
    files = [r for r in read_csv(run.manifest_csv) if r["face"] == ""]
    assert all("resized 112x112 -> 128x128" in r["notes"] for r in files)
    kept = read_csv(run.split_csv)
    assert len(kept) == summary["kept"] >= 8
    fs = load_split(run, "train")
    assert fs.images.shape[1:] == (3, 128, 128)
    names = {r["path"].rsplit("/", 1)[1] for r in kept}
    assert names <= {f.name for f in photos.rglob("*.png")}, "aligned crops keep their file names"


def test_synth_run_folder_keeps_paths_landmarks_and_masks(tmp_path, monkeypatch):
    generate = pytest.importorskip("lookalike.synth.generate").generate
    generate(tmp_path / "run" / "synth", n_per_identity=12, seed=3, workers=1)
    summary = prepare(PrepareOptions(str(tmp_path / "run" / "synth"), str(tmp_path / "run"), workers=1))
    run = Run(tmp_path / "run")
    assert summary["mode"] == "run folder" and not summary["filter"]["used"]
    assert summary["kept"] == 24 and summary["pending_review"] == 0
    split = read_csv(run.split_csv)
    synth_lm = {r["path"]: r for r in read_csv(run.synth / "landmarks.csv")}
    assert {r["path"] for r in split} <= set(synth_lm)
    paths = [r["path"] for r in split]
    ours = load_landmarks(run, paths)
    theirs = np.array([[float(synth_lm[p][f"{a}{i}"]) for i in range(68) for a in "xy"] for p in paths])
    np.testing.assert_allclose(ours.reshape(len(paths), -1), theirs, atol=0.01)
    masks = np.load(run.data / "truth" / "masks.npz")
    assert set(paths) <= {str(p) for p in masks["paths"]}
    assert (run.data / paths[0]).read_bytes() == (run.synth / paths[0]).read_bytes()
    assert read_json(run.identities_json) == ["person_a", "person_b"]

    monkeypatch.setattr(extract_mod, "extract", lambda *a, **k: pytest.fail("cached file redone"))
    again = prepare(PrepareOptions(str(tmp_path / "run" / "synth"), str(tmp_path / "run"), workers=1))
    assert read_csv(run.split_csv) == split and again["kept"] == 24

    from lookalike.cli import main

    assert main(["prepare", str(tmp_path / "run" / "synth"), "--out", str(tmp_path / "run"), "--aligned",
                 "--val", "6", "--workers", "1"]) == 0
    sizes = [r["split"] for r in read_csv(run.split_csv)]
    assert sizes.count("val") == 6 and sizes.count("train") + sizes.count("test") == 18
    summary = c.DATA_SUMMARY.read(run)
    assert summary["split_plan"]["val"] == 6 and summary["pending_review_train_estimate"] == 0
    assert read_json(run.data / "config.json")["val"] == 6  # review's Apply reruns with the same split
