"""The face-embedding baseline: dlib's ResNet + a linear head, its pair threshold, and its black-box maps."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from conftest import shared_data
from lookalike import contract as c
from lookalike.baseline import explain_embedding, linear, saliency, train_embedding
from lookalike.baseline.explain import chip_footprint
from lookalike.baseline.train import load_head
from lookalike.data.dataset import load_landmarks
from lookalike.errors import LookalikeError
from lookalike.face.regions import FEATURES, REGIONS, region_labels, region_masks
from lookalike.face.template import TEMPLATE_68
from lookalike.fakerun import make_fake_run
from lookalike.regions.scoring import score_maps
from lookalike.runfolder import Run
from lookalike.training.metrics import roc_auc

PLANTED = ("cheekbone_left", "cheekbone_right")


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Cartoon faces whose two people differ only in brighter cheekbones, with the baseline trained."""
    run = make_fake_run(tmp_path_factory.mktemp("planted"), 20, seed=3, planted=PLANTED,
                           strength=0.3)
    train_embedding(run, {"val_pairs": 40, "test_pairs": 40}, seed=0, device="cpu")
    return run


# the head, metrics and thresholds (no dlib) ---------------------------------------------------------

def test_logistic_head_separates_and_regularises() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5))
    y = (x[:, 0] + 0.3 * rng.normal(size=80) > 0).astype(int)
    strong, weak = linear.fit_logistic(x, y, C=100.0), linear.fit_logistic(x, y, C=0.001)
    assert linear.accuracy(y, strong.predict(x)) > 0.85
    assert abs(strong.weight[0]) > 5 * np.abs(strong.weight[1:]).max()  # it found the informative feature
    assert np.linalg.norm(weak.weight) < np.linalg.norm(strong.weight) / 5  # small C shrinks weights
    np.testing.assert_allclose(strong.proba(x).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="only one person"):
        linear.fit_logistic(x, np.zeros(80, int), C=1.0)


def test_metrics_and_threshold() -> None:
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert linear.balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0]) == pytest.approx(0.5)
    assert linear.confusion_matrix([0, 1, 1], [0, 0, 1]) == [[1, 0], [1, 1]]
    d = np.array([0.2, 0.3, 0.35, 0.7, 0.8, 0.5])
    same = np.array([1, 1, 1, 0, 0, 0])
    t = linear.best_threshold(d, same)
    assert 0.35 < t < 0.5 and linear.accuracy(same, (d <= t).astype(int)) == 1.0


# black-box saliency on a known model (no dlib) ------------------------------------------------------

def _region_density(maps: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """The region stage's score per feature (left+right pooled): share of the attribution inside the face
    divided by the feature's share of the face area, averaged over images."""
    labels = np.stack([region_labels(lm) for lm in landmarks])
    groups = {f: [REGIONS.index(r) for r in rs] for f, rs in FEATURES.items()}
    scores = score_maps(maps, labels, groups)
    return dict(zip(scores.names, np.nanmean(scores.enrichment, axis=0).tolist()))


@pytest.mark.parametrize("method", ["occlusion", "rise"])
def test_black_box_methods_find_the_region_a_known_model_reads(method: str) -> None:
    """A model that only reads the cheekbones: both methods must rank the cheekbones first."""
    cheek = torch.from_numpy(region_masks(TEMPLATE_68)[[REGIONS.index(r) for r in PLANTED]].any(axis=0))
    weight = cheek.float() / cheek.sum()

    def score(x: torch.Tensor) -> torch.Tensor:
        return (x.mean(dim=1) * weight).sum(dim=(1, 2)) * 10

    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.uniform(0.55, 0.95, size=(3, 128, 128)).astype(np.float32))
    if method == "occlusion":
        m = saliency.occlusion_map(score, image, patch=16, stride=8, fill=0.0)
    else:
        m = saliency.rise_map(score, image, saliency.rise_masks(200, 128, grid=8, seed=1), fill=0.0)
    assert m.shape == (128, 128) and m.dtype == np.float32 and (m >= 0).all()
    density = _region_density(m[None], TEMPLATE_68[None])
    assert max(density, key=density.get) == "cheekbones", density


