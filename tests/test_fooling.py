"""Fooling stage (§4.2, Table 1): the attack's guarantees, the colour scheme, and the stage end to end.

The networks here are tiny and trained in the test on numpy-made faces whose two
"people" differ only in a planted forehead patch, so the whole file runs in well
under a minute on two cores and we know where the attack *should* push.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lookalike import contract as c
from lookalike.data.dataset import load_split
from lookalike.errors import LookalikeError
from lookalike.fooling.attack import AttackSettings, attack, classifier_forward, siamese_forward, to_float
from lookalike.fooling.pixelmap import (
    COLOURS,
    colourise,
    intensity,
    levels,
    pixel_map,
    reference,
    scale_caption,
)
from lookalike.fooling.stage import FoolSettings, fool, image_id
from lookalike.io import atomic_write_csv, atomic_write_json, load_rgb, read_csv, save_png
from lookalike.models import SiameseNet, VGGClassifier, save_model
from lookalike.runfolder import Run

SIZE = 128
PATCH = (slice(22, 42), slice(40, 88))  # rows, cols of the planted "forehead" difference


def planted_mask() -> np.ndarray:
    m = np.zeros((SIZE, SIZE), dtype=bool)
    m[PATCH] = True
    return m


def make_faces(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """N×128×128×3 uint8 'faces': a skin ellipse with noise and lighting; class 1 has a brighter forehead."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    ellipse = ((yy - 64) / 56.0) ** 2 + ((xx - 64) / 44.0) ** 2 <= 1
    images, labels = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            base = rng.uniform(0.35, 0.55)
            img = np.full((SIZE, SIZE, 3), 0.15) + rng.normal(0, 0.03, (SIZE, SIZE, 3))
            img[ellipse] += np.array([base + 0.1, base, base - 0.05])
            img[PATCH] += 0.12 if label else -0.02
            img[54:62, 40:56] -= 0.25  # eyes, identical for both classes
            img[54:62, 72:88] -= 0.25
            images.append(np.clip(img * 255, 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(images), np.array(labels)


def build_run(root: Path, n_train: int = 24, n_test: int = 8) -> Run:
    """A run folder with data/ laid out as docs/run-folder.md says (no model yet)."""
    run = Run(root)
    names = ["person_a", "person_b"]
    rows = []
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        images, labels = make_faces(n, seed)
        for k, (img, lab) in enumerate(zip(images, labels)):
            path = f"faces/{names[lab]}/{split}{k:03d}.png"
            save_png(run.data / path, img)
            rows.append({"path": path, "identity": names[lab], "label": int(lab), "split": split,
                         "group": f"{split}{k}"})
    atomic_write_csv(run.split_csv, rows, ["path", "identity", "label", "split", "group"])
    atomic_write_json(run.identities_json, names)
    return run


def train_classifier(run: Run, steps: int = 60) -> VGGClassifier:
    torch.manual_seed(0)
    data = load_split(run, "train")
    x, y = data.float(), data.labels
    model = VGGClassifier(width=4, dense=32, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        idx = torch.randperm(len(y))[:16]
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    save_model(run.model("classifier"), "classifier", model)
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Run, VGGClassifier]:
    run = build_run(tmp_path_factory.mktemp("fool") / "run")
    model = train_classifier(run)
    test = load_split(run, "test")
    with torch.no_grad():
        acc = (model(test.float()).argmax(1) == test.labels).float().mean().item()
    assert acc >= 0.9, f"the tiny classifier did not learn the planted patch (test accuracy {acc:.2f})"
    return run, model


# ---------------------------------------------------------------- Table 1 colours

BOUNDARIES = {0: "black", 150: "black", 151: "gray", 180: "gray", 181: "yellow", 200: "yellow",
              201: "orange", 225: "orange", 226: "red", 255: "red"}
RGB = {"black": (0, 0, 0), "gray": (128, 128, 128), "yellow": (255, 255, 0), "orange": (255, 165, 0),
       "red": (255, 0, 0)}


@pytest.mark.parametrize("value,colour", sorted(BOUNDARIES.items()))
def test_table1_colour_at_every_boundary(value: int, colour: str) -> None:
    img = np.zeros((5, 5), dtype=np.uint8)
    img[2, 2] = value
    out = colourise(img, spread=False)
    assert tuple(out[2, 2]) == RGB[colour]
    assert tuple(out[0, 0]) == RGB["black"]


def test_levels_are_monotone_over_all_intensities() -> None:
    lv = levels(np.arange(256))
    assert (np.diff(lv.astype(int)) >= 0).all() and lv[0] == 0 and lv[-1] == 4
    assert [int((lv == k).sum()) for k in range(5)] == [151, 30, 20, 25, 30]


def test_strong_pixels_paint_their_8_neighbours_and_the_stronger_colour_wins() -> None:
    img = np.zeros((7, 9), dtype=np.uint8)
    img[3, 2] = 170  # gray
    img[3, 4] = 240  # red; its neighbourhood overlaps the gray one's in column 3
    img[0, 8] = 150  # black: paints nothing
    out = colourise(img)
    red, gray = COLOURS[4], COLOURS[1]
    assert (out[2:5, 3:6] == red).all()  # red's 3×3, including the shared column 3
    assert (out[2:5, 1:3] == gray).all()  # gray keeps the part red does not reach
    assert (out[:, 6:] == COLOURS[0]).all() and (out[:2] == COLOURS[0]).all() and (out[5:] == COLOURS[0]).all()


def test_intensity_scales_and_is_grey_of_absolute_change() -> None:
    orig = np.full((4, 4, 3), 100, dtype=np.uint8)
    fooled = orig.copy()
    fooled[0, 0] = 100 + 38  # full budget in every channel
    fooled[1, 1] = 100 - 10  # 10/38 of the budget, the other sign: 255·10/38 = 67.1
    fooled[2, 3] = (100, 100, 138)  # blue only: luma weight 0.114 → 29.07
    by_image = intensity(orig, fooled, "image")
    assert by_image[0, 0] == 255 and by_image[1, 1] == 67 and by_image[2, 3] == 29 and by_image[2, 2] == 0
    by_budget = intensity(orig, fooled, "budget", epsilon=57 / 255)  # 255·38/57 = 170, 255·10/57 = 44.7
    assert by_budget[0, 0] == 170 and by_budget[1, 1] == 45
    assert intensity(orig, orig).max() == 0 and pixel_map(orig, orig).max() == 0
    with pytest.raises(ValueError):
        intensity(orig, fooled[:2])
    # what 255 is, for the line under each map
    assert reference(orig, fooled, "image") == pytest.approx(38 / 255)
    assert scale_caption("image", reference(orig, fooled, "image")) == "255 = its largest change, 0.15"
    assert scale_caption("budget", reference(orig, fooled, "budget", 0.15)) == "255 = budget ε = 0.15"


# ---------------------------------------------------------------- attack guarantees


@pytest.mark.parametrize("method", ["gradient", "sign"])
def test_attack_bound_stop_rule_and_saved_confidence(trained, method: str) -> None:
    run, model = trained
    test = load_split(run, "test")
    settings = AttackSettings(epsilon=0.15, confidence=0.9, max_steps=60, step_size=0.01, method=method)
    targets = 1 - test.labels
    res = attack(classifier_forward(model), test.images, targets, settings)
    # bound: integer change of at most floor(0.15·255) = 38 grey levels, and a valid uint8
    change = (res.fooled.int() - test.images.int()).abs()
    assert change.max() <= settings.levels == 38
    assert res.success.float().mean() >= 0.9, f"{method}: only {res.success.float().mean():.0%} fooled"
    # what would be saved is fooled when re-run from uint8 on its own (batch of one)
    with torch.no_grad():
        for k in torch.nonzero(res.success).flatten().tolist():
            p = model(to_float(res.fooled[k:k + 1])).softmax(1)[0, targets[k]].item()
            assert p >= 0.9
    # stop rule: below the confidence at every earlier step, no step (and no score) afterwards
    for k in range(len(targets)):
        s = int(res.steps[k])
        h = res.history[:, k]
        assert int(res.updates[k]) == s
        assert (h[:s] < 0.9).all()
        assert torch.isnan(h[s + 1:]).all()
        assert bool(h[s] >= 0.9) == bool(res.success[k])


def test_attack_stops_at_minimal_step_count(trained) -> None:
    """Rerunning with one step fewer leaves every fooled image below the confidence."""
    run, model = trained
    test = load_split(run, "test")
    settings = AttackSettings(max_steps=60)
    res = attack(classifier_forward(model), test.images, 1 - test.labels, settings)
    fooled = [k for k in range(len(test)) if res.success[k] and res.steps[k] > 0]
    assert fooled
    for k in fooled[:4]:
        short = AttackSettings(max_steps=int(res.steps[k]) - 1)
        again = attack(classifier_forward(model), test.images[k:k + 1], (1 - test.labels)[k:k + 1], short)
        assert not bool(again.success[0])


def test_sign_method_matches_captum_pgd(trained) -> None:
    """Without stopping, our sign steps are captum's targeted L∞ PGD (a maintained implementation).

    Pixels whose gradient is ~0 can take either sign under float round-off, so trajectories drift apart
    slowly: one step agrees almost everywhere, three steps reach the same target probabilities.
    """
    from captum.robust import PGD

    run, model = trained
    test = load_split(run, "test")
    x, targets = test.images[:4], 1 - test.labels[:4]
    eps, alpha = 20 / 255, 2 / 255
    pgd = PGD(model, loss_func=torch.nn.CrossEntropyLoss(reduction="none"), lower_bound=0.0, upper_bound=1.0)
    for n, min_agree in ((1, 0.995), (3, 0.8)):
        ours = attack(classifier_forward(model), x, targets,
                      AttackSettings(epsilon=eps, confidence=0.999999, max_steps=n, step_size=alpha,
                                     method="sign"))
        with pytest.warns(UserWarning, match="require gradients"):
            theirs = pgd.perturb(to_float(x), radius=eps, step_size=alpha, step_num=n, target=targets,
                                 targeted=True)
        theirs_u8 = torch.round(theirs * 255).to(torch.uint8)
        assert (ours.steps == n).all() and (ours.updates == n).all()
        agree = (ours.fooled == theirs_u8).float().mean().item()
        assert agree >= min_agree, f"{n} steps: only {agree:.4%} of pixels agree with captum's PGD"
        with torch.no_grad():
            p_theirs = model(to_float(theirs_u8)).softmax(1).gather(1, targets[:, None]).squeeze(1)
        assert torch.allclose(ours.p_end, p_theirs, atol=0.01)
        assert (ours.p_end > ours.p_start + 0.05).all()  # the steps really move towards the target


def test_attack_rejects_bad_settings(trained) -> None:
    _, model = trained
    x = torch.zeros(1, 3, SIZE, SIZE, dtype=torch.uint8)
    for bad in (dict(epsilon=0.0), dict(epsilon=0.001), dict(confidence=1.0), dict(step_size=0.0),
                dict(method="magic"), dict(max_steps=-1)):
        with pytest.raises(ValueError):
            attack(classifier_forward(model), x, torch.tensor([1]), AttackSettings(**bad))
    with pytest.raises(ValueError):
        attack(classifier_forward(model), x.float(), torch.tensor([1]), AttackSettings())


def test_siamese_attack_flips_same_and_different() -> None:
    torch.manual_seed(0)
    model = SiameseNet(width=4, hidden=16, dropout=0.0).eval()
    a, _ = make_faces(2, seed=5)
    a_t = torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()
    partners, perturbed = a_t[[0, 0, 2, 2]], a_t[[1, 2, 3, 0]]
    with torch.no_grad():
        start = model(to_float(partners), to_float(perturbed)).argmax(1)
    targets = 1 - start  # whatever it says now, make it say the other thing
    # an untrained head saturates early, so ask for less than 0.9: this checks the wiring, not the strength
    res = attack(siamese_forward(model, partners), perturbed, targets,
                 AttackSettings(confidence=0.6, max_steps=30, step_size=0.02))
    assert (res.fooled.int() - perturbed.int()).abs().max() <= 38
    with torch.no_grad():
        p = model(to_float(partners), to_float(res.fooled)).softmax(1).gather(1, targets[:, None]).squeeze(1)
    assert torch.equal(p >= 0.6, res.success)
    assert res.success.any() and (res.p_end > res.p_start).all()


# ---------------------------------------------------------------- the stage


def test_fool_stage_writes_contract_files_and_resumes(trained, tmp_path) -> None:
    run, model = trained
    settings = FoolSettings(n=8, max_steps=60, batch_size=3)
    summary = fool(run, settings)
    out = run.fooling
    rows = read_csv(out / "results.csv")
    assert len(rows) == 8 and summary["n"] == 8
    assert summary["success_rate"] == sum(int(r["success"]) for r in rows) / 8 >= 0.75
    test = load_split(run, "test")
    by_path = {p: k for k, p in enumerate(test.paths)}
    for r in rows:
        assert (out / "panels" / f"{r['id']}.png").exists()
        fooled = load_rgb(out / "fooled" / f"{r['id']}.png")
        orig = test.images[by_path[r["path"]]].permute(1, 2, 0).numpy()
        assert np.abs(fooled.astype(int) - orig.astype(int)).max() <= 38
        assert r["target"] != r["source"]
        if int(r["success"]):
            x = torch.from_numpy(fooled).permute(2, 0, 1)[None]
            with torch.no_grad():
                p = model(to_float(x)).softmax(1)[0, test.identities.index(r["target"])].item()
            assert p >= 0.9 and abs(p - float(r["p_target_saved"])) < 1e-4
    agg = np.load(out / "aggregate.npy")
    assert agg.shape == (SIZE, SIZE) and agg.dtype == np.float32 and agg.max() <= 0.15 + 1e-6
    for name in ("grid.png", "grid_budget.png", "aggregate.png", "summary.json", "config.json"):
        assert (out / name).exists()
    saved = c.FOOLING_SUMMARY.read_at(out / "summary.json")
    assert saved.map_scale == "image" and saved.grids == {"image": "grid.png", "budget": "grid_budget.png"}
    assert saved.steps.max <= 60
    # a second run with the same settings and more images attacks only the new ones
    before = {r["id"]: r for r in rows}
    stamps = {i: (out / "fooled" / f"{i}.png").stat().st_mtime_ns for i in before}
    again = fool(run, FoolSettings(n=12, max_steps=60, batch_size=3))
    rows2 = {r["id"]: r for r in read_csv(out / "results.csv")}
    assert len(rows2) == 12 and again["n"] == 12
    assert all(rows2[i] == before[i] for i in before)
    assert all((out / "fooled" / f"{i}.png").stat().st_mtime_ns == t for i, t in stamps.items())


def test_cli_fool_prints_the_summary(trained, capsys) -> None:
    from lookalike.cli import main

    run, _ = trained
    assert main(["fool", str(run.root), "--n", "2", "--max-steps", "5", "--batch-size", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 2 and summary["settings"]["max_steps"] == 5
    assert summary["steps"]["max"] is None or summary["steps"]["max"] <= 5
    assert len(read_csv(run.fooling / "results.csv")) == 2  # other settings: started over, not mixed


def test_aggregate_change_concentrates_in_planted_region(trained) -> None:
    run, _ = trained
    summary = fool(run, FoolSettings(n=16, max_steps=60, batch_size=8))
    agg = np.load(run.fooling / "aggregate.npy")
    mask = planted_mask()
    inside, outside = agg[mask].mean(), agg[~mask].mean()
    assert summary["n_in_aggregate"] >= 8
    assert inside > 2 * outside, f"mean change inside the planted patch {inside:.4f}, outside {outside:.4f}"


def test_siamese_stage_perturbs_the_second_image_of_each_pair(trained) -> None:
    """Wiring of `--model siamese`: own folder, pairs of both kinds, partner untouched, bound kept."""
    run, _ = trained
    torch.manual_seed(1)
    save_model(run.model("siamese"), "siamese", SiameseNet(width=4, hidden=16, dropout=0.0).eval())
    # an untrained network cannot be pushed to 0.9; 0.6 exercises the same code paths
    summary = fool(run, FoolSettings(model="siamese", n=4, confidence=0.6, max_steps=8, batch_size=4))
    out = run.fooling / "siamese"
    rows = read_csv(out / "results.csv")
    assert summary["n"] == 4 and len(rows) == 4
    assert {r["source"] for r in rows} == {"same", "different"}
    assert all(r["target"] != r["source"] and r["partner"] for r in rows)
    for r in rows:
        fooled = load_rgb(out / "fooled" / f"{r['id']}.png").astype(int)
        assert np.abs(fooled - load_rgb(run.data / r["path"]).astype(int)).max() <= 38
        assert (out / "panels" / f"{r['id']}.png").exists()
    assert (out / "aggregate.npy").exists() and (out / "summary.json").exists()


def test_image_ids_and_clear_errors(tmp_path) -> None:
    assert image_id("faces/person_a/img 1.png") == "person_a__img 1"
    run = build_run(tmp_path / "empty", n_train=2, n_test=2)
    with pytest.raises(LookalikeError, match="lookalike train"):
        fool(run, FoolSettings(n=2))
    with pytest.raises(LookalikeError, match="--n"):
        fool(run, FoolSettings(n=0))
    with pytest.raises(LookalikeError, match="epsilon"):
        fool(run, FoolSettings(epsilon=2.0))

