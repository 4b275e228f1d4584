"""The region test: cover one face feature at a time with the mean face and measure the drop of the answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lookalike.explain import region_test as RT
from lookalike.face.regions import REGIONS, template_labels


def _labels(n: int) -> torch.Tensor:
    return torch.from_numpy(template_labels().astype(np.int64)).expand(n, -1, -1).clone()


def _texture(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mean = (x * mask).sum((2, 3), keepdim=True) / mask.sum()
    return 40 * ((x - mean) ** 2 * mask).sum((1, 2, 3)) / mask.sum()


class LooksAtOneFeature(torch.nn.Module):
    """A stand-in network that answers class 0 the more texture there is inside one feature's pixels."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.mask = mask.float()

    def forward(self, *images: torch.Tensor) -> torch.Tensor:
        score = sum(_texture(x, self.mask) - 1 for x in images)
        return torch.stack([score, -score], 1)


class EitherFeatureWillDo(torch.nn.Module):
    """Answers class 0 when there is texture in one feature *or* another: each cue alone suffices."""

    def __init__(self, first: torch.Tensor, second: torch.Tensor):
        super().__init__()
        self.first, self.second = first.float(), second.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = 10 * torch.maximum(_texture(x, self.first), _texture(x, self.second)) - 1
        return torch.stack([score, -score], 1)


def _mask(labels: torch.Tensor, feature: str) -> torch.Tensor:
    return RT.feature_ids(labels[:1]) == RT.FEATURE_NAMES.index(feature) + 1


def test_feature_ids_join_left_and_right_and_keep_the_outside_apart():
    labels = _labels(1)
    ids = RT.feature_ids(labels)
    cheekbones = RT.FEATURE_NAMES.index("cheekbones") + 1
    both = (labels == REGIONS.index("cheekbone_left")) | (labels == REGIONS.index("cheekbone_right"))
    assert torch.equal(ids == cheekbones, both)
    assert torch.equal(ids == 0, labels == -1)
    assert set(ids.unique().tolist()) == set(range(len(RT.FEATURE_NAMES) + 1))


@pytest.mark.parametrize("n_inputs", [1, 2])
def test_the_feature_the_network_needs_is_found_and_nothing_else(n_inputs):
    torch.manual_seed(0)
    labels = _labels(12)
    mask = RT.feature_ids(labels[:1]) == RT.FEATURE_NAMES.index("cheekbones") + 1
    net = LooksAtOneFeature(mask)
    reference = torch.full((3, 128, 128), 0.5)  # a flat mean face: covering removes all texture
    inputs = tuple(torch.rand(12, 3, 128, 128) * 0.3 + 0.35 for _ in range(n_inputs))
    drops = RT.region_drops(net, inputs, torch.zeros(12, dtype=torch.long), tuple(labels for _ in inputs), reference,
                            batch_size=5)
    assert drops.shape == (12, len(RT.FEATURE_NAMES))
    k = RT.FEATURE_NAMES.index("cheekbones")
    assert (drops[:, k] > 0.05).all()
    others = np.delete(drops, k, axis=1)
    assert np.abs(others).max() < 1e-5
    result = RT.summarise(drops, seed=0)
    assert result["needed"] == ["cheekbones"] and result["n_units"] == 12
    assert result["features"]["eyes"]["needed"] is False
    # by hand for the first face: P(class 0) before and after covering the cheekbones
    covered = [x[:1].clone() for x in inputs]
    for x in covered:
        x[:, :, mask[0]] = 0.5
    with torch.no_grad():
        before = torch.softmax(net(*(x[:1] for x in inputs)), 1)[0, 0]
        after = torch.softmax(net(*covered), 1)[0, 0]
    assert drops[0, k] == pytest.approx(float(before - after), abs=1e-5)


def test_an_interval_that_reaches_zero_is_not_needed():
    rng = np.random.default_rng(0)
    drops = np.zeros((40, len(RT.FEATURE_NAMES)))
    drops[:, 0] = 0.2 + rng.normal(0, 0.02, 40)  # forehead: clearly needed
    drops[:, 1] = rng.normal(0, 0.05, 40)  # eyebrows: noise around 0
    result = RT.summarise(drops)
    assert result["needed"] == ["forehead"]
    assert result["features"]["eyebrows"]["ci_low"] < 0 < result["features"]["eyebrows"]["ci_high"]


