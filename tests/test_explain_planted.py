"""End to end on faces with planted differences: the trusted maps find the planted regions, the hint names them.

The two people differ only in the forehead and the cheekbones (a fine texture
for person B); pose, lighting and per-region shading vary for both. A small
classifier is trained here (seconds) and explained through the CLI. The region
test must find that the network needs the planted features and nothing else;
every map trusted for the hint (passed the randomisation check and its top
feature is one the network needs) must rank a planted feature first; the maps
that pass randomisation but point elsewhere (guided backpropagation on the
eyes for some seeds) must be caught; and the hint must name planted features only.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from lookalike import contract as c
from lookalike.cli import main
from lookalike.data.dataset import load_split
from lookalike.fakerun import make_fake_run
from lookalike.io import read_csv, read_json
from lookalike.models import VGGClassifier, save_model

PLANTED_FEATURES = {"forehead", "cheekbones"}


# tiny networks run fastest on one thread (and do not fight other tests for the cores)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _accuracy(net, faces) -> float:
    net.eval()
    with torch.no_grad():
        return float((net(faces.float()).argmax(1) == faces.labels).float().mean())


def _train_classifier(run, max_epochs: int = 24, seed: int = 0) -> float:
    """A few seconds of Adam until the training faces are learnt (tiny deep nets start slowly)."""
    train, test = load_split(run, "train"), load_split(run, "test")
    x, y = train.float(), train.labels
    torch.manual_seed(seed)
    net = VGGClassifier(width=4, dense=32, dropout=0.0)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for epoch in range(max_epochs):
        net.train()
        perm = torch.randperm(len(x))
        for s in range(0, len(x), 8):
            idx = perm[s:s + 8]
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
        if epoch >= 5 and epoch % 2 == 1 and _accuracy(net, train) >= 0.97:
            break
    net.eval()
    with torch.no_grad():
        acc = float((net(test.float()).argmax(1) == test.labels).float().mean())
    save_model(run.model("classifier"), "classifier", net)
    return acc


# Seeds 1-3 fail on main's hint rules, deterministically on 2-core CPUs with torch 2.13 (the same numbers before
# and after the laptop recipes landed): their small networks really use the jaw or the nose too (the region test
# says so, with intervals above 0), seed 2's network stops at 83 % test accuracy, and the hint names what the region
# test needs. Issue 14 (a hint that rests on the region test's ranking, with its planted-worlds benchmark)
# replaces this test; until it lands these three are expected failures (strict: one that passes fails the suite).
ISSUE_14 = pytest.mark.xfail(strict=True, reason="issue 14: the hint on these planted worlds names non-planted "
                                                  "features the small network uses")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=ISSUE_14), pytest.param(2, marks=ISSUE_14),
                                  pytest.param(3, marks=ISSUE_14)])
def test_planted_regions_rank_first_for_trusted_methods_and_the_hint_names_them(tmp_path, capsys, seed):
    run = make_fake_run(tmp_path / "run", 40, seed=seed)
    acc = _train_classifier(run, seed=seed)
    assert acc >= 0.85, f"the test network did not learn the planted difference (accuracy {acc:.2f})"

    assert main(["explain", str(run.root), "--model", "classifier", "--methods", "grad_cam", "guided_grad_cam",
                 "guided_backprop", "--n", "8", "--sanity-n", "4", "--cascade-steps", "2",
                 "--faithfulness-steps", "8", "--json"]) == 0
    explain = json.loads(capsys.readouterr().out)
    sanity = read_json(run.explain / "sanity.json")
    passed = sanity["passed"]
    assert passed, f"no method passed the sanity check: {sanity['failed']}"
    for name in ("grad_cam", "guided_grad_cam", "guided_backprop"):
        assert (run.explain / "maps" / f"classifier-{name}.npz").exists()
        assert (run.explain / f"figure7_classifier-{name}.png").stat().st_size > 5000
    assert set(explain["trusted_methods"]) == set(passed)
    assert (run.explain / "sanity.png").exists() and (run.explain / "faithfulness.png").exists()

    # the region test (cover each feature with the mean face) finds what the network needs: planted features only
    test = read_json(run.explain / "region_test.json")["networks"]["classifier"]
    assert test["needed"] and set(test["needed"]) <= PLANTED_FEATURES, test
    assert (run.explain / "region_test.png").stat().st_size > 5000

    assert main(["regions", str(run.root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    features = read_csv(run.regions / "features.csv")
    used = summary["evidence"]["sources_used"]
    assert used and set(used) <= set(passed) | {"region-test"}  # region-test: every map misled, the test speaks
    for source in passed:
        ranked = [r["feature"] for r in sorted((r for r in features if r["source"] == source),
                                                key=lambda r: int(r["rank"]))]
        if source in used:  # trusted: passed the randomisation check and agrees with the region test
            assert ranked[0] in PLANTED_FEATURES, (source, ranked)
        else:  # a map that passed randomisation but points where the network does not look is caught
            assert ranked[0] not in test["needed"], (source, ranked)
            assert "region test" in summary["evidence"]["sources_left_out"][source]
    assert summary["look_at"] and set(summary["look_at"]) <= PLANTED_FEATURES, summary["hint"]
    assert not set(summary["less"]) & PLANTED_FEATURES
    hint_text = (run.regions / "hint.txt").read_text()
    assert all(f in hint_text for f in summary["look_at"])

    # a rerun reuses the finished maps and checks instead of recomputing them
    before = (run.explain / "maps" / "classifier-grad_cam.npz").stat().st_mtime_ns
    assert main(["explain", str(run.root), "--model", "classifier", "--methods", "grad_cam", "--n", "8",
                 "--sanity-n", "4", "--cascade-steps", "2", "--faithfulness-steps", "8", "--json"]) == 0
    capsys.readouterr()
    assert (run.explain / "maps" / "classifier-grad_cam.npz").stat().st_mtime_ns == before


def test_explain_says_what_to_run_first(tmp_path, cli_error):
    run = make_fake_run(tmp_path / "run", 3)
    cli_error(["explain", str(run.root), "--model", "siamese"], "lookalike train")
    cli_error(["explain", str(run.root), "--methods", "magic"], "unknown method")
    cli_error(["explain", str(tmp_path / "nothing")], "prepare")


def test_explaining_one_network_keeps_the_other_networks_checks(tmp_path):
    """`explain --model siamese` then `--model classifier`: the second call must not drop the first's results."""
    from lookalike.models import SiameseNet

    run = make_fake_run(tmp_path / "run", 12, seed=0)
    torch.manual_seed(0)
    save_model(run.model("classifier"), "classifier", VGGClassifier(width=2, dense=8))
    save_model(run.model("siamese"), "siamese", SiameseNet(width=2, hidden=8))
    opts = ["--methods", "grad_cam", "--n", "2", "--sanity-n", "1", "--cascade-steps", "1",
            "--faithfulness-steps", "2", "--region-n", "4"]
    assert main(["explain", str(run.root), "--model", "siamese", *opts]) == 0
    assert main(["explain", str(run.root), "--model", "classifier", *opts]) == 0
    sanity = c.SANITY.read(run).methods
    assert set(sanity) == {"siamese-grad_cam", "classifier-grad_cam"}
    assert set(c.FAITHFULNESS.read(run).methods) == set(sanity)
    assert set(c.REGION_TEST.read(run).networks) == {"siamese", "classifier"}
    summary = c.EXPLAIN_SUMMARY.read(run)
    assert set(summary["trusted_methods"]) | set(summary["failed_methods"]) == set(sanity)
