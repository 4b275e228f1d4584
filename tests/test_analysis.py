"""Study analysis: equation (1), d′, the permutation test and the files `study analyze` writes."""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from statistics import NormalDist

import pytest

from lookalike import contract as c
from lookalike.cli.study_analysis import add_analyze_arguments, run_analyze
from lookalike.errors import LookalikeError
from lookalike.io import read_csv, read_json
from lookalike.runfolder import StageMissing
from lookalike.study import stats
from lookalike.study.analysis import COLUMNS, analyze


def person(pid: str, group: str, outcomes: list[tuple[str, str]], complete: bool = True) -> list[dict]:
    """Rows for one participant from (truth, answer) pairs."""
    return [{"participant": pid, "group": group, "complete": int(complete), "trial": i, "image_a": f"i{i}a",
             "image_b": f"i{i}b", "truth": t, "answer": a, "correct": int(t == a) if a else "",
             "response_ms": 700 + i, "shown_ms": 1201} for i, (t, a) in enumerate(outcomes)]


def answers(hits: int, misses: int, fas: int, crs: int) -> list[tuple[str, str]]:
    return ([("same", "same")] * hits + [("same", "different")] * misses
            + [("different", "same")] * fas + [("different", "different")] * crs)


def write_trials(run: Path, rows: list[dict]) -> Path:
    path = run / "study" / "trials.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


# --- pure statistics on hand-computed data -------------------------------------------------------

def test_equation1_is_total_correct_over_m_times_20():
    assert stats.equation1_accuracy([10, 12, 14]) == pytest.approx(36 / 60)
    assert stats.equation1_accuracy([20]) == 1.0
    assert math.isnan(stats.equation1_accuracy([]))


def test_dprime_matches_hand_computation_with_log_linear_correction():
    z = NormalDist().inv_cdf
    det = stats.dprime(hits=8, misses=2, false_alarms=3, correct_rejections=7)
    h, f = 8.5 / 11, 3.5 / 11
    assert det.hit_rate == pytest.approx(h) and det.false_alarm_rate == pytest.approx(f)
    assert det.dprime == pytest.approx(z(h) - z(f))
    assert det.criterion == pytest.approx(-(z(h) + z(f)) / 2)
    perfect = stats.dprime(10, 0, 0, 10)  # a perfect score stays finite
    assert perfect.dprime == pytest.approx(2 * z(10.5 / 11)) and perfect.criterion == pytest.approx(0)
    assert stats.dprime(5, 5, 5, 5).dprime == pytest.approx(0)
    assert stats.dprime(10, 0, 10, 0).criterion < 0  # always "same": liberal, negative criterion


def test_permutation_p_value_on_exact_small_cases():
    # {1,2,3} vs {4,5}: of the C(5,2) = 10 relabellings only the observed one and its mirror
    # image ({1,2} vs {3,4,5}) have |mean difference| >= 2.5, so p = 2/10.
    res = stats.permutation_test([1, 2, 3], [4, 5])
    assert res.exact and res.n_permutations == 10
    assert res.difference == pytest.approx(2 - 4.5)
    assert res.p_value == pytest.approx(0.2)
    # {3,4} vs {1,2}: differences over the 6 splits are 2, -2, -1, 0, 0, 1 -> p = 2/6.
    res = stats.permutation_test([3, 4], [1, 2])
    assert res.exact and res.p_value == pytest.approx(1 / 3)
    # one expert (scipy refuses one-person samples): each of the 4 people can be the lone one;
    # differences 8, -5.33, -2.67, 0, so the one-sided p is 1/4 and the two-sided 2 x 1/4.
    res = stats.permutation_test([20], [10, 12, 14])
    assert res.exact and res.n_permutations == 4 and res.difference == pytest.approx(8)
    assert res.p_value == pytest.approx(0.5)
    assert stats.permutation_test([20], [10, 12, 14], alternative="greater").p_value == pytest.approx(0.25)
    # identical groups: nothing to detect
    assert stats.permutation_test([5, 5], [5, 5]).p_value == pytest.approx(1.0)


