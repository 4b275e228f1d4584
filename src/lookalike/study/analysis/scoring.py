"""Scoring the study: each participant's answers, each group's equation-(1) accuracy, the tests between groups.

Pure functions on validated trials (see `loading`); the unit of analysis is
the participant, as in the paper.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from ...contract import ParticipantRow
from ...errors import InputError
from .. import stats
from ..design import GROUPS

GROUP_LABELS = {
    "pre": "pre-test novices (no hint)",
    "post": "post-test novices (with the hint)",
    "expert": "experts (know both people, no hint)",
}
PAPER = {  # paper §6: accuracy by equation (1) and group sizes
    "pre": {"accuracy": 0.5267, "participants": 15},
    "post": {"accuracy": 0.6367, "participants": 15},
    "expert": {"accuracy": 0.85, "participants": 5},
}
COMPARISONS = (  # (a, b, question): the test asks whether group a differs from group b
    ("post", "pre", "Does the hint help novices? (post-test vs pre-test)"),
    ("expert", "pre", "Do experts beat novices without a hint? (experts vs pre-test)"),
    ("expert", "post", "Does the hint close the gap to experts? (experts vs post-test)"),
)
DPRIME_CONVENTION = (
    "signal = a pair of the same person; hit = 'same' answered to a same pair; false alarm = 'same' "
    "answered to a pair of two people; log-linear correction (Hautus 1995): +0.5 to hits and false "
    "alarms and +1 to the number of same and of different pairs, for every participant; "
    "criterion c = -(z(H)+z(F))/2, positive = biased towards 'different'"
)


def median(values: list[float]) -> float:
    vals = sorted(v for v in values if math.isfinite(v))
    if not vals:
        return float("nan")
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


OUTCOMES = {("same", "same"): "hits", ("same", "different"): "misses",
            ("different", "same"): "false_alarms", ("different", "different"): "correct_rejections"}


def _check_participant(pid: str, trials: list[dict[str, Any]], trials_per_participant: int,
                       path: Path | str) -> tuple[str, list[dict[str, Any]]]:
    """The participant's one group and answered trials; stops on rows that cannot belong to one session."""
    groups = {t["group"] for t in trials}
    if len(groups) > 1:
        raise InputError(f"{path}: participant {pid!r} appears in several groups: {sorted(groups)}")
    seen = [t["trial"] for t in trials]
    if len(seen) != len(set(seen)):
        dup = sorted({s for s in seen if seen.count(s) > 1})
        raise InputError(f"{path}: participant {pid!r} has trial(s) {dup} more than once")
    answered = [t for t in trials if t["answer"]]
    if len(answered) > trials_per_participant:
        raise InputError(f"{path}: participant {pid!r} answered {len(answered)} pairs; the study has "
                         f"{trials_per_participant} (set --trials if yours differs)")
    return groups.pop(), answered


def score_one(pid: str, group: str, answered: list[dict[str, Any]]) -> ParticipantRow:
    """Accuracy, the signal-detection tally, d′ and median times of one finished session."""
    tally = {"hits": 0, "misses": 0, "false_alarms": 0, "correct_rejections": 0}
    for t in answered:
        tally[OUTCOMES[(t["truth"], t["answer"])]] += 1
    det = stats.dprime(**tally)
    correct = tally["hits"] + tally["correct_rejections"]
    return ParticipantRow(
        participant=pid, group=group, trials=len(answered), correct=correct,
        accuracy=correct / len(answered), **tally, hit_rate=det.hit_rate,
        false_alarm_rate=det.false_alarm_rate, dprime=det.dprime, criterion=det.criterion,
        median_response_ms=median([t["response_ms"] for t in answered]),
        median_shown_ms=median([t["shown_ms"] for t in answered]),
    )


def score_participants(
    rows: list[dict[str, Any]], trials_per_participant: int, path: Path | str = "trials.csv",
) -> tuple[list[ParticipantRow], dict[str, dict[str, int]]]:
    """Score each participant who finished; count, per group, those who did not."""
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_person[row["participant"]].append(row)
    scores: list[ParticipantRow] = []
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"complete": 0, "excluded_incomplete": 0})
    for pid, trials in by_person.items():
        group, answered = _check_participant(pid, trials, trials_per_participant, path)
        if not (all(t["complete"] for t in trials) and len(answered) >= trials_per_participant):
            counts[group]["excluded_incomplete"] += 1
            continue
        counts[group]["complete"] += 1
        scores.append(score_one(pid, group, answered))
    scores.sort(key=lambda s: (group_order(s.group), s.participant))
    return scores, dict(counts)


