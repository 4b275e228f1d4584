"""Cascading randomisation flags a method that ignores the network; faithfulness curves rank maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lookalike.explain.faithfulness import area, blur, curves, summarise
from lookalike.explain.methods import METHODS, Method
from lookalike.explain.sanity import (
    SANITY_THRESHOLD,
    cascade_depths,
    finding,
    sanity_check,
    spearman_rows,
    ssim_rows,
    weight_layers,
)
from lookalike.models import SiameseNet, VGGClassifier

# tiny networks run fastest on one thread (and do not fight other tests for the cores)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def edge_detector(model, inputs, target):
    """Sobel edge magnitude of the input: looks like a saliency map, never asks the network."""
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)
    out = []
    for x in inputs:
        grey = x.mean(1, keepdim=True)
        out.append(torch.hypot(F.conv2d(grey, kx, padding=1), F.conv2d(grey, kx.transpose(2, 3), padding=1)))
    return tuple(out)


EDGES = Method("edges", "Sobel edges", edge_detector, "abs", "an edge detector posing as a method")


def gradient(model, inputs, target):
    """The plain gradient of the class score (Captum Saliency without absolute values)."""
    from captum.attr import Saliency

    return tuple(Saliency(model).attribute(tuple(x.clone().requires_grad_(True) for x in inputs), target=target,
                                           abs=False))


GRADIENT = Method("gradient", "Gradient", gradient, "abs", "the gradient of the class score")


def _trained_on_a_patch(steps: int = 60) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small VGG whose weights matter: trained until the brightness of one patch decides the class."""
    g = torch.Generator().manual_seed(0)
    x = blur(torch.rand(64, 3, 128, 128, generator=g), 2.0)
    y = torch.arange(64) % 2
    x[y == 1, :, 40:72, 40:72] += 0.35
    x = x.clamp(0, 1)
    torch.manual_seed(0)
    net = VGGClassifier(width=4, dense=16, dropout=0.0)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    for _ in range(steps):
        idx = torch.randperm(64, generator=g)[:16]
        net.train()
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = float((net(x).argmax(1) == y).float().mean())
    assert accuracy > 0.9, f"the stand-in network did not learn its patch ({accuracy:.2f})"
    return net, x[:3], y[:3]


def _faces(n: int = 3) -> torch.Tensor:
    """Smooth blobs with sharp-edged squares: images with structure an edge detector latches onto."""
    g = torch.Generator().manual_seed(0)
    x = blur(torch.rand(n, 3, 128, 128, generator=g), 4.0)
    x[:, :, 40:70, 30:60] += 0.4
    return x.clamp(0, 1)


@pytest.mark.parametrize("kind", ["classifier", "siamese"])
def test_randomisation_flags_an_edge_detector_but_not_grad_cam(kind):
    torch.manual_seed(0)
    net = VGGClassifier(width=2, dense=8).eval() if kind == "classifier" else SiameseNet(width=2, hidden=8).eval()
    x = _faces()
    inputs = (x,) if kind == "classifier" else (x, x.flip(0))
    target = torch.tensor([0, 1, 0])
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fake = sanity_check(net, EDGES, inputs, target, steps=2)
    assert fake["passed"] is False
    assert fake["final_spearman"] > 0.99  # it did not change at all
    real = sanity_check(net, METHODS["grad_cam"], inputs, target, steps=2)
    assert real["passed"] is True and real["final_spearman"] < SANITY_THRESHOLD
    assert real["cascade"][-1]["layers_randomised"] == len(weight_layers(net))
    for k, v in net.state_dict().items():  # the caller's network is left alone
        torch.testing.assert_close(v, before[k])


