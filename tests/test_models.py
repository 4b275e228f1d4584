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


def test_laptop_options_keep_the_layer_counts():
    """conv batch norm, no batch norm on the logits and a smaller working resolution change neither the
    21 weight layers of the classifier nor the 10 convolutions of the Siamese branch."""
    x = torch.rand(2, 3, 128, 128)
    for kw in (dict(conv_bn=True), dict(logit_bn=False), dict(input_size=64, conv_bn=True, logit_bn=False)):
        net = VGGClassifier(width=4, dense=16, **kw).eval()
        assert count_weight_layers(net) == 21, kw
        assert net(x).shape == (2, 2)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in VGGClassifier(width=4, dense=16, logit_bn=False).modules()) == 2
    sia = SiameseNet(width=4, hidden=8, input_size=64, conv_bn=True).eval()
    assert sum(isinstance(m, nn.Conv2d) for m in sia.features.modules()) == 10
    assert count_weight_layers(sia) == 12  # 10 convolutions + the 2 dense layers they join in
    assert sia(x, x).shape == (2, 2)
    with pytest.raises(ValueError, match="too small"):
        VGGClassifier(width=4, dense=16, input_size=16)


def test_input_size_resizes_inside_the_network_and_gradients_reach_every_pixel():
    net = VGGClassifier(width=4, dense=16, input_size=64, logit_bn=False).eval()
    x = torch.rand(1, 3, 128, 128, requires_grad=True)
    net(x)[0, 1].backward()
    assert x.grad.shape == (1, 3, 128, 128) and (x.grad != 0).float().mean() > 0.99


def test_temperature_divides_the_logits_without_changing_the_weights():
    torch.manual_seed(0)
    a = VGGClassifier(width=4, dense=16, logit_bn=False).eval()
    b = VGGClassifier(width=4, dense=16, logit_bn=False, temperature=2.0).eval()
    b.load_state_dict(a.state_dict())
    x = torch.rand(3, 3, 128, 128)
    torch.testing.assert_close(b(x), a(x) / 2)
    assert set(a.state_dict()) == set(b.state_dict())


def test_siamese_compares_every_pair_of_a_batch():
    torch.manual_seed(2)
    sia = SiameseNet(width=4, hidden=8).eval()
    x = torch.rand(4, 3, 128, 128)
    logits, f = sia(x, None, with_embeddings=True)
    i, j = torch.triu_indices(4, 4, offset=1)
    assert logits.shape == (6, 2) and f.shape == (4, sia.embedding_size)
    torch.testing.assert_close(logits, sia(x[i], x[j]))