def group_order(group: str) -> tuple[int, str]:
    return (GROUPS.index(group), "") if group in GROUPS else (len(GROUPS), group)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def sd(values: list[float]) -> float:
    if len(values) < 2:
        return float("nan")
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def summarise_group(
    group: str, members: list[ParticipantRow], counts: dict[str, int], trials: int, n_boot: int, seed: int,
) -> dict[str, Any]:
    """Equation (1), its intervals, the Figure-9 histogram and pooled d′ for one group."""
    correct = [p.correct for p in members]
    pooled = stats.dprime(sum(p.hits for p in members), sum(p.misses for p in members),
                          sum(p.false_alarms for p in members), sum(p.correct_rejections for p in members))
    histogram = [0] * (trials + 1)
    for c in correct:
        histogram[c] += 1
    return {
        "label": GROUP_LABELS.get(group, group),
        "participants": len(members),
        "excluded_incomplete": counts.get("excluded_incomplete", 0),
        "correct": sum(correct),
        "trials": len(members) * trials,
        "accuracy": stats.equation1_accuracy(correct, trials),
        "wilson_95": stats.wilson_interval(sum(correct), len(members) * trials),
        "bootstrap_95": stats.bootstrap_interval(correct, trials, n_boot=n_boot, seed=seed),
        "correct_min": min(correct) if correct else None,
        "correct_max": max(correct) if correct else None,
        "histogram": histogram,
        "dprime_mean": mean([p.dprime for p in members]),
        "dprime_sd": sd([p.dprime for p in members]),
        "criterion_mean": mean([p.criterion for p in members]),
        "dprime_pooled": pooled.dprime if members else float("nan"),
        "criterion_pooled": pooled.criterion if members else float("nan"),
        "median_response_ms": median([p.median_response_ms for p in members]),
        "median_shown_ms": median([p.median_shown_ms for p in members]),
        "paper_accuracy": PAPER.get(group, {}).get("accuracy"),
        "paper_participants": PAPER.get(group, {}).get("participants"),
    }


def compare(
    a: str, b: str, question: str, by_group: dict[str, list[ParticipantRow]], trials: int,
    n_permutations: int, seed: int,
) -> dict[str, Any]:
    """Permutation test of group a against group b on participant scores, with effect sizes and power."""
    xa = [p.correct for p in by_group.get(a, [])]
    xb = [p.correct for p in by_group.get(b, [])]
    out: dict[str, Any] = {"a": a, "b": b, "question": question, "n_a": len(xa), "n_b": len(xb)}
    if not xa or not xb:
        missing = [g for g, x in ((a, xa), (b, xb)) if not x]
        out["note"] = f"no complete participants in {' and '.join(missing)}"
        return out
    test = stats.permutation_test(xa, xb, n_resamples=n_permutations, seed=seed)
    dtest = stats.permutation_test([p.dprime for p in by_group[a]], [p.dprime for p in by_group[b]],
                                   n_resamples=n_permutations, seed=seed)
    d = stats.cohens_d(xa, xb)
    out.update({
        "accuracy_difference": test.difference / trials,
        "p_value": test.p_value,
        "exact": test.exact,
        "permutations": test.n_permutations,
        "cohens_d": d,
        "cliffs_delta": stats.cliffs_delta(xa, xb),
        "dprime_difference": dtest.difference,
        "dprime_p_value": dtest.p_value,
        "participants_per_group_for_80_power": stats.participants_for_power(d),
    })
    return out


def summarise_groups(scores: list[ParticipantRow], counts: dict[str, dict[str, int]], trials: int,
                     n_boot: int, seed: int) -> tuple[dict[str, list[ParticipantRow]], dict[str, dict[str, Any]]]:
    """Participants by group (in the paper's order) and each group's summary."""
    names = sorted(counts, key=group_order)
    by_group = {g: [p for p in scores if p.group == g] for g in names}
    return by_group, {g: summarise_group(g, by_group[g], counts[g], trials, n_boot, seed) for g in names}


def compare_all(by_group: dict[str, list[ParticipantRow]], trials: int, n_permutations: int,
                seed: int) -> list[dict[str, Any]]:
    """The paper's three comparisons that involve a group present, Holm-adjusted over those tested."""
    comparisons = [compare(a, b, q, by_group, trials, n_permutations, seed) for a, b, q in COMPARISONS
                   if a in by_group or b in by_group]
    tested = [c for c in comparisons if "p_value" in c]
    for c, adj in zip(tested, stats.holm([c["p_value"] for c in tested])):
        c["p_value_holm"] = adj
    return comparisons