def test_effect_sizes_power_and_intervals():
    assert stats.cohens_d([3, 4], [1, 2]) == pytest.approx(2 / math.sqrt(0.5))
    assert stats.cliffs_delta([3, 4], [1, 2]) == 1.0
    assert stats.cliffs_delta([1, 3], [2, 2]) == 0.0
    assert stats.participants_for_power(0.5) == 64  # the textbook value for d = 0.5 (63.77 rounded up)
    assert stats.participants_for_power(0.0) is None
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == pytest.approx(0, abs=1e-12) and hi == pytest.approx(1.96**2 / (10 + 1.96**2), rel=1e-3)
    blo, bhi = stats.bootstrap_interval([10, 12, 14, 16], seed=1)
    assert 0.5 <= blo < 13 / 20 < bhi <= 0.8
    assert stats.bootstrap_interval([10, 12, 14, 16], seed=1) == (blo, bhi)


# --- the analysis stage ---------------------------------------------------------------------------

def study_rows() -> list[dict]:
    return (person("p1", "pre", answers(8, 2, 5, 5)) + person("p2", "pre", answers(5, 5, 4, 6))
            + person("p3", "pre", answers(3, 1, 0, 0), complete=False)
            + person("q1", "post", answers(9, 1, 3, 7)) + person("q2", "post", answers(7, 3, 2, 8))
            + person("e1", "expert", answers(10, 0, 0, 10)))


