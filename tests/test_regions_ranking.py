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
    assert hint.sentence(["forehead", "cheekbones"]) == "Focus on the forehead first, then the cheekbones."
    assert hint.sentence(["nose", "mouth", "eyes"]) == "Focus on the nose first, then the mouth and the eyes."
    assert hint.sentence(["nose"], ["eyes"]) == "Focus on the nose. Do not rely on the eyes."
    assert hint.sentence(["jaw"], tentative=True) == "Tentative: focus on the jawline."
    assert hint.sentence([]).startswith("No hint")


def _row(drop: float, half: float = 0.01) -> dict:
    return {"drop": drop, "ci_low": drop - half, "ci_high": drop + half, "needed": drop - half > 0}


def _test(n_units: int = 100, **drops: float) -> dict:
    rows = {f: _row(d) for f, d in drops.items()}
    return {"n_units": n_units, "features": rows, "needed": [f for f, r in rows.items() if r["needed"]]}


def test_the_hint_names_what_covering_changes_most_and_not_small_significant_drops():
    """Covering any part costs a confident network a little: a significant but small drop is not named."""
    tests = {"classifier": _test(forehead=0.30, cheekbones=0.20, eyes=0.04, mouth=0.0),
             "siamese": _test(forehead=0.10, cheekbones=0.15, nose=0.02, mouth=-0.005)}
    chosen = hint.from_region_test(tests)
    assert chosen["look"] == ["forehead", "cheekbones"]  # ranked by the largest drop (0.30 > 0.20)
    assert chosen["support"] == {"forehead": ["classifier", "siamese"], "cheekbones": ["classifier", "siamese"]}
    assert chosen["avoid"] == []  # nothing misleads: no filler clause
    rests = hint.strength(chosen, tests)
    assert not rests["tentative"] and rests["units"] == {"classifier": 100, "siamese": 100}
    assert rests["features"]["forehead"]["classifier"]["ci_low"] == pytest.approx(0.29)


def test_what_only_one_of_two_networks_needs_a_little_is_not_named():
    """Covering a feature with the mean face costs each network something of its own: the demo's Siamese
    network lost 0.066 for the eyebrows and the classifier 0.063 for the jawline, neither planted."""
    tests = {"classifier": _test(forehead=0.14, cheekbones=0.17, jaw=0.063, eyebrows=0.01),
             "siamese": _test(forehead=0.185, cheekbones=0.16, eyebrows=0.066, jaw=0.015)}
    assert hint.from_region_test(tests)["look"] == ["forehead", "cheekbones"]
    assert hint.from_region_test(tests, alone=0.3)["look"] == ["forehead", "cheekbones", "eyebrows"]
    assert hint.from_region_test({"siamese": tests["siamese"]})["look"] == ["forehead", "cheekbones", "eyebrows"]
    tests["classifier"]["features"]["mouth"] = _row(0.12)  # one network's large effect still counts
    chosen = hint.from_region_test(tests)
    assert chosen["look"] == ["forehead", "cheekbones", "mouth"] and chosen["support"]["mouth"] == ["classifier"]
    assert "eyebrows" not in chosen["support"]


def test_a_feature_that_misleads_the_network_is_named_as_one_not_to_rely_on():
    tests = {"classifier": _test(nose=0.3, eyes=-0.2, mouth=-0.01)}
    chosen = hint.from_region_test(tests)
    assert chosen["look"] == ["nose"] and chosen["avoid"] == ["eyes"]  # the mouth's -0.01 is too small


def test_a_hint_on_one_weak_network_or_few_units_is_tentative():
    weak = {"siamese": {"n_units": 100, "features": {"jaw": _row(0.04, 0.035)}, "needed": ["jaw"]}}
    chosen = hint.from_region_test(weak)
    assert chosen["look"] == ["jaw"] and hint.strength(chosen, weak)["tentative"]
    few = {"classifier": _test(n_units=12, jaw=0.5)}
    rests = hint.strength(hint.from_region_test(few), few)
    assert rests["tentative"] and "12 units" in rests["tentative_because"][0]
    assert hint.from_region_test({"classifier": _test(jaw=0.0, eyes=0.0)})["look"] == []


