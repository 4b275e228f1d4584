"""The paper's two architectures (§4.1, §4.3) and the Siamese loss L = L+ + L−."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lookalike.errors import LookalikeError
from lookalike.models import SiameseNet, VGGClassifier, load_model, save_model, siamese_loss
from lookalike.models.layers import count_weight_layers, last_conv


def test_classifier_has_21_weight_layers_18_convs_and_3_dense():
    net = VGGClassifier(width=4, dense=16)
    assert count_weight_layers(net) == 21
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 18
    assert sum(isinstance(m, nn.Linear) for m in net.modules()) == 3
    assert all(m.kernel_size == (3, 3) for m in net.modules() if isinstance(m, nn.Conv2d))
    assert sum(isinstance(m, nn.MaxPool2d) for m in net.modules()) == 5
    assert sum(isinstance(m, nn.BatchNorm1d) for m in net.modules()) == 3  # "batch normalisation thrice"


def test_paper_widths_are_vgg_widths():
    net = VGGClassifier()  # paper preset widths
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].out_channels == 64 and convs[-1].out_channels == 512
    assert net.head[1].out_features == 4096


def test_siamese_branch_has_10_convolutions_2_of_64_then_8_of_128():
    net = SiameseNet()
    convs = [m for m in net.features.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64] + [128] * 8
    assert sum(isinstance(m, nn.Linear) for m in net.head.modules()) == 2  # two fully connected layers
    assert last_conv(net) is convs[-1]


def test_output_shapes_and_probabilities():
    torch.manual_seed(0)
    x = torch.rand(3, 3, 128, 128)
    cls = VGGClassifier(width=4, dense=16).eval()
    assert cls(x).shape == (3, 2)
    sia = SiameseNet(width=4, hidden=8).eval()
    out = sia(x, x.flip(0))
    assert out.shape == (3, 2)
    assert sia.embed(x).shape == (3, 8)  # 2w features after average pooling
    # joined symmetrically: the order of the two images does not matter
    torch.testing.assert_close(sia(x, x.flip(0)), sia(x.flip(0), x))


def test_siamese_returns_its_embeddings_on_request():
    torch.manual_seed(1)
    sia = SiameseNet(width=4, hidden=8).eval()
    x = torch.rand(4, 3, 128, 128)
    logits, fa, fb = sia(x, x.roll(1, 0), with_embeddings=True)
    torch.testing.assert_close(logits, sia(x, x.roll(1, 0)))
    assert fa.shape == fb.shape == (4, sia.embedding_size) and not torch.equal(fa, fb)


def test_loss_is_positive_part_plus_negative_part_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 3.0], [0.5, -0.5]])
    same = torch.tensor([1, 1, 0, 0, 0])

    def log_softmax(row: list[float], k: int) -> float:
        return row[k] - math.log(sum(math.exp(v) for v in row))

    rows = logits.tolist()
    l_pos = -(log_softmax(rows[0], 0) + log_softmax(rows[1], 0)) / 2  # "same" is class 0
    l_neg = -(log_softmax(rows[2], 1) + log_softmax(rows[3], 1) + log_softmax(rows[4], 1)) / 3
    assert siamese_loss(logits, same).item() == pytest.approx(l_pos + l_neg, rel=1e-6)
    # differs from plain BCE over the whole batch (which weights by counts, not by group)
    plain = torch.nn.functional.cross_entropy(logits, 1 - same).item()
    assert abs(plain - (l_pos + l_neg)) > 0.1
    # a batch of one kind only contributes that kind's term
    assert siamese_loss(logits[:2], same[:2]).item() == pytest.approx(l_pos, rel=1e-6)


def test_save_and_load_round_trip(tmp_path):
    net = VGGClassifier(width=4, dense=16).eval()
    save_model(tmp_path, "classifier", net, extra={"identities": ["a", "b"]})
    again = load_model(tmp_path)
    x = torch.rand(2, 3, 128, 128)
    torch.testing.assert_close(net(x), again(x))
    with pytest.raises(LookalikeError, match="lookalike train"):
        load_model(tmp_path / "nothing")
