"""Region scores, intervals, the hint sentence, and the regions stage on hand-made maps."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike import contract as c
from lookalike.contract import MapFile, save_maps
from lookalike.errors import LookalikeError
from lookalike.face.regions import FEATURES, REGIONS, region_labels
from lookalike.face.template import TEMPLATE_68
from lookalike.fakerun import make_fake_run
from lookalike.intervals import bootstrap_mean
from lookalike.io import read_csv
from lookalike.regions import hint
from lookalike.regions.scoring import agreement, score_maps
from lookalike.regions.stage import FEATURE_GROUPS, REGION_GROUPS, run_regions


def test_uniform_map_scores_one_everywhere_and_a_focused_map_scores_its_region():
    labels = region_labels(TEMPLATE_68)
    uniform = np.ones((1, 128, 128))
    s = score_maps(uniform, labels, REGION_GROUPS)
    np.testing.assert_allclose(s.enrichment, 1.0)
    np.testing.assert_allclose(s.attribution.sum(), 1.0)
    focused = (labels == REGIONS.index("nose")).astype(float)[None] + 0.0 * uniform
    s = score_maps(focused, labels, REGION_GROUPS)
    nose = REGIONS.index("nose")
    assert s.enrichment[0, nose] == pytest.approx(1 / s.area[0, nose])
    assert np.delete(s.enrichment[0], nose).max() == 0
    # attribution outside the face (background) does not count
    outside = focused + (labels < 0)[None] * 50.0
    np.testing.assert_allclose(score_maps(outside, labels, REGION_GROUPS).enrichment, s.enrichment)


def test_empty_maps_are_dropped_not_divided_by_zero():
    labels = region_labels(TEMPLATE_68)
    s = score_maps(np.zeros((3, 128, 128)), labels, FEATURE_GROUPS)
    assert s.dropped == 3 and len(s.enrichment) == 0


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_images():
    rng = np.random.default_rng(0)
    small = rng.normal(2.0, 1.0, size=(20, 1))
    big = rng.normal(2.0, 1.0, size=(500, 1))
    m, lo, hi = bootstrap_mean(small, np.arange(20))
    assert lo[0] < m[0] < hi[0]
    _, lo2, hi2 = bootstrap_mean(big, np.arange(500))
    assert (hi2 - lo2)[0] < (hi - lo)[0] / 2
    assert lo2[0] < 2.0 < hi2[0]
    # a pair counted twice is still one unit: same interval as the pairs alone
    pairs = np.repeat(small, 2, axis=0)
    _, lo3, hi3 = bootstrap_mean(pairs, np.repeat(np.arange(20), 2))
    np.testing.assert_allclose([lo3[0], hi3[0]], [lo[0], hi[0]], atol=1e-9)


def test_agreement_is_rank_correlation():
    a = np.arange(11.0)
    out = agreement({"a": a, "b": a * 3 + 1, "c": -a})
    assert out["a"]["b"] == pytest.approx(1.0) and out["a"]["c"] == pytest.approx(-1.0)


def test_hint_sentence_reads_naturally():
    assert hint.sentence(["forehead", "cheekbones"], ["eyes", "mouth"]) == (
        "Look at the forehead and the cheekbones; the eyes and the mouth tell them apart less.")
    assert hint.sentence(["nose"], ["mouth"]) == "Look at the nose; the mouth tells them apart less."
    chosen = hint.choose({"m1": {"forehead": 2.0, "cheekbones": 1.8, "eyes": 0.3, "mouth": 0.5, "nose": 1.0},
                          "m2": {"forehead": 1.6, "cheekbones": 2.2, "eyes": 0.4, "mouth": 0.6, "nose": 0.9}})
    assert chosen["look"] == ["cheekbones", "forehead"] or chosen["look"] == ["forehead", "cheekbones"]
    assert chosen["less"] == ["eyes", "mouth"]


def test_hint_names_only_what_the_region_test_confirms():
    """Gradient maps love the eyes; if covering the eyes does not change the answer, the hint must not name them."""
    maps = {"m1": {"forehead": 2.0, "eyes": 2.4, "cheekbones": 1.5, "mouth": 0.5, "jaw": 0.4},
            "m2": {"forehead": 1.8, "eyes": 2.2, "cheekbones": 1.6, "mouth": 0.6, "jaw": 0.3}}
    plain = hint.choose(maps)
    assert plain["look"][0] == "eyes" and plain["unconfirmed"] == []
    checked = hint.choose(maps, needed={"forehead", "cheekbones", "jaw"})
    assert checked["look"] == ["forehead", "cheekbones"] and checked["unconfirmed"] == ["eyes"]
    assert checked["less"] == ["mouth"]  # the jaw is needed, so it is never one that "tells them apart less"
    nothing = hint.choose(maps, needed={"mouth"})  # no strong feature confirmed: the best confirmed one, tentative
    assert nothing["look"] == ["mouth"] and nothing["tentative"]


def test_hint_from_the_region_test_alone():
    def row(drop: float, needed: bool) -> dict:
        return {"drop": drop, "ci_low": drop - 0.01, "ci_high": drop + 0.01, "needed": needed}

    tests = {"classifier": {"needed": ["cheekbones"], "features": {
                 "forehead": row(0.01, False), "cheekbones": row(0.2, True), "eyes": row(-0.03, False),
                 "mouth": row(-0.01, False)}},
             "siamese": {"needed": ["forehead"], "features": {
                 "forehead": row(0.1, True), "cheekbones": row(0.05, True), "eyes": row(0.0, False),
                 "mouth": row(-0.02, False)}}}
    chosen = hint.from_region_test(tests)
    assert chosen["look"] == ["cheekbones", "forehead"] and chosen["less"] == ["mouth", "eyes"]


def _write_maps(run, name: str, maps: np.ndarray, paths: list[str]) -> None:
    model, method = name.split("-")
    n = len(paths)
    save_maps(run.explain / "maps" / f"{name}.npz",
              MapFile(maps, paths, model, method, np.zeros(n), np.repeat(np.arange(n // 2), 2), np.tile([0, 1], n // 2),
                      np.zeros(n), np.full(n, 0.9)))


def _write_sanity(run, verdicts: dict[str, bool]) -> None:
    """explain/sanity.json as the explain stage writes it, with these verdicts."""
    c.SANITY.write(run, {"methods": {name: {"passed": ok, "final_spearman": 0.1 if ok else 0.9}
                                     for name, ok in verdicts.items()},
                         "passed": [k for k, ok in verdicts.items() if ok],
                         "failed": [k for k, ok in verdicts.items() if not ok]})


def test_regions_stage_ranks_trusted_maps_and_leaves_out_failed_methods(tmp_path):
    from lookalike.data.dataset import load_landmarks

    run = make_fake_run(tmp_path / "run", 6, seed=1)
    paths = [r["path"] for r in read_csv(run.split_csv)][:8]
    lms = load_landmarks(run, paths)
    rng = np.random.default_rng(0)
    planted = ["forehead", "cheekbone_left", "cheekbone_right"]
    good, edges = [], []
    for lm in lms:
        lab = region_labels(lm)
        good.append(np.isin(lab, [REGIONS.index(r) for r in planted]) * 1.0 + rng.random((128, 128)) * 0.3)
        edges.append(np.isin(lab, [REGIONS.index("eyes"), REGIONS.index("mouth")]) * 1.0 + rng.random((128, 128)))
    _write_maps(run, "siamese-good", np.array(good, np.float32), paths)
    _write_maps(run, "siamese-edges", np.array(edges, np.float32), paths)
    _write_sanity(run, {"siamese-good": True, "siamese-edges": False})
    summary = run_regions(run)
    assert summary["hint"].startswith("Look at the forehead and the cheekbones") or \
        summary["hint"].startswith("Look at the cheekbones and the forehead")
    assert "eyes" not in summary["look_at"] and "mouth" not in summary["look_at"]
    assert summary["evidence"]["sources_used"] == ["siamese-good"]
    assert summary["evidence"]["sources_left_out"] == {"siamese-edges": "fail"}
    assert summary["trusted"] is True
    assert set(summary["top_regions"]["siamese-good"]) == set(planted)
    assert set(summary["top_regions"]["siamese-edges"][:2]) == {"eyes", "mouth"}
    rows = read_csv(run.regions / "ranking.csv")
    assert len(rows) == 2 * len(REGIONS)
    edge_rows = [r for r in rows if r["source"] == "siamese-edges"]
    assert {r["sanity"] for r in edge_rows} == {"fail"}
    for r in rows:
        assert float(r["ci_low"]) <= float(r["score"]) <= float(r["ci_high"])
    assert (run.regions / "hint.txt").read_text().strip() == summary["hint"]
    for name in ("regions.png", "ranking.png", "hint.png", "agreement.png", "features.csv"):
        assert (run.regions / name).stat().st_size > 1000
    assert c.REGIONS_SUMMARY.read(run).hint == summary["hint"]
    assert summary["agreement"]["siamese-good"]["siamese-edges"] < 0.5


def test_fooling_aggregate_is_a_source_and_a_hint_without_trusted_maps_is_flagged(tmp_path):
    run = make_fake_run(tmp_path / "run", 4, seed=2)
    lab = region_labels(TEMPLATE_68)
    agg = np.isin(lab, [REGIONS.index("chin")]).astype(np.float32) + 0.01
    run.fooling.mkdir(parents=True)
    np.save(run.fooling / "aggregate.npy", agg)
    summary = run_regions(run)
    assert summary["top_regions"]["fooling-aggregate"][0] == "chin"
    assert summary["look_at"] == ["chin"]
    assert "fooling" in summary["warning"]


def test_regions_without_any_maps_says_what_to_run(tmp_path):
    run = make_fake_run(tmp_path / "run", 2)
    with pytest.raises(LookalikeError, match="lookalike explain"):
        run_regions(run)


def test_features_cover_every_region_once():
    members = [r for rs in FEATURES.values() for r in rs]
    assert sorted(members) == sorted(REGIONS)


def test_maps_of_a_network_near_chance_are_left_out_of_the_hint_when_a_better_one_speaks(tmp_path):
    from lookalike.data.dataset import load_landmarks

    run = make_fake_run(tmp_path / "run", 6, seed=1)
    paths = [r["path"] for r in read_csv(run.split_csv)][:8]
    lms = load_landmarks(run, paths)
    planted = ["forehead", "cheekbone_left", "cheekbone_right"]
    good, weak = [], []
    for lm in lms:
        lab = region_labels(lm)
        good.append(np.isin(lab, [REGIONS.index(r) for r in planted]) * 1.0 + 0.1)
        weak.append(np.isin(lab, [REGIONS.index("mouth"), REGIONS.index("chin")]) * 5.0 + 0.1)
    _write_maps(run, "classifier-gradcam", np.array(good, np.float32), paths)
    _write_maps(run, "siamese-gradcam", np.array(weak, np.float32), paths)
    _write_sanity(run, {"classifier-gradcam": True, "siamese-gradcam": True})
    c.EXPLAIN_SUMMARY.write(run, {"networks": {"classifier": {"near_chance": False}, "siamese": {"near_chance": True}}})
    summary = run_regions(run)
    assert summary["evidence"]["sources_used"] == ["classifier-gradcam"]
    assert summary["evidence"]["sources_left_out"] == {"siamese-gradcam": "network near chance"}
    assert "mouth" not in summary["look_at"] and "chin" not in summary["look_at"]
    assert "forehead" in summary["look_at"]