def test_two_features_that_each_suffice_are_both_named_though_covering_finds_one():
    """Redundant cues hide each other from covering (covering one leaves the other), not from showing."""
    rows = {"forehead": _row(0.45), "cheekbones": _row(0.0), "eyes": _row(0.01), "mouth": _row(0.0)}
    gains = {"forehead": 0.30, "cheekbones": 0.25, "eyes": 0.0, "mouth": 0.02}
    for f, g in gains.items():
        rows[f].update(gain=g, gain_ci_low=g - 0.015, gain_ci_high=g + 0.015, sufficient=g - 0.015 > 0)
    tests = {"classifier": {"n_units": 100, "features": rows, "needed": ["forehead", "eyes"],
                            "sufficient": ["forehead", "cheekbones", "mouth"]}}
    assert hint.from_region_test({"classifier": _test(forehead=0.45, cheekbones=0.0)})["look"] == ["forehead"]
    chosen = hint.from_region_test(tests)
    assert chosen["look"] == ["forehead", "cheekbones"]  # the mouth's small gain and the eyes' drop are not named
    assert chosen["gains"] == {"forehead": 0.30, "cheekbones": 0.25}
    rests = hint.strength(chosen, tests)
    assert rests["features"]["cheekbones"]["classifier"]["gain_ci_low"] == pytest.approx(0.235)
    assert not rests["tentative"]
    for f in rows:  # on the mean face small gains are noise: below MIN_GAIN nothing is named for its gain
        rows[f].update(gain=rows[f]["gain"] / 10, gain_ci_low=rows[f]["gain"] / 10 - 0.001)
    assert hint.from_region_test(tests)["look"] == ["forehead"]


def test_a_neighbour_that_adds_nothing_once_the_top_feature_is_covered_is_not_named():
    """Covering the cheeks or the chin also blurs the jaw's outline (jaw@4: drops 0.26, 0.18, 0.14), so the
    hint asks what each feature still costs once the most needed one is covered (`drop_given`)."""
    def given(test: dict, top: str, **further: float) -> dict:
        for f, d in further.items():
            test["features"][f].update(drop_given=d, given_ci_low=d - 0.01, given_ci_high=d + 0.01)
        return {**test, "given": top}

    jaw_world = _test(jaw=0.26, chin=0.18, cheeks=0.14, eyes=0.01)
    assert hint.from_region_test({"siamese": jaw_world})["look"] == ["jaw", "chin", "cheeks"]  # not measured
    jaw_world = given(jaw_world, "jaw", jaw=0.0, chin=0.02, cheeks=0.0, eyes=0.0)
    assert hint.from_region_test({"siamese": jaw_world})["look"] == ["jaw"]
    # with no bar the conditional test excludes nothing: the neighbours are named again
    assert hint.from_region_test({"siamese": jaw_world}, beside=0.0)["look"] == ["jaw", "chin", "cheeks"]
    # a second planted feature still costs the network a lot once the first is covered: it stays named
    two = given(_test(cheekbones=0.21, forehead=0.14, cheeks=0.09), "cheekbones", cheekbones=0.0, forehead=0.2,
                cheeks=0.01)
    assert hint.from_region_test({"classifier": two})["look"] == ["cheekbones", "forehead"]
    # the further drop needs the bar, not an interval of its own (the feature's drop has one): the demo's
    # classifier in fp32 kept 0.089 of the cheekbones' 0.128 beside the forehead, interval -0.004 to 0.18
    demo = given(_test(forehead=0.188, cheekbones=0.128, eyes=0.01), "forehead", forehead=0.0, cheekbones=0.089)
    demo["features"]["cheekbones"]["given_ci_low"] = -0.004
    assert hint.from_region_test({"classifier": demo})["look"] == ["forehead", "cheekbones"]