def test_rise_masks_are_seeded_and_shaped() -> None:
    a = saliency.rise_masks(10, (40, 50), grid=5, seed=7)
    assert a.shape == (10, 1, 40, 50) and 0 <= float(a.min()) and float(a.max()) <= 1
    assert torch.equal(a, saliency.rise_masks(10, (40, 50), grid=5, seed=7))
    assert not torch.equal(a, saliency.rise_masks(10, (40, 50), grid=5, seed=8))


def test_chip_footprint_covers_the_inner_face_not_the_forehead() -> None:
    foot = chip_footprint(TEMPLATE_68)
    eyes = TEMPLATE_68[36:48].mean(axis=0).astype(int)
    chin = TEMPLATE_68[8].astype(int)
    assert foot[eyes[1], eyes[0]] and foot[min(chin[1], 127) - 2, chin[0]]
    assert not foot[:10].any()  # the top of the forehead is outside what dlib's chip reads


# training on synthetic and real faces ---------------------------------------------------------------

def test_baseline_trains_on_synthetic_faces(planted_run: Run) -> None:
    out = planted_run.model("embedding")
    s = c.BASELINE_SUMMARY.read(planted_run)
    for key in ("test_accuracy", "accuracy", "balanced_accuracy", "roc_auc", "confusion_matrix", "pair_accuracy",
                "pair_roc_auc", "pair_threshold", "n_test_pairs", "test", "pair_test"):
        assert key in s, key
    assert s["test"]["n"] == s["n_test"] == sum(map(sum, s["confusion_matrix"]))
    assert s["test_accuracy"] >= 0.75  # brighter cheekbones are visible to a face embedding
    assert 0.0 <= s["pair_accuracy"] <= 1.0 and s["n_test_pairs"] > 0
    assert (out / "config.json").exists() and (out / "pair_distances.png").stat().st_size > 1000
    # the saved head reproduces the predictions written beside it
    head, threshold = load_head(out)
    assert threshold == pytest.approx(s["pair_threshold"])
    rows = list(csv.DictReader((out / "test_predictions.csv").open()))
    cache = np.load(out / "embeddings.npz")
    emb = dict(zip(cache["paths"], cache["emb"]))
    pred = head.predict(np.stack([emb[r["path"]] for r in rows]))
    assert [int(r["pred"]) for r in rows] == pred.tolist()
    assert json.loads((out / "model.json").read_text())["kind"] == "embedding"