def test_every_layer_randomised_fails_an_edge_detector_and_passes_the_gradient_of_a_trained_network():
    """Adebayo et al.: cascading and independent randomisation through every weight layer, three measures."""
    net, x, y = _trained_on_a_patch()
    layers = weight_layers(net)
    fake = sanity_check(net, EDGES, (x,), y)
    assert fake["passed"] is False and fake["every_layer"]
    assert len(fake["cascade"]) == len(fake["independent"]) == len(layers) == 21
    assert [c["layers_randomised"] for c in fake["cascade"]] == list(range(1, 22))
    assert {c["layer"] for c in fake["independent"]} == {name for name, _ in layers}
    for point in fake["cascade"] + fake["independent"]:  # the input alone decides: nothing moves
        assert point["spearman_mean"] > 0.99 and point["spearman_signed_mean"] > 0.99 and point["ssim_mean"] > 0.99
    real = sanity_check(net, GRADIENT, (x,), y)
    assert real["passed"] is True and real["final_spearman"] < SANITY_THRESHOLD
    assert real["final_ssim"] < fake["final_ssim"] and real["final_spearman_signed"] < 0.5
    # randomising the output layer alone already changes the gradient's signed map
    assert real["independent"][0]["layer"] == layers[0][0]
    assert real["independent"][0]["spearman_signed_mean"] < 0.99
    assert "passes" in finding("gradient", real) and "FAILS" in finding("edges", fake)


def test_spearman_rows_and_cascade_depths():
    a = np.random.default_rng(0).random((2, 16, 16))
    np.testing.assert_allclose(spearman_rows(a, a * 5 + 1), 1.0)
    np.testing.assert_allclose(spearman_rows(a, -a), -1.0)
    assert spearman_rows(a, np.zeros_like(a)).tolist() == [0.0, 0.0]  # nothing left to rank
    assert cascade_depths(21, 4) == [1, 8, 14, 21]
    assert cascade_depths(3, 10) == [1, 2, 3]
    assert cascade_depths(21, 1) == [21]
    assert cascade_depths(5) == cascade_depths(5, 0) == [1, 2, 3, 4, 5]  # every layer
    b = np.random.default_rng(1).random((2, 16, 16))
    assert ssim_rows(a, a * 5 + 1) == pytest.approx([1.0, 1.0])  # scaled to [0, 1] first
    assert (ssim_rows(a, b) < 0.5).all()


class PatchModel(nn.Module):
    """Class 1 is the brightness of a textured patch: only pixels in rows/cols 40–72 matter."""

    def forward(self, x):
        s = (x[:, :, 40:72, 40:72] - 0.5).abs().mean((1, 2, 3)) * 20
        return torch.stack([-s, s], 1)


def test_deletion_and_insertion_reward_a_map_that_points_at_the_evidence():
    g = torch.Generator().manual_seed(1)
    x = torch.full((4, 3, 128, 128), 0.5)
    x[:, :, 40:72, 40:72] = torch.rand(4, 3, 32, 32, generator=g)  # texture: blurring removes it
    target = torch.ones(4, dtype=torch.long)
    oracle = torch.zeros(4, 128, 128)
    oracle[:, 40:72, 40:72] = 1.0
    wrong = 1.0 - oracle
    model = PatchModel()
    rnd = curves(model, (x,), target, None, steps=8)
    good = summarise(curves(model, (x,), target, (oracle,), steps=8), rnd)
    bad = summarise(curves(model, (x,), target, (wrong,), steps=8), rnd)
    assert good["deletion_auc"] < good["random_deletion_auc"] < bad["deletion_auc"]
    assert good["insertion_auc"] > good["random_insertion_auc"] > bad["insertion_auc"]
    assert good["beats_random"] and not bad["beats_random"]
    assert len(good["deletion_curve"]) == 9
    assert area(np.ones((1, 5)))[0] == pytest.approx(1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: the faithfulness curves' GPU path")
def test_faithfulness_curves_rank_maps_that_live_on_the_gpu():
    """On CUDA the inputs and maps are on the GPU; ranking their pixels once mixed in a CPU tensor and
    `lookalike explain --device cuda` stopped there."""
    x = torch.full((2, 3, 128, 128), 0.5, device="cuda")
    x[:, :, 40:72, 40:72] = torch.rand(2, 3, 32, 32, device="cuda")
    oracle = torch.zeros(2, 128, 128, device="cuda")
    oracle[:, 40:72, 40:72] = 1.0
    target = torch.ones(2, dtype=torch.long, device="cuda")
    rnd = curves(PatchModel(), (x,), target, None, steps=4)
    good = summarise(curves(PatchModel(), (x,), target, (oracle,), steps=4), rnd)
    assert good["beats_random"]
