"""Synthetic look-alikes: determinism, run-folder layout, planted-only differences, landmarks on features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from lookalike.errors import LookalikeError
from lookalike.face.template import landmark_columns
from lookalike.io import load_rgb, read_csv, read_json
from lookalike.synth import (
    DEFAULT_REGIONS,
    clean,
    generate,
    identity_params,
    nuisance_for,
    render,
    render_with_truth,
    sample_nuisance,
)
from lookalike.synth.params import REGIONS as PLANTABLE
from lookalike.synth.params import swap_region
from lookalike.synth.render import similarity


def _canonical(nz: dict, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (template-frame) coordinates of image pixels, undoing the nuisance pose."""
    m, t = similarity(nz)
    rel = np.stack([cols - 64.0 - t[0], rows - 64.0 - t[1]])
    u, v = np.linalg.inv(m) @ rel + 64.0
    return u, v


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "synth"
    generate(out, 4, seed=3, workers=1)
    return out


def test_layout_matches_the_run_folder_contract(small_set: Path) -> None:
    rows = read_csv(small_set / "landmarks.csv")
    assert list(rows[0]) == ["path", *landmark_columns()]
    assert len(rows) == 8
    for row in rows:
        identity = row["path"].split("/")[1]
        assert row["path"].startswith(f"faces/{identity}/") and identity in ("person_a", "person_b")
        img = load_rgb(small_set / row["path"])
        assert img.shape == (128, 128, 3)
    truth = np.load(small_set / "truth" / "masks.npz")
    assert list(truth["paths"]) == [r["path"] for r in rows]
    assert list(truth["regions"]) == list(DEFAULT_REGIONS)
    assert truth["masks"].shape == (8, 2, 128, 128) and truth["masks"].dtype == np.uint8
    assert set(np.unique(truth["masks"])) <= {0, 1}
    params = [json.loads(line) for line in (small_set / "truth" / "params.jsonl").read_text().splitlines()]
    assert [p["path"] for p in params] == [r["path"] for r in rows]
    assert {p["identity"] for p in params} == {"person_a", "person_b"}
    summary = read_json(small_set / "summary.json")
    assert summary["images"] == 8 and summary["regions"] == list(DEFAULT_REGIONS)
    assert read_json(small_set / "config.json")["n_per_identity"] == 4
    assert (small_set / "contact_sheet.png").stat().st_size > 10_000


def test_same_seed_same_bytes_whatever_the_worker_count(small_set: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, 4, seed=3, workers=2)
    for row in read_csv(small_set / "landmarks.csv"):
        assert (again / row["path"]).read_bytes() == (small_set / row["path"]).read_bytes()
    assert (again / "landmarks.csv").read_text() == (small_set / "landmarks.csv").read_text()
    assert np.array_equal(np.load(again / "truth/masks.npz")["masks"], np.load(small_set / "truth/masks.npz")["masks"])
    other = tmp_path / "other"
    generate(other, 1, seed=4, workers=1)
    first = read_csv(small_set / "landmarks.csv")[0]["path"]
    assert (other / first).read_bytes() != (small_set / first).read_bytes()


def test_rerun_reuses_and_other_settings_are_refused(small_set: Path) -> None:
    assert generate(small_set, 4, seed=3, workers=1)["reused"] is True
    with pytest.raises(LookalikeError, match="--force"):
        generate(small_set, 5, seed=3, workers=1)
    with pytest.raises(ValueError, match="choose from"):
        generate(small_set, 4, regions=("ears",))


@pytest.mark.parametrize("index", range(6))
def test_identities_differ_only_inside_the_planted_masks(index: int) -> None:
    """Same nuisance, other person: every changed pixel is in a mask, and every region does change."""
    nz = clean(nuisance_for(11, 0, index))
    a, _, masks = render_with_truth(0, nz, DEFAULT_REGIONS)
    b, _ = render(identity_params(1, DEFAULT_REGIONS), nz)
    diff = (a != b).any(axis=-1)
    union = masks.any(axis=0)
    assert not (diff & ~union).any(), f"{int((diff & ~union).sum())} changed pixels outside the masks"
    for r, region in enumerate(DEFAULT_REGIONS):
        assert (diff & masks[r].astype(bool)).sum() >= 20, f"{region}: the people barely differ there"
    # the difference is where it was planted: forehead above the brows, cheekbones beside the nose
    for r, (region, ok) in enumerate([("forehead", lambda u, v: (v < 50) & (np.abs(u - 64) < 34)), ("cheekbones",
                                      lambda u, v: (v > 62) & (v < 92) & (np.abs(u - 64) > 13))]):
        rows, cols = np.nonzero(masks[r])
        u, v = _canonical(nz, rows, cols)
        assert ok(u, v).mean() > 0.99, f"{region} mask leaks out of its face region"


