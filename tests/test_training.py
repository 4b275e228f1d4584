"""Training: presets, pairs, metrics, a short run that learns, exact resume, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lookalike.cli import main as cli_main
from lookalike.errors import LookalikeError
from lookalike.fakerun import make_fake_run
from lookalike.pairs import as_tensors, make_pairs, pair_count, pair_indices, saved_test_pairs
from lookalike.training.loop import train
from lookalike.training.metrics import binary_metrics, expected_calibration_error, fit_temperature, roc_auc
from lookalike.training.presets import make_config, parse_sets

QUICK = {"epochs": 2, "val_pairs": 60, "test_pairs": 60}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """70 + 15 + 15 cartoon faces per person; person_b has clearly brighter cheeks."""
    return make_fake_run(tmp_path_factory.mktemp("toy") / "run", 100, faces="cheeks", seed=0, contrast=100.0)


# presets ---------------------------------------------------------------------------
def test_paper_preset_is_the_papers_recipe():
    cfg = make_config("paper")
    assert (cfg.dropout, cfg.batch_size, cfg.epochs, cfg.lr) == (0.3, 30, 200, 1e-7)
    assert (cfg.optimizer, cfg.schedule, cfg.width, cfg.dense) == ("adam", "constant", 64, 4096)
    assert not cfg.flip and cfg.shift == 0
    assert cfg.identity_warmup == 0  # the paper's Siamese loss, L+ + L-, from the first step


def test_overrides_file_then_set_flags(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"lr": 0.01, "epochs": 3, "flip": False}))
    cfg = make_config("fast", parse_sets(["epochs=7", "flip=yes", "weight_decay=1e-3"]), path)
    assert (cfg.lr, cfg.epochs, cfg.flip, cfg.weight_decay) == (0.01, 7, True, 1e-3)
    with pytest.raises(LookalikeError, match="unknown training setting 'lrr'"):
        make_config("fast", {"lrr": "1"})
    with pytest.raises(LookalikeError, match="bad value for epochs"):
        make_config("fast", {"epochs": "many"})
    with pytest.raises(LookalikeError, match="batch_size must be"):
        make_config("fast", {"batch_size": "1"})
    with pytest.raises(LookalikeError, match="key=value"):
        parse_sets(["lr"])


# pairs -----------------------------------------------------------------------------
def test_pairs_are_balanced_correct_and_deterministic():
    labels = torch.tensor([0] * 30 + [1] * 70)
    a, b, same = make_pairs(labels, 200, seed=3)
    assert len(a) == 200 and int(same.sum()) == 100
    assert torch.equal(same, (labels[a] == labels[b]).long())
    assert not torch.any((a == b) & (same == 1))  # never an image paired with itself
    # anchors of "same" pairs come equally from both people despite 30 vs 70 images
    assert int((labels[a[same == 1]] == 0).sum()) == 50
    a2, b2, same2 = make_pairs(labels, 200, seed=3)
    assert torch.equal(a, a2) and torch.equal(b, b2) and torch.equal(same, same2)
    assert not torch.equal(a, make_pairs(labels, 200, seed=4)[0])
    assert pair_count(2000, 150) == 300 and pair_count(2000, 5000) == 2000


def test_same_pairs_avoid_one_near_duplicate_group():
    labels = torch.tensor([0] * 10 + [1] * 10)
    groups = [f"g{i // 2}" for i in range(20)]  # pairs of near-duplicates
    a, b, same = make_pairs(labels, 100, seed=0, groups=groups)
    clash = [groups[i] == groups[j] for i, j, s in zip(a.tolist(), b.tolist(), same.tolist()) if s]
    assert sum(clash) <= 2


# metrics ---------------------------------------------------------------------------
def test_metrics_by_hand():
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert np.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))
    m = binary_metrics(np.array([0, 0, 0, 1]), np.array([0.2, 0.7, 0.1, 0.9]), ["a", "b"])
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["confusion_matrix"] == [[2, 1], [0, 1]]
    assert m["roc_auc"] == pytest.approx(1.0)


def test_expected_calibration_error_by_hand():
    # confidences 0.9 and 0.92 share the bin (13/15, 14/15]: one right, one wrong -> |0.5 - 0.91| for two;
    # 0.7 (wrong) and 0.6 (right) sit alone in their bins -> 0.7 and 0.4
    truth = np.array([1, 0, 1, 0])
    prob1 = np.array([0.9, 0.92, 0.3, 0.4])
    assert expected_calibration_error(truth, prob1) == pytest.approx((2 * 0.41 + 0.7 + 0.4) / 4)
    # 75 % sure and right 3 times in 4: calibrated
    assert expected_calibration_error(np.array([1, 1, 1, 0]), np.full(4, 0.75)) == pytest.approx(0.0)
    assert binary_metrics(truth, prob1, ["a", "b"])["ece"] == pytest.approx(0.48)
    assert expected_calibration_error(truth, prob1, n_bins=1) == pytest.approx(abs(0.5 - (0.9 + 0.92 + 0.7 + 0.6) / 4))


def test_temperature_scaling_recovers_an_overconfident_scale():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 4000)
    truth = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)  # calibrated at temperature 1
    logits = np.stack([np.zeros_like(z), z], axis=1)
    assert fit_temperature(3 * logits, truth) == pytest.approx(3.0, rel=0.1)
    assert fit_temperature(logits / 2, truth) == pytest.approx(0.5, rel=0.1)


def test_temperature_stays_bounded_when_every_validation_answer_is_right():
    """Perfectly separated validation logits have no finite best temperature: the fit must stop at the bound
    instead of turning every probability into 0 or 1."""
    from lookalike.training.metrics import MIN_TEMPERATURE

    truth = np.array([0, 1] * 20)
    logits = np.stack([-(2 * truth - 1) * 1.5, (2 * truth - 1) * 1.5], axis=1).astype(float)
    temperature = fit_temperature(logits, truth)
    assert temperature == pytest.approx(MIN_TEMPERATURE, rel=0.01)
    assert 0.25 <= MIN_TEMPERATURE < 1
    prob = np.exp(logits[:, 1] / temperature) / np.exp(logits / temperature).sum(1)
    assert prob.max() < 1 - 1e-6  # still a probability a fooling attack has to move, not a hard 0/1


# training --------------------------------------------------------------------------
@pytest.mark.parametrize("model,floor", [("classifier", 0.75), ("siamese", 0.65)])
def test_short_run_beats_chance_and_writes_the_contract(toy_run, model, floor):
    epochs = 6 if model == "classifier" else 8
    size = {"siamese_input_size": 64} if model == "siamese" else {}  # a quarter of the 128x128 pixels: 68 s -> 12 s
    summary = train(toy_run.root, model=model, preset="tiny", seed=0, device="cpu",
                    overrides={"epochs": epochs, "train_pairs": 400, "val_pairs": 120, "test_pairs": 200, **size})
    out = toy_run.model(model)
    for name in ("model.safetensors", "model.json", "config.json", "checkpoint.pt", "metrics.jsonl",
                 "curves_accuracy.png", "curves_loss.png", "summary.json"):
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, summary["epochs_run"] + 1))
    assert summary["epochs_run"] == epochs or records[-1]["val_accuracy"] == 1.0  # stopped: nothing left to beat
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds", "images_per_s"} <= set(
        records[0])
    assert summary["best_epoch"] == max(records, key=lambda r: r["val_accuracy"])["epoch"]
    assert summary["test_accuracy"] >= floor, summary["test"]
    assert summary["test"]["roc_auc"] > floor
    assert np.sum(summary["test"]["confusion_matrix"]) == summary["test"]["n"]
    # tiny calibrates on the validation split: the temperature travels with the saved network
    from lookalike.models.registry import load_model, model_meta

    cal = summary["calibration"]
    assert cal["temperature"] > 0 and 0 <= summary["test"]["ece"] <= 1
    assert cal["val_ece_after"] <= cal["val_ece_before"] + 0.02
    assert model_meta(out)["arch"]["temperature"] == pytest.approx(cal["temperature"])
    head = load_model(out).head
    assert head[-1].temperature == pytest.approx(cal["temperature"])
    if model == "siamese":
        from lookalike.data.dataset import load_split

        a, b, same = as_tensors(pair_indices(saved_test_pairs(toy_run), load_split(toy_run, "test").paths, strict=True))
        assert len(a) == summary["test"]["n"] == 60 and int(same.sum()) == 30  # 2 × 30 test images


def test_identity_warmup_fades_into_the_papers_loss(toy_run):
    from lookalike.training.loop import Trainer

    cfg = make_config("tiny", {**QUICK, "limit_train": 64, "train_pairs": 64, "identity_warmup": 0.5})
    trainer = Trainer(toy_run, "siamese", cfg, seed=0, device="cpu")
    # the pair head starts at "no opinion": every pair 50/50, so the first gradients do not push all faces
    # onto one embedding (which, with the paper's loss alone, stalled pair training at chance)
    x = trainer.train_set.images[:4].float() / 255
    probs = torch.softmax(trainer.net.eval()(x, x.roll(1, 0)), dim=1)
    torch.testing.assert_close(probs, torch.full_like(probs, 0.5))
    steps = trainer.steps
    assert trainer.identity_weight(1, 0) == 1.0
    assert 0 < trainer.identity_weight(1, steps - 1) < 1
    assert trainer.identity_weight(2, 0) == 0.0  # halfway through two epochs: the paper's loss alone
    first, second = trainer.train_epoch(1, None), trainer.train_epoch(2, None)
    assert 0 <= first["identity_accuracy"] <= 1 and "identity_accuracy" not in second
    # the probe is a training aid: it is not part of the saved network
    assert not any(name.startswith("probe") for name in trainer.net.state_dict())
    plain = Trainer(toy_run, "siamese", make_config("tiny", {**QUICK, "identity_warmup": 0}), 0, "cpu")
    assert plain.probe is None and plain.identity_weight(1, 0) == 0.0
    with pytest.raises(LookalikeError, match="identity_warmup"):
        make_config("tiny", {"identity_warmup": 1.5})


def test_pair_evaluation_embeds_each_face_once_with_the_same_answers(toy_run):
    from lookalike.training.loop import Trainer

    trainer = Trainer(toy_run, "siamese", make_config("tiny", {**QUICK, "limit_train": 64}), seed=0, device="cpu")
    trainer.train_epoch(1, None)  # trained weights and batch-norm statistics, not the initial ones
    a, b, same = trainer.val_pairs
    res = trainer.evaluate(trainer.val_set, trainer.val_pairs)
    faces = trainer.val_set.images.float() / 255
    with torch.inference_mode():
        direct = trainer.net.eval()(faces[a], faces[b])
    torch.testing.assert_close(torch.from_numpy(res["logits"]), direct, rtol=1e-4, atol=1e-5)
    assert res["accuracy"] == float(((direct.softmax(1)[:, 1] >= 0.5).long() == 1 - same).float().mean())


@pytest.mark.parametrize("model", ["classifier", "siamese"])
def test_resume_after_kill_mid_epoch_gives_identical_weights(tmp_path, toy_run, model):
    import shutil

    runs = []
    for name in ("straight", "killed"):
        shutil.copytree(toy_run.data, tmp_path / name / "data")
        runs.append(tmp_path / name)
    kw = dict(model=model, preset="tiny", seed=5, device="cpu", overrides={**QUICK, "limit_train": 64,
                                                                            "train_pairs": 64,
                                                                            "stop_when_perfect": False})
    straight = train(runs[0], **kw)

    def kill(epoch: int, step: int) -> None:
        if epoch == 2 and step == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(runs[1], on_step=kill, **kw)
    assert len((runs[1] / "models" / model / "metrics.jsonl").read_text().splitlines()) == 1
    resumed = train(runs[1], resume=True, **kw)
    final = [torch.load(r / "models" / model / "checkpoint.pt", weights_only=False)["model"] for r in runs]
    for key in final[0]:
        assert torch.equal(final[0][key], final[1][key]), key
    best = [load_file(str(r / "models" / model / "model.safetensors")) for r in runs]
    assert all(torch.equal(best[0][k], best[1][k]) for k in best[0])
    assert straight["test"] == resumed["test"]
    with pytest.raises(LookalikeError, match="other settings"):
        train(runs[1], resume=True, **{**kw, "overrides": {**kw["overrides"], "lr": 0.1}})


def test_cli_train_and_predict(toy_run, capsys, tmp_path, cli_error):
    import shutil

    shutil.copytree(toy_run.data, tmp_path / "run" / "data")
    run = tmp_path / "run"
    assert cli_main(["train", str(run), "--model", "classifier", "--preset", "tiny", "--epochs", "1",
                     "--set", "limit_train=40", "--device", "cpu", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 1 and summary["model"] == "classifier"
    assert json.loads((run / "models/classifier/config.json").read_text())["limit_train"] == 40
    img = sorted((run / "data/faces/person_b").glob("*.png"))[:2]
    assert cli_main(["predict", str(run), *map(str, img), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["predictions"]) == 2
    for row in result["predictions"]:
        assert set(row["probabilities"]) == {"person_a", "person_b"}
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    cli_error(["predict", str(run), str(img[0]), "--model", "siamese"], "exactly two")
    cli_error(["predict", str(run), str(img[0]), str(img[1]), "--model", "siamese"], "lookalike train")
    cli_error(["predict", str(run), str(tmp_path / "missing.png")], "does not exist")


def test_missing_data_and_unknown_models_are_clear(tmp_path):
    import lookalike as lk

    with pytest.raises(LookalikeError, match="lookalike prepare"):
        train(tmp_path / "empty", model="classifier", preset="tiny")
    with pytest.raises(LookalikeError, match="lookalike prepare"):  # the baseline, through the API
        lk.train(tmp_path / "empty", model="embedding", preset="tiny")
    with pytest.raises(LookalikeError, match="choose classifier, siamese or embedding"):
        lk.train(tmp_path / "empty", model="transformer")
    with pytest.raises(LookalikeError, match="lookalike.baseline"):  # the loop trains the two networks only
        train(tmp_path / "empty", model="embedding")


@pytest.mark.slow
def test_siamese_learns_the_synthetic_lookalikes(tmp_path):
    """The demo's own data (`lookalike synth --strength 2`): the tiny preset's Siamese network must tell
    same from different pairs clearly above chance (it sat at 50 % before the identity warm-up)."""
    assert cli_main(["synth", str(tmp_path / "synth"), "--n-per-identity", "200", "--strength", "2"]) == 0
    assert cli_main(["prepare", str(tmp_path / "synth"), "--out", str(tmp_path / "run"), "--aligned"]) == 0
    summary = train(tmp_path / "run", model="siamese", preset="tiny", seed=0, device="cpu",
                    overrides={"epochs": 6, "train_pairs": 600, "input_size": 96})  # 96×96 as in the demo
    assert summary["test_accuracy"] >= 0.75, summary["test"]
    assert summary["test"]["roc_auc"] >= 0.8