def test_analyze_writes_equation1_histogram_dprime_and_exclusions(tmp_path):
    write_trials(tmp_path, study_rows())
    summary = analyze(tmp_path, n_boot=500, n_permutations=1000)
    out = tmp_path / "study" / "analysis"
    assert c.ANALYSIS_SUMMARY.read(tmp_path).groups == summary.groups
    pre, post, expert = (summary["groups"][g] for g in ("pre", "post", "expert"))
    assert pre["participants"] == 2 and pre["excluded_incomplete"] == 1 and summary["excluded_incomplete"] == 1
    assert pre["accuracy"] == pytest.approx((13 + 11) / 40)
    assert post["accuracy"] == pytest.approx((16 + 15) / 40) and expert["accuracy"] == 1.0
    assert pre["histogram"][13] == 1 and pre["histogram"][11] == 1 and sum(pre["histogram"]) == 2
    assert pre["wilson_95"][0] < pre["accuracy"] < pre["wilson_95"][1]
    assert pre["dprime_mean"] == pytest.approx(
        (stats.dprime(8, 2, 5, 5).dprime + stats.dprime(5, 5, 4, 6).dprime) / 2)
    assert pre["dprime_pooled"] == pytest.approx(stats.dprime(13, 7, 9, 11).dprime)
    assert expert["paper_accuracy"] == 0.85
    post_pre = summary["comparisons"][0]
    assert (post_pre["a"], post_pre["b"]) == ("post", "pre") and post_pre["exact"]
    assert post_pre["accuracy_difference"] == pytest.approx(31 / 40 - 24 / 40)
    # 4 participants, C(4,2)=6 splits: scores post {16,15} vs pre {13,11} is the most extreme -> 2/6
    assert post_pre["p_value"] == pytest.approx(1 / 3)
    assert post_pre["participants_per_group_for_80_power"] >= 2
    expert_pre = summary["comparisons"][1]
    assert expert_pre["cliffs_delta"] == 1.0 and expert_pre["cohens_d"] is None  # one expert only
    rows = read_csv(out / "participants.csv")
    assert [r["participant"] for r in rows] == ["p1", "p2", "q1", "q2", "e1"]
    for name in ("figure9.png", "accuracy.png", "dprime.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_json(out / "config.json")["trials_per_participant"] == 20


def test_missing_group_is_reported_not_fatal(tmp_path):
    write_trials(tmp_path, person("p1", "pre", answers(5, 5, 5, 5)) + person("p2", "pre", answers(6, 4, 5, 5)))
    summary = analyze(tmp_path, n_boot=100, n_permutations=100)
    assert list(summary["groups"]) == ["pre"]
    assert all("no complete participants" in c["note"] for c in summary["comparisons"])


def test_bad_input_gets_a_clear_message_and_keeps_earlier_results(tmp_path):
    with pytest.raises(StageMissing, match="study export"):
        analyze(tmp_path)
    write_trials(tmp_path, study_rows())
    analyze(tmp_path, n_boot=100, n_permutations=100)
    before = (tmp_path / "study" / "analysis" / "summary.json").read_bytes()
    rows = study_rows()
    rows[3]["correct"] = 1 - int(rows[3]["correct"])
    write_trials(tmp_path, rows)
    with pytest.raises(LookalikeError, match=r"line 5: correct=.* contradicts"):
        analyze(tmp_path)
    rows = study_rows()
    rows[0]["truth"] = "maybe"
    write_trials(tmp_path, rows)
    with pytest.raises(LookalikeError, match="line 2: truth='maybe'"):
        analyze(tmp_path)
    (tmp_path / "study" / "trials.csv").write_text("participant,group\nx,pre\n")
    with pytest.raises(LookalikeError, match="lacks the column"):
        analyze(tmp_path)
    write_trials(tmp_path, person("p1", "pre", answers(5, 5, 5, 5)) * 2)
    with pytest.raises(LookalikeError, match="more than once"):
        analyze(tmp_path)
    assert (tmp_path / "study" / "analysis" / "summary.json").read_bytes() == before


def test_cli_arguments_and_handler(tmp_path, capsys):
    write_trials(tmp_path, study_rows())
    parser = argparse.ArgumentParser()
    add_analyze_arguments(parser)
    args = parser.parse_args([str(tmp_path), "--bootstrap", "200", "--permutations", "200"])
    args.seed, args.json = 0, False
    summary = run_analyze(args)
    assert summary["participants_analysed"] == 5
    assert "post vs pre" in capsys.readouterr().err


def test_analyze_exports_from_the_study_database_when_trials_csv_is_missing(tmp_path):
    """End to end with the real study app: simulated participants over HTTP, then analysis from SQLite."""
    from lookalike.cli import main
    from lookalike.fakerun import make_fake_run

    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    for group, acc in (("pre", "0.5"), ("post", "0.9")):
        assert main(["study", "simulate", str(run.root), "--group", group, "--n", "3", "--accuracy", acc]) == 0
    exported = run.study / "trials.csv"
    rows = read_csv(exported)
    exported.unlink()
    summary = analyze(run, n_boot=200, n_permutations=200)
    assert read_csv(exported) == rows  # re-exported from study.sqlite
    assert summary["participants_analysed"] == 6 and summary["excluded_incomplete"] == 0
    post = summary["groups"]["post"]
    assert post["correct"] == sum(int(r["correct"]) for r in rows if r["group"] == "post" and r["catch"] == "0")
    assert post["simulated"] == 3 and "simulated" in post["label"] and summary["simulated_participants"] == 6


def test_only_unfinished_sessions_give_counts_and_no_figures(tmp_path):
    write_trials(tmp_path, person("p1", "pre", answers(3, 2, 1, 1), complete=False)
                 + person("p2", "post", answers(5, 5, 5, 5)[:19], complete=True))  # 19 of 20: not finished
    summary = analyze(tmp_path, n_boot=100, n_permutations=100)
    assert summary["participants_analysed"] == 0 and summary["excluded_incomplete"] == 2
    assert summary["groups"]["pre"]["accuracy"] is None and summary["figures"] == {}
    assert not (tmp_path / "study" / "analysis" / "figure9.png").exists()