@pytest.mark.parametrize("index", range(4))
def test_with_camera_degradation_differences_stay_near_the_masks(index: int) -> None:
    """Blur and JPEG smear a difference by the blur radius and into its 16×16 JPEG block, no further."""
    nz = nuisance_for(12, 0, index)
    nz["jpeg"] = 60
    a, _, masks = render_with_truth(0, nz, DEFAULT_REGIONS)
    b, _ = render(identity_params(1, DEFAULT_REGIONS), nz)
    diff = (a != b).any(axis=-1)
    reach = binary_dilation(masks.any(axis=0), iterations=int(np.ceil(4 * nz["blur"])) + 1)
    blocks = reach.reshape(8, 16, 8, 16).any(axis=(1, 3)).repeat(16, 0).repeat(16, 1)
    allowed = binary_dilation(blocks, structure=np.ones((3, 3)))  # chroma upsampling reaches 1 px over
    assert diff.any() and not (diff & ~allowed).any()


def test_landmarks_fall_on_the_drawn_eyes_and_lips() -> None:
    rng = np.random.default_rng(5)
    for _ in range(8):
        nz = clean(sample_nuisance(rng))
        nz.update(gaze_x=0.0, gaze_y=0.0)
        img, lm = render(identity_params(0, DEFAULT_REGIONS), nz)
        rgb = img.astype(float) / 255
        for eye in (slice(36, 42), slice(42, 48)):  # the eye's centre is the pupil when the gaze is straight
            assert _at(rgb, lm[eye].mean(axis=0)).mean() < 0.2
        skin = _at(rgb, np.array(_canonical_to_image(nz, 64.0, 38.0)))  # mid forehead
        skin_ratio = skin[0] / (skin[1] + 0.02)
        for outer, inner in ((51, 62), (57, 66)):  # middle of the upper and of the lower lip
            lip = _at(rgb, (lm[outer] + lm[inner]) / 2)
            assert lip[0] / (lip[1] + 0.02) > 1.2 * skin_ratio
        assert (lm[:, 0] > -5).all() and (lm[:, 0] < 133).all()


def _at(rgb: np.ndarray, p: np.ndarray) -> np.ndarray:
    return rgb[int(round(p[1])), int(round(p[0]))]


def _canonical_to_image(nz: dict, u: float, v: float) -> tuple[float, float]:
    m, t = similarity(nz)
    x, y = m @ np.array([u - 64.0, v - 64.0]) + 64.0 + t
    return float(x), float(y)


def test_landmarks_stay_near_the_aligned_template(small_set: Path) -> None:
    from lookalike.face.template import TEMPLATE_68

    for row in read_csv(small_set / "landmarks.csv"):
        lm = np.array([float(row[c]) for c in landmark_columns()]).reshape(68, 2)
        assert np.abs(lm - TEMPLATE_68).mean() < 12.0


def test_other_regions_can_be_planted() -> None:
    regions = ("nose", "jaw", "eyes", "mouth", "eyebrows")
    nz = clean(nuisance_for(0, 0, 1))
    a, lm_a, masks = render_with_truth(0, nz, regions)
    b, lm_b = render(identity_params(1, regions), nz)
    assert all(m.sum() > 10 for m in masks)
    assert not ((a != b).any(axis=-1) & ~masks.any(axis=0)).any()
    moved = np.abs(lm_a - lm_b).max(axis=1) > 0.1
    assert not moved[17:27].any()  # brow thickness leaves the brow landmarks where they are
    assert moved[31:36].any() and moved[36:48].all() and moved[48].all()


def test_never_deletes_faces_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "data" / "faces" / "someone" / "photo.png"
    precious.parent.mkdir(parents=True)
    precious.write_bytes(b"not ours")
    for force in (False, True):
        with pytest.raises(LookalikeError, match="did not make"):
            generate(tmp_path / "data", 1, workers=1, force=force)
    assert precious.read_bytes() == b"not ours"
    (tmp_path / "file").write_text("x")
    with pytest.raises(LookalikeError, match="is a file"):
        generate(tmp_path / "file", 1, workers=1)


def test_force_replaces_an_earlier_set(tmp_path: Path) -> None:
    generate(tmp_path / "s", 2, workers=1)
    summary = generate(tmp_path / "s", 1, seed=9, workers=1, force=True)
    assert summary["images"] == 2 and "reused" not in summary
    assert len(list((tmp_path / "s" / "faces").rglob("*.png"))) == 2


def test_synth_plants_regions_in_the_vocabulary_of_the_face_regions():
    """One vocabulary everywhere: every plantable region is a feature the regions stage and the hint name."""
    from lookalike.face.regions import FEATURES
    from lookalike.synth.params import REGIONS as PLANTABLE
    from lookalike.synth.params import check_regions

    assert set(PLANTABLE) <= set(FEATURES)
    assert check_regions(["eyebrows", "nose"]) == ("eyebrows", "nose")
    with pytest.raises(ValueError, match="eyebrows"):  # the old name is refused with the list of valid ones
        check_regions(["brows"])