def test_two_features_that_each_suffice_hide_from_covering_but_not_from_showing():
    torch.manual_seed(0)
    labels = _labels(12)
    net = EitherFeatureWillDo(_mask(labels, "forehead"), _mask(labels, "cheekbones"))
    reference = torch.full((3, 128, 128), 0.5)
    inputs = (torch.rand(12, 3, 128, 128) * 0.3 + 0.35,)
    args = (net, inputs, torch.zeros(12, dtype=torch.long), (labels,), reference)
    drops, gains = RT.region_drops(*args, batch_size=5), RT.region_gains(*args, batch_size=5)
    shown = [RT.FEATURE_NAMES.index(f) for f in ("forehead", "cheekbones")]
    assert (gains[:, shown] > 0.5).all()
    assert np.abs(drops).max() < 0.05  # covering either cue leaves the other: nothing seems needed
    assert np.abs(np.delete(gains, shown, axis=1)).max() < 1e-5
    result = RT.summarise(drops, gains, seed=0)
    assert result["needed"] == [] and sorted(result["sufficient"]) == ["cheekbones", "forehead"]
    # by hand for the first face: the cheekbones of the face alone on the mean face
    alone = reference.expand(1, -1, -1, -1).clone()
    cheek = _mask(labels, "cheekbones")[0]
    alone[:, :, cheek] = inputs[0][:1][:, :, cheek]
    with torch.no_grad():
        p_alone = torch.softmax(net(alone), 1)[0, 0]
        p_mean = torch.softmax(net(reference[None]), 1)[0, 0]
    assert gains[0, shown[1]] == pytest.approx(float(p_alone - p_mean), abs=1e-5)


class ReadsOneFeatureInItsSurroundings(torch.nn.Module):
    """Answers class 0 from one feature's texture, but only when its surroundings are there to read it in:
    covering the surroundings costs the answer too, though they carry no difference of their own."""

    def __init__(self, feature: torch.Tensor, surroundings: torch.Tensor):
        super().__init__()
        self.feature, self.surroundings = feature.float(), surroundings.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = torch.clamp(_texture(x, self.surroundings) * 10, max=1.0)
        score = 10 * _texture(x, self.feature) * context - 1
        return torch.stack([score, -score], 1)


def test_with_the_top_feature_covered_a_neighbour_adds_nothing_and_a_second_cue_a_lot():
    """drops_given: the further drop of each feature once the most needed one is covered already."""
    torch.manual_seed(0)
    labels = _labels(12)
    reference = torch.full((3, 128, 128), 0.5)
    inputs = (torch.rand(12, 3, 128, 128) * 0.3 + 0.35,)
    k = {f: RT.FEATURE_NAMES.index(f) for f in ("jaw", "cheeks", "forehead", "cheekbones")}
    neighbour = ReadsOneFeatureInItsSurroundings(_mask(labels, "jaw"), _mask(labels, "cheeks"))
    args = (neighbour, inputs, torch.zeros(12, dtype=torch.long), (labels,), reference)
    drops = RT.region_drops(*args, batch_size=5)
    assert (drops[:, k["jaw"]] > 0.3).all() and (drops[:, k["cheeks"]] > 0.3).all()  # both seem needed
    further = RT.drops_given(*args, given=k["jaw"], batch_size=5)
    assert np.abs(further).max() < 0.02  # with the jaw covered nothing else matters, the cheeks included
    result = RT.summarise(drops, seed=0, given=(k["jaw"], further))
    assert result["given"] == "jaw" and result["features"]["cheeks"]["drop_given"] < 0.02
    assert result["features"]["cheeks"]["drop"] > 0.3
    either = EitherFeatureWillDo(_mask(labels, "forehead"), _mask(labels, "cheekbones"))
    args = (either, inputs, torch.zeros(12, dtype=torch.long), (labels,), reference)
    further = RT.drops_given(*args, given=k["forehead"], batch_size=5)
    assert (further[:, k["cheekbones"]] > 0.5).all()  # the other cue is all that is left
    assert np.abs(np.delete(further, k["cheekbones"], axis=1)).max() < 1e-5
