"""The face map: every chosen face placed by each network, its mistakes the network's own answers."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from lookalike.errors import SettingError
from lookalike.facemap import FacemapSettings, facemap
from lookalike.facemap.stage import layout, load_images
from lookalike.fakerun import make_fake_run
from lookalike.models import SiameseNet, VGGClassifier, load_model, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """A toy run with two small untrained networks (the map does not care how well they learned)."""
    run = make_fake_run(tmp_path_factory.mktemp("facemap") / "run", 40, faces="cheeks", seed=1)
    torch.manual_seed(0)
    save_model(run.model("classifier"), "classifier", VGGClassifier(width=4, dense=16), {"identities": ["a", "b"]})
    save_model(run.model("siamese"), "siamese", SiameseNet(width=4, hidden=8))
    summary = facemap(run, FacemapSettings(per_split=24, references=5, thumbs=30))
    return run, summary


def _rows(run, kind):
    with open(run.root / "facemap" / f"{kind}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_face_once_test_first_with_coordinates_and_hover_pictures(mapped):
    run, summary = mapped
    for kind in ("classifier", "siamese"):
        rows = _rows(run, kind)
        splits = [r["split"] for r in rows]
        assert splits == sorted(splits, key=["test", "train", "val"].index)  # test faces first
        assert len({r["path"] for r in rows}) == len(rows)
        assert summary["networks"][kind]["faces"] == {s: splits.count(s) for s in ("train", "val", "test")}
        xy = np.array([[float(r["x"]), float(r["y"])] for r in rows])
        assert xy.min() == 0.0 and xy.max() == 1.0
        assert [int(r["thumb"]) for r in rows][:30] == list(range(30)) and rows[30]["thumb"] == "-1"
        wrong = sum(r["correct"] == "0" for r in rows if r["split"] == "test")
        assert summary["networks"][kind]["mistakes"]["test"] == wrong
        assert 0.0 <= summary["networks"][kind]["trustworthiness"] <= 1.0
        with Image.open(run.root / "facemap" / f"{kind}.png") as im:
            assert im.width > 300
    with Image.open(run.root / "facemap" / "thumbs.jpg") as im:
        assert im.size == (20 * 40, 2 * 40)  # 30 faces in rows of 20


def test_mistakes_are_the_networks_own_answers(mapped):
    run, _ = mapped
    rows = _rows(run, "classifier")
    names = json.loads(run.identities_json.read_text())
    net = load_model(run.model("classifier"))
    with torch.no_grad():
        answer = net(load_images(run, rows).float() / 255).argmax(1).tolist()
    assert [r["predicted"] for r in rows] == [names[a] for a in answer]
    assert [r["correct"] == "1" for r in rows] == [a == int(r["label"]) for a, r in zip(answer, rows)]

    # the Siamese answer for a face: the person whose reference faces its full forward pass calls "same" more
    rows = _rows(run, "siamese")
    net = load_model(run.model("siamese"))
    refs = [r for r in rows if r["split"] == "train"]
    refs = {c: [r for r in refs if r["label"] == str(c)] for c in (0, 1)}
    refs = {c: [group[int(k * len(group) / 5)] for k in range(5)] for c, group in refs.items()}
    face = rows[0]
    with torch.no_grad():
        x = load_images(run, [face]).float() / 255
        p_same = [torch.softmax(net(x.expand(5, -1, -1, -1), load_images(run, refs[c]).float() / 255), 1)[:, 0]
                  .mean().item() for c in (0, 1)]
    assert face["predicted"] == names[int(p_same[1] > p_same[0])]


def test_layout_keeps_two_separate_groups_apart():
    rng = np.random.default_rng(0)
    emb = np.concatenate([rng.normal(0, 1, (40, 16)), rng.normal(6, 1, (40, 16))])
    xy, trust = layout(emb, perplexity=15, seed=0)
    labels = np.array([0] * 40 + [1] * 40)
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1) + np.eye(80) * 9
    assert (labels[d.argmin(1)] == labels).all() and trust > 0.8


def test_without_a_trained_network_it_says_what_to_run(tmp_path, cli_error):
    run = make_fake_run(tmp_path / "run", 10, faces="cheeks", seed=0)
    cli_error(["facemap", str(run.root)], "lookalike train")
    with pytest.raises(SettingError, match="perplexity"):
        FacemapSettings(perplexity=500).check()