def test_retraining_reuses_cached_embeddings_and_siamese_pairs(planted_run: Run) -> None:
    before = c.BASELINE_SUMMARY.read(planted_run)
    test = [r for r in csv.DictReader(planted_run.split_csv.open()) if r["split"] == "test"]
    a = [r for r in test if r["label"] == "0"]
    b = [r for r in test if r["label"] == "1"]
    pairs = [(a[0], a[1], 1), (b[0], b[1], 1), (a[0], b[0], 0), (a[2], b[2], 0)]
    siamese = planted_run.model("siamese")
    siamese.mkdir(parents=True, exist_ok=True)
    with (siamese / "test_pairs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "same"])
        w.writerows([(x["path"], y["path"], s) for x, y, s in pairs])
    try:
        after = train_embedding(planted_run, {"val_pairs": 40}, seed=0, device="cpu")
    finally:
        (siamese / "test_pairs.csv").unlink()
    assert after["embed_seconds"] < 2.0  # nothing recomputed
    assert after["test_accuracy"] == before["test_accuracy"]
    assert after["n_test_pairs"] == 4 and after["test_pairs_source"].startswith("models/siamese")


def _faces_dev_run(root: Path, per_person: int) -> Run:
    """A small run folder from faces-dev, framed roughly as `prepare --aligned` frames it."""
    src = shared_data("faces-dev")
    people = sorted(p.name for p in src.iterdir() if p.is_dir())[:2]
    rows = []
    for label, who in enumerate(people):
        for k, f in enumerate(sorted((src / who).glob("*.png"))[:per_person]):
            im = Image.open(f).convert("RGB").resize((109, 109), Image.BICUBIC)
            im = ImageOps.expand(im, border=(9, 9, 10, 10), fill=(128, 128, 128))
            rel = f"faces/{who}/{f.name}"
            (root / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
            im.save(root / "data" / rel)
            split = "train" if k % 4 in (0, 1) else "val" if k % 4 == 2 else "test"
            rows.append({"path": rel, "identity": who, "label": label, "split": split, "group": rel})
    with (root / "data" / "split.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["path", "identity", "label", "split", "group"])
        w.writeheader()
        w.writerows(rows)
    (root / "data" / "identities.json").write_text(json.dumps(people))
    return Run(root)


@pytest.mark.shared_data
def test_baseline_on_real_faces(tmp_path: Path) -> None:
    run = _faces_dev_run(tmp_path, per_person=24)
    s = train_embedding(run, {"val_pairs": 60, "test_pairs": 60}, seed=0, device="cpu")
    assert s["n_test"] == 12 and s["test_accuracy"] >= 0.8  # a modern face model tells these two apart
    assert s["pair_accuracy"] > 0.6 and s["pair_roc_auc"] > 0.6


def test_clear_errors(tmp_path: Path, planted_run: Run) -> None:
    with pytest.raises(LookalikeError, match="prepare"):
        train_embedding(tmp_path / "nothing", {}, 0, "cpu")
    empty = Run(tmp_path / "empty")
    (empty.data).mkdir(parents=True)
    empty.split_csv.write_text("path,identity,label,split,group\n")
    empty.identities_json.write_text('["a", "b"]')
    with pytest.raises(LookalikeError, match="split .* is empty"):
        train_embedding(empty, {}, 0, "cpu")
    with pytest.raises(LookalikeError, match="--model embedding"):
        explain_embedding(empty, 2, 0, "cpu")
    with pytest.raises(LookalikeError, match="score must be"):
        explain_embedding(planted_run, 1, 0, "cpu", {"score": "nonsense"})


# black-box maps of the trained baseline -------------------------------------------------------------

def test_embedding_maps_on_planted_faces(planted_run: Run) -> None:
    summary = explain_embedding(planted_run, n=2, seed=0, device="cpu", options={"rise_masks": 64})
    assert summary["n"] == 2 and summary["model_calls_per_image"] < 150
    densities = {}
    for method in ("occlusion", "rise"):
        z = np.load(planted_run.explain / "maps" / f"embedding-{method}.npz")
        maps, paths = z["maps"], [str(p) for p in z["paths"]]
        assert maps.shape == (2, 128, 128) and maps.dtype == np.float32 and (maps >= 0).all() and maps.max() > 0
        assert str(z["model"]) == "embedding" and str(z["method"]) == method and len(z["target"]) == 2
        assert all((planted_run.data / p).exists() for p in paths)
        landmarks = load_landmarks(planted_run, paths)
        for m, lm in zip(maps, landmarks):
            assert not m[~chip_footprint(lm)].any()  # nothing where dlib cannot see
        densities[method] = _region_density(maps, landmarks)
    # the planted cheekbones get more than their share of the face (density > 1) under both methods
    for method, d in densities.items():
        assert d["cheekbones"] > 1.0, (method, d)
    # a second call with the same settings reuses the finished maps instead of recomputing them
    before = np.load(planted_run.explain / "maps" / "embedding-rise.npz")["maps"]
    again = explain_embedding(planted_run, n=2, seed=0, device="cpu", options={"rise_masks": 64})
    assert again["reused_images"] == 2
    np.testing.assert_array_equal(np.load(planted_run.explain / "maps" / "embedding-rise.npz")["maps"], before)
