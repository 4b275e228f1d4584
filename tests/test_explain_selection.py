"""What gets explained: Figure-7 pairs for the Siamese network, balanced faces for the classifier."""

from __future__ import annotations

import pytest

from lookalike.errors import LookalikeError
from lookalike.explain.selection import select
from lookalike.fakerun import make_fake_run
from lookalike.io import atomic_write_csv, read_csv
from lookalike.models.siamese import DIFFERENT, SAME


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_fake_run(tmp_path_factory.mktemp("sel") / "run", 10, seed=0)


def test_pairs_are_half_same_half_different_and_deterministic(run):
    sel = select(run, "siamese", 6, seed=3)
    assert len(sel) == 6 and len(sel.inputs) == 2 and sel.inputs[0].shape == (6, 3, 128, 128)
    targets = sel.target.tolist()
    assert targets.count(SAME) == 3 and targets.count(DIFFERENT) == 3
    for t, (la, lb) in zip(targets, sel.labels):
        assert (la == lb) == (t == SAME)
    same_people = [la for t, (la, _) in zip(targets, sel.labels) if t == SAME]
    assert set(same_people) == {0, 1}  # pairs of each person, not only the larger class
    again = select(run, "siamese", 6, seed=3)
    assert again.paths == sel.paths
    assert 0.0 <= float(sel.inputs[0].min()) and float(sel.inputs[0].max()) <= 1.0


def test_saved_test_pairs_are_preferred(run):
    test = [r for r in read_csv(run.split_csv) if r["split"] == "test"]
    a = [r["path"] for r in test if r["label"] == "0"]
    b = [r["path"] for r in test if r["label"] == "1"]
    rows = [{"a": a[0], "b": a[1], "same": 1}, {"a": b[0], "b": b[1], "same": 1}, {"a": a[2], "b": b[2], "same": 0}]
    saved = atomic_write_csv(run.model("siamese") / "test_pairs.csv", rows, ["a", "b", "same"])
    try:
        sel = select(run, "siamese", 3, seed=0)
    finally:
        saved.unlink()
    assert sorted(sel.paths) == sorted([(a[0], a[1]), (b[0], b[1]), (a[2], b[2])])


def test_classifier_faces_are_balanced_between_the_people(run):
    sel = select(run, "classifier", 4, seed=0)
    assert len(sel.inputs) == 1 and sel.target.tolist().count(0) == 2
    assert [lab for (lab,) in sel.labels] == sel.target.tolist()


def test_embedding_maps_come_from_the_baseline_and_are_marked_unchecked(run, monkeypatch):
    import numpy as np

    import lookalike.baseline as baseline
    from lookalike.contract import MapFile, save_maps
    from lookalike.explain.stage import run_explain
    from lookalike.io import read_json

    def fake_explain_embedding(r, n, seed, device):
        rows = [x for x in read_csv(r.split_csv) if x["split"] == "test"][:n]
        k = len(rows)
        save_maps(r.explain / "maps" / "embedding-rise.npz",
                  MapFile(np.ones((k, 128, 128), np.float32), [x["path"] for x in rows], "embedding", "rise",
                          np.zeros(k), np.full(k, -1), np.zeros(k), np.zeros(k), np.full(k, 0.5)))
        # the shape `lookalike.baseline.explain_embedding` returns (a network run without checks)
        return {"model": "embedding", "methods": {"rise": {"maps": "explain/maps/embedding-rise.npz"}}, "n": k}

    monkeypatch.setattr(baseline, "explain_embedding", fake_explain_embedding)
    with pytest.raises(LookalikeError, match="no trained network"):
        run_explain(run, model="all")
    run.model("embedding").mkdir(parents=True, exist_ok=True)
    summary = run_explain(run, model="embedding", n=2)
    assert summary["networks"]["embedding"]["n"] == 2
    assert (run.explain / "figure7_embedding-rise.png").exists()
    assert read_json(run.explain / "sanity.json")["not_checked"] == ["embedding-rise"]