def test_a_shadow_of_the_top_feature_is_not_named_for_its_gain_and_what_it_adds_counts_for_one_network():
    """jaw@3: showing the cheeks alone lifted the Siamese network's answer (they hold the jaw's outline), but
    once the jaw is covered, covering them costs little: a shadow, not named. nose+mouth@3: the classifier
    alone names the nose, whose drop is small beside the mouth's but large once the mouth is covered."""
    def row(drop: float, given: float, gain: float = 0.0) -> dict:
        return {**_row(drop), "drop_given": given, "given_ci_low": given - 0.05, "given_ci_high": given + 0.05,
                "gain": gain, "gain_ci_low": gain - 0.04, "gain_ci_high": gain + 0.04, "sufficient": gain > 0.04}

    siamese = {"n_units": 100, "given": "jaw", "needed": ["jaw", "cheeks"], "sufficient": ["cheeks"],
               "features": {"jaw": row(0.344, 0.0), "cheeks": row(0.312, 0.056, gain=0.116), "eyes": row(0.0, 0.0)}}
    assert hint.from_region_test({"siamese": siamese})["look"] == ["jaw"]
    siamese["features"]["cheeks"]["drop_given"] = 0.2  # it keeps most of its effect: not a shadow, named
    assert hint.from_region_test({"siamese": siamese})["look"] == ["jaw", "cheeks"]
    classifier = {"n_units": 100, "given": "mouth", "needed": ["mouth", "nose"],
                  "features": {"mouth": row(0.242, 0.0), "nose": row(0.111, 0.217), "eyes": row(0.0, 0.0)}}
    siamese = {"n_units": 100, "given": "mouth", "needed": ["mouth", "nose"],
               "features": {"mouth": row(0.465, 0.0), "nose": row(0.418, 0.005), "eyes": row(0.0, 0.0)}}
    both = {"classifier": classifier, "siamese": siamese}
    chosen = hint.from_region_test(both)
    assert chosen["look"] == ["mouth", "nose"] and chosen["support"]["nose"] == ["classifier"]
    classifier["features"]["nose"]["drop_given"] = 0.09  # 0.111 / 0.242 and 0.09 / 0.242: under ALONE_FRACTION
    assert hint.from_region_test(both)["look"] == ["mouth"]


def test_the_maps_fallback_names_the_strong_consensus():
    maps = {"m1": {"forehead": 2.0, "cheekbones": 1.8, "eyes": 0.3, "mouth": 0.5, "nose": 1.0},
            "m2": {"forehead": 1.6, "cheekbones": 2.2, "eyes": 0.4, "mouth": 0.6, "nose": 0.9}}
    assert set(hint.from_maps(maps)["look"]) == {"forehead", "cheekbones"}


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
    # no region test here: the maps speak, tentatively
    assert summary["hint"] in ("Tentative: focus on the forehead first, then the cheekbones.",
                               "Tentative: focus on the cheekbones first, then the forehead.")
    assert summary["basis"] == "maps (no region test)" and summary["tentative"]
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


def test_no_network_better_than_chance_means_no_hint_and_every_output_says_so(tmp_path):
    """Networks that learnt nothing give no hint: not a confident sentence from their maps."""
    import torch

    from lookalike.data.dataset import load_landmarks
    from lookalike.models import SiameseNet, VGGClassifier, save_model

    run = make_fake_run(tmp_path / "run", 6, seed=1)
    paths = [r["path"] for r in read_csv(run.split_csv)][:8]
    eyes = [np.isin(region_labels(lm), [REGIONS.index("eyes")]) * 1.0 + 0.1 for lm in load_landmarks(run, paths)]
    _write_maps(run, "classifier-gradcam", np.array(eyes, np.float32), paths)
    _write_sanity(run, {"classifier-gradcam": True})
    torch.manual_seed(0)
    for kind, net, acc, n in (("classifier", VGGClassifier(width=2, dense=8), 0.485, 200),
                              ("siamese", SiameseNet(width=2, hidden=8), 0.526, 536)):
        save_model(run.model(kind), kind, net)
        c.NETWORK_SUMMARY.write(run, {"model": kind, "test_accuracy": acc, "test": {"n": n}}, kind=kind)
    summary = run_regions(run)
    assert summary["no_hint"] and summary["look_at"] == [] and summary["hint"].startswith("No hint")
    assert not any(q["better_than_chance"] for q in summary["networks"].values())
    assert (run.regions / "hint.txt").read_text().startswith("No hint")
    from lookalike.report.sections import regions_section

    assert "There is no hint" in regions_section(run).body
    # the same maps with a network that does beat chance: a hint (tentative: the maps alone, no region test)
    c.NETWORK_SUMMARY.write(run, {"model": "classifier", "test_accuracy": 0.9, "test": {"n": 200}}, kind="classifier")
    summary = run_regions(run)
    assert not summary["no_hint"] and summary["look_at"] == ["eyes"] and summary["tentative"]
    assert summary["networks"]["classifier"]["better_than_chance"]
    assert not summary["networks"]["siamese"]["better_than_chance"]