def _change_by_feature(region: str, faces: int, by: str) -> dict[str, float]:
    """Share of what planting `region` (strength 2) changes, per face feature as the face's own landmarks
    place it ("outside": in none), over `faces` clean renders: by the `amount` of change or by changed `area`."""
    import torch

    from lookalike.explain.region_test import FEATURE_NAMES, feature_ids
    from lookalike.face.regions import region_labels
    from lookalike.synth.render import render_clean

    share = np.zeros(len(FEATURE_NAMES) + 1)  # 0: outside every feature
    for index in range(faces):
        nz = clean(nuisance_for(13, 0, index))
        own, other = identity_params(0, (region,), 2.0), identity_params(1, (region,), 2.0)
        a, landmarks = render_clean(own, nz)
        b, _ = render_clean(swap_region(own, other, region), nz)
        change = np.abs(a.astype(float) - b.astype(float)).sum(axis=-1)
        if by == "area":
            change = (change > 0).astype(float)
        ids = feature_ids(torch.from_numpy(region_labels(landmarks))).numpy()
        share += np.bincount(ids.ravel(), weights=change.ravel(), minlength=len(share)) / change.sum() / faces
    return dict(zip(["outside", *FEATURE_NAMES], share.round(3)))

@pytest.mark.parametrize("region", list(PLANTABLE))
def test_a_planted_difference_lies_in_the_face_feature_of_the_same_name(region: str) -> None:
    """What synth plants in a region, the region test finds under that region's name: most of how much the
    pixels change lies in the feature of that name, as the face's own landmarks place it (as for any photo).
    (The planted cheekbones once lay mostly in "cheeks", and a planted jaw 94 % outside every feature.)"""
    by_feature = _change_by_feature(region, faces=4, by="amount")
    assert by_feature[region] >= 2 / 3, by_feature
    assert max(by_feature, key=by_feature.get) == region, by_feature


def test_region_dropout_leaves_each_face_some_but_never_none_of_the_planted_regions(tmp_path: Path) -> None:
    """With dropout a face shows only some planted regions; a region it leaves out looks the same on both
    people (midway), and every face still shows at least one."""
    out = tmp_path / "dropout"
    summary = generate(out, 40, seed=5, workers=1, region_dropout=0.5)
    params = [json.loads(line) for line in (out / "truth" / "params.jsonl").read_text().splitlines()]
    shown = [tuple(p["shown_regions"]) for p in params]
    assert all(s and set(s) <= set(DEFAULT_REGIONS) for s in shown)
    kinds = set(shown)
    assert {("forehead",), ("cheekbones",), ("forehead", "cheekbones")} <= kinds
    for region in DEFAULT_REGIONS:  # each alone in about 3/8 of faces, with the other in 1/4: shown in ~5/8
        assert 0.4 < summary["shown_fraction"][region] < 0.85
        assert summary["shown_fraction"][region] == round(sum(region in s for s in shown) / len(shown), 4)
    one = next(p for p in params if p["shown_regions"] == ["forehead"])
    mid = identity_params(0, ("forehead",))
    assert one["identity_params"] == identity_params(one["label"], ("forehead",))
    assert {k: one["identity_params"][k] for k in PLANTABLE["cheekbones"]} == {k: mid[k] for k in PLANTABLE["cheekbones"]}
    assert read_json(out / "config.json")["region_dropout"] == 0.5
    plain = tmp_path / "plain"  # without dropout the config is as before, so earlier folders are reused
    generate(plain, 2, seed=5, workers=1)
    assert "region_dropout" not in read_json(plain / "config.json")
    assert all(json.loads(line)["shown_regions"] == list(DEFAULT_REGIONS)
               for line in (plain / "truth" / "params.jsonl").read_text().splitlines())
    with pytest.raises(ValueError, match="region_dropout"):
        generate(tmp_path / "bad", 2, region_dropout=1.0)


def test_a_face_that_leaves_a_region_out_still_marks_where_it_lies() -> None:
    nz = clean(nuisance_for(11, 0, 0))
    a, _, masks = render_with_truth(0, nz, DEFAULT_REGIONS, shown=("forehead",))
    b, _, _ = render_with_truth(1, nz, DEFAULT_REGIONS, shown=("forehead",))
    diff = (a != b).any(axis=-1)
    assert masks[1].sum() >= 20  # the cheekbones' mask: where the difference would be
    assert not (diff & masks[1].astype(bool) & ~masks[0].astype(bool)).any()  # ... and no difference there


def test_the_planted_cheekbones_leave_the_cheeks_alone() -> None:
    """Where the cheekbones' difference changes pixels at all (not only how much): the blush once moved with
    the planted cheekbones and changed 37 % of those pixels in the cheeks, so covering the cheeks hid it."""
    by_feature = _change_by_feature("cheekbones", faces=6, by="area")
    assert by_feature["cheekbones"] >= 0.75 and by_feature["cheeks"] <= 0.15, by_feature
