"""What the laptop recipes add to the paper's (issue 13): augmentation, in-batch pairs, the identity loss,
precision; each is checked for what it does, not for how accurate it makes a network."""

from __future__ import annotations

import pytest
import torch

from lookalike.errors import LookalikeError
from lookalike.models.layers import count_weight_layers
from lookalike.models.registry import build_model
from lookalike.runtime import training_precision
from lookalike.training.augment import augment, random_erase
from lookalike.training.presets import make_config


def test_random_erasing_hides_one_rectangle_in_about_p_of_the_faces():
    images = torch.full((400, 3, 32, 32), 0.5)
    out = random_erase(images, 0.5, torch.Generator().manual_seed(0))
    changed = (out != images).any(dim=1)  # N×H×W
    hit = changed.flatten(1).any(dim=1)
    assert 0.4 < hit.float().mean() < 0.6
    for mask in changed[hit][:20]:  # each hit is one axis-aligned rectangle of 2–25 % of the face
        rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert mask.sum() >= 0.9 * box and box <= 0.3 * 32 * 32
    again = random_erase(images, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert torch.equal(random_erase(images, 0.0, torch.Generator().manual_seed(0)), images)


def test_augment_draws_the_erase_stream_only_when_asked():
    """Recipes without erasing keep their random stream (and so their results) as before."""
    x = torch.rand(4, 3, 64, 64)
    plain = torch.Generator().manual_seed(1)
    augment(x, make_config("fast", {"erase": 0.0}), plain)
    reference = torch.Generator().manual_seed(1)
    torch.rand(4, 8, generator=reference)  # the eight draws per image every recipe makes
    assert torch.equal(plain.get_state(), reference.get_state())
    erasing = torch.Generator().manual_seed(1)
    augment(x, make_config("fast", {"erase": 0.5}), erasing)
    assert not torch.equal(erasing.get_state(), reference.get_state())


@pytest.mark.parametrize("preset", ["paper", "fast", "tiny"])
def test_every_preset_keeps_the_papers_topology(preset):
    cfg = make_config(preset, {"width": 4, "dense": 8, "hidden": 8})
    assert count_weight_layers(build_model("classifier", **cfg.arch("classifier"))) == 21
    sia = build_model("siamese", **cfg.arch("siamese"))
    assert sum(isinstance(m, torch.nn.Conv2d) for m in sia.features.modules()) == 10


def test_paper_preset_keeps_the_papers_layer_order_and_laptop_presets_lift_the_confidence_cap():
    paper = make_config("paper")
    assert paper.logit_bn and not paper.conv_bn and paper.input_size == 0 and not paper.calibrate
    assert paper.pairs == "drawn" and paper.identity_floor == 0 and paper.erase == 0
    fast, tiny = make_config("fast"), make_config("tiny")
    assert not fast.logit_bn and fast.calibrate  # nothing caps how sure the network can be
    # tiny keeps the logits' batch norm (it learns the demo's faces only with it); its temperature lifts the cap
    assert tiny.logit_bn and tiny.calibrate


def test_precision_setting_resolves_per_device(monkeypatch):
    assert training_precision("fp32", "cuda") == "fp32" and training_precision("bf16", "cpu") == "bf16"
    assert training_precision("auto", "cuda") == "bf16"
    import lookalike.runtime as rt

    monkeypatch.setattr(rt, "cpu_has_bf16", lambda: False)
    assert rt.training_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(rt, "cpu_has_bf16", lambda: True)
    assert rt.training_precision("auto", "cpu") == "bf16"
    with pytest.raises(LookalikeError, match="precision"):
        make_config("fast", {"precision": "fp8"})


def test_bf16_counts_only_when_the_cpu_computes_it_natively(monkeypatch):
    """oneDNN reports bf16 on any AVX-512 CPU and emulates it there, slower than fp32: auto must not pick it."""
    import torch

    import lookalike.runtime as rt

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert not rt.cpu_has_bf16() and rt.training_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert rt.cpu_has_bf16() and rt.training_precision("auto", "cpu") == "bf16"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    from lookalike.fakerun import make_fake_run

    return make_fake_run(tmp_path_factory.mktemp("toy") / "run", 40, faces="cheeks", seed=1, contrast=100.0)


def test_identity_floor_keeps_the_identity_loss_after_the_warmup(toy_run):
    from lookalike.training.loop import Trainer

    quick = {"epochs": 2, "val_pairs": 20, "test_pairs": 20}
    t = Trainer(toy_run, "siamese", make_config("tiny", {**quick, "identity_warmup": 0.5, "identity_floor": 0.25}),
                0, "cpu")
    assert t.identity_weight(1, 0) == 1.0 and t.identity_weight(2, 0) == pytest.approx(0.25)
    assert t.identity_weight(2, t.steps - 1) == pytest.approx(0.25)
    only = Trainer(toy_run, "siamese", make_config("tiny", {**quick, "identity_warmup": 0, "identity_floor": 0.4}),
                   0, "cpu")
    assert only.probe is not None and only.identity_weight(1, 0) == pytest.approx(0.4)


def test_in_batch_pairs_compare_every_face_of_a_batch_with_every_other(toy_run):
    from lookalike.training.loop import Trainer

    cfg = make_config("tiny", {"epochs": 1, "val_pairs": 20, "test_pairs": 20, "pairs": "batch",
                               "batch_size": 8})
    t = Trainer(toy_run, "siamese", cfg, 0, "cpu")
    assert t.steps == len(t.train_set) // 8  # one step per 8 faces, not per 8 pairs
    idx = torch.arange(8)
    out = t.batch_pairs_step(idx, torch.Generator().manual_seed(0), 0.0)
    labels = t.train_set.labels[idx]
    i, j = torch.triu_indices(8, 8, offset=1)
    assert len(out.y) == 28 and out.images == 8
    assert torch.equal(out.y, (labels[i] != labels[j]).long())  # class 1 = different
    record = t.train_epoch(1, None)
    assert record["train_images"] == t.steps * 8 and 0 <= record["train_accuracy"] <= 1


def test_mixup_blends_each_face_with_a_partner_of_the_same_batch(toy_run):
    from lookalike.training.loop import Trainer

    quick = {"epochs": 1, "val_pairs": 20, "test_pairs": 20, "batch_size": 8}
    t = Trainer(toy_run, "classifier", make_config("tiny", {**quick, "mixup": 0.4}), 0, "cpu")
    lam, partner = t._mixup(8, torch.Generator().manual_seed(3))
    assert 0 < lam < 1 and sorted(partner.tolist()) == list(range(8))
    again = t._mixup(8, torch.Generator().manual_seed(3))
    assert again[0] == lam and torch.equal(again[1], partner)  # replays on resume
    out = t.classifier_step(torch.arange(8), torch.Generator().manual_seed(0), 0.0)
    assert torch.isfinite(out.loss) and out.logits.shape == (8, 2)
    plain = Trainer(toy_run, "classifier", make_config("tiny", quick), 0, "cpu")
    assert plain._mixup(8, torch.Generator()) is None


def test_each_network_has_its_own_working_resolution():
    fast = make_config("fast")
    assert fast.arch("classifier")["input_size"] == 64 and fast.arch("siamese")["input_size"] == 112
    follow = make_config("fast", {"siamese_input_size": "-1", "input_size": "96"})
    assert follow.arch("siamese")["input_size"] == follow.arch("classifier")["input_size"] == 96
    assert make_config("paper").arch("siamese")["input_size"] == 0
    with pytest.raises(LookalikeError, match="at least 32"):
        make_config("fast", {"input_size": "16"})


def test_a_preset_may_give_one_network_its_own_settings_and_flags_still_win():
    """fast: the classifier trains at batch 16 for 60 epochs; the Siamese network keeps batch 32 (496 pairs)."""
    classifier, siamese = make_config("fast", model="classifier"), make_config("fast", model="siamese")
    assert (classifier.batch_size, classifier.epochs) == (16, 60)
    assert (siamese.batch_size, siamese.epochs) == (32, 40)
    assert make_config("fast", {"batch_size": "24"}, model="classifier").batch_size == 24
    assert make_config("paper", model="classifier") == make_config("paper")


def test_training_stops_once_validation_is_perfect_and_keeps_the_same_network(toy_run, monkeypatch):
    """The kept network is the first epoch with the best validation accuracy, so the epochs after 100 % are
    skipped; training them anyway ends with byte-identical weights and test scores."""
    from lookalike.training.loop import Trainer, train

    def validate(trainer):  # validation accuracy by epoch: 100 % first at epoch 2
        trainer.epochs_validated = getattr(trainer, "epochs_validated", 0) + 1
        return {"val_loss": 0.1, "val_accuracy": 0.5 if trainer.epochs_validated == 1 else 1.0}

    monkeypatch.setattr(Trainer, "_validate", validate)
    out = toy_run.root / "models" / "classifier"
    quick = {"epochs": 3, "input_size": 32, "val_pairs": 20, "test_pairs": 20}
    full = train(toy_run, "classifier", "tiny", {**quick, "stop_when_perfect": False}, seed=0, device="cpu")
    weights = (out / "model.safetensors").read_bytes()
    assert (full["best_epoch"], full["epochs_run"]) == (2, 3)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
    stopped = train(toy_run, "classifier", "tiny", quick, seed=0, device="cpu")
    assert (stopped["best_epoch"], stopped["epochs_run"], stopped["epochs"]) == (2, 2, 3)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert (out / "model.safetensors").read_bytes() == weights and stopped["test"] == full["test"]
