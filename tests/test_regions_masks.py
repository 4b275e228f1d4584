"""Face regions: a partition of the face, in the right places, following the landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.face.regions import REGIONS, region_labels, region_masks, template_labels
from lookalike.face.template import MIRROR_68, TEMPLATE_68
from lookalike.fakerun import jittered_landmarks


def _rotated(landmarks: np.ndarray, degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ((landmarks - 64.0) @ rot.T + 64.0).astype(np.float32)


@pytest.mark.parametrize("case", ["template", "jittered", "tilted"])
def test_masks_partition_the_face_without_overlap(case):
    lm = {"template": TEMPLATE_68, "jittered": jittered_landmarks(np.random.default_rng(3)),
          "tilted": _rotated(TEMPLATE_68, 12)}[case]
    labels = region_labels(lm)
    masks = region_masks(lm)
    assert masks.shape == (len(REGIONS), 128, 128)
    cover = masks.sum(0)
    assert cover.max() == 1, "a pixel belongs to two regions"
    np.testing.assert_array_equal(cover == 1, labels >= 0)  # union of the regions is the face, nothing else
    sizes = masks.reshape(len(REGIONS), -1).sum(1)
    assert (sizes > 60).all(), dict(zip(REGIONS, sizes))
    face = int((labels >= 0).sum())
    assert 0.25 < face / 128**2 < 0.6  # a face, not the whole picture and not a speck


def _centroid(labels: np.ndarray, name: str) -> np.ndarray:
    ys, xs = np.nonzero(labels == REGIONS.index(name))
    return np.array([xs.mean(), ys.mean()])


def test_regions_sit_where_their_names_say():
    labels = template_labels()
    y = {r: _centroid(labels, r)[1] for r in REGIONS}
    assert y["forehead"] < y["eyebrows"] < y["eyes"] < y["nose"] < y["mouth"] < y["chin"]
    assert y["cheekbone_left"] < y["cheek_left"]
    assert _centroid(labels, "cheekbone_left")[0] < 64 < _centroid(labels, "cheekbone_right")[0]
    # every landmark of an eye lies in "eyes", every outer-lip point in "mouth"
    for idx, name in ((range(36, 48), "eyes"), (range(48, 60), "mouth")):
        pts = np.round(TEMPLATE_68[list(idx)]).astype(int)
        assert (labels[pts[:, 1], pts[:, 0]] == REGIONS.index(name)).all()


def test_regions_are_mirror_symmetric():
    labels = template_labels()
    mirrored = region_labels(np.array([128.0 - 1, 0]) + np.array([-1, 1]) * TEMPLATE_68[MIRROR_68])[:, ::-1]
    swap = {REGIONS.index(a): REGIONS.index(b) for a, b in (("cheekbone_left", "cheekbone_right"),
                                                           ("cheek_left", "cheek_right"))}
    swap.update({v: k for k, v in swap.items()})
    mapped = np.vectorize(lambda k: swap.get(int(k), int(k)))(mirrored)
    agree = (mapped == labels)[(labels >= 0) | (mapped >= 0)].mean()
    assert agree > 0.95


def test_regions_follow_a_tilted_face():
    straight = template_labels()
    tilted = region_labels(_rotated(TEMPLATE_68, 20))
    # the forehead centroid turns with the face about the image centre
    expected = _rotated(_centroid(straight, "forehead")[None], 20)[0]
    assert np.linalg.norm(_centroid(tilted, "forehead") - expected) < 3.0


@pytest.mark.parametrize("bad", [np.zeros((68, 2)), np.full((68, 2), np.nan), np.zeros((5, 2))])
def test_bad_landmarks_get_a_clear_error(bad):
    with pytest.raises(ValueError, match="landmarks"):
        region_labels(bad)
