"""`lookalike study analyze`: what the human study shows (paper §6, equation 1, Figure 9).

Reads `RUN/study/trials.csv` (one row per trial, written by `lookalike study
export`), keeps the participants who finished, and writes to
`RUN/study/analysis/`: equation-(1) accuracy per group with 95% intervals,
the Figure-9 histograms, permutation tests with effect sizes, d′ and
criterion, and the group size a replication needs for 80% power.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..io import atomic_write_csv, read_csv, save_figure
from ..runfolder import Run, StageMissing, write_config, write_summary
from . import stats

GROUPS = ("pre", "post", "expert")
GROUP_LABELS = {
    "pre": "pre-test novices (no hint)",
    "post": "post-test novices (with the hint)",
    "expert": "experts (know both people, no hint)",
}
GROUP_COLOURS = {"pre": "#8c8c8c", "post": "#000000", "expert": "#d62728"}  # Figure 9: gray, black, red
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
COLUMNS = ["participant", "group", "complete", "trial", "image_a", "image_b", "truth", "answer",
           "correct", "response_ms", "shown_ms"]
ANSWERS = ("same", "different")
DPRIME_CONVENTION = (
    "signal = a pair of the same person; hit = 'same' answered to a same pair; false alarm = 'same' "
    "answered to a pair of two people; log-linear correction (Hautus 1995): +0.5 to hits and false "
    "alarms and +1 to the number of same and of different pairs, for every participant; "
    "criterion c = -(z(H)+z(F))/2, positive = biased towards 'different'"
)


@dataclass
class ParticipantScore:
    participant: str
    group: str
    trials: int
    correct: int
    accuracy: float
    hits: int
    misses: int
    false_alarms: int
    correct_rejections: int
    hit_rate: float
    false_alarm_rate: float
    dprime: float
    criterion: float
    median_response_ms: float
    median_shown_ms: float


def _bad(path: Path, line: int, msg: str) -> SystemExit:
    return SystemExit(f"{path}, line {line}: {msg}")


def _number(value: str, path: Path, line: int, column: str) -> float:
    if value is None or value.strip() == "":
        return float("nan")
    try:
        return float(value)
    except ValueError:
        raise _bad(path, line, f"{column}={value!r} is not a number") from None


def load_trials(path: Path) -> list[dict[str, Any]]:
    """Read and validate trials.csv; stop with the file and line of the first bad value."""
    path = Path(path)
    try:
        rows = read_csv(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"cannot read {path}: {exc}") from None
    if rows:
        missing = [c for c in COLUMNS if c not in rows[0]]
        if missing:
            raise SystemExit(f"{path} lacks the column(s) {', '.join(missing)}; expected: {','.join(COLUMNS)}")
    out = []
    for line, row in enumerate(rows, start=2):
        group = (row["group"] or "").strip()
        if not group:
            raise _bad(path, line, "empty group")
        truth = (row["truth"] or "").strip().lower()
        if truth not in ANSWERS:
            raise _bad(path, line, f"truth={row['truth']!r}; expected same or different")
        answer = (row["answer"] or "").strip().lower()
        if answer and answer not in ANSWERS:
            raise _bad(path, line, f"answer={row['answer']!r}; expected same, different or empty")
        complete = (row["complete"] or "").strip()
        if complete not in ("0", "1"):
            raise _bad(path, line, f"complete={row['complete']!r}; expected 0 or 1")
        correct_text = (row["correct"] or "").strip()
        if answer:
            if correct_text not in ("0", "1"):
                raise _bad(path, line, f"correct={row['correct']!r}; expected 0 or 1")
            if int(correct_text) != int(answer == truth):
                raise _bad(path, line, f"correct={correct_text} contradicts truth={truth}, answer={answer}")
        try:
            trial = int(row["trial"])
        except (TypeError, ValueError):
            raise _bad(path, line, f"trial={row['trial']!r} is not an integer") from None
        out.append({
            "participant": (row["participant"] or "").strip(), "group": group, "complete": complete == "1",
            "trial": trial, "truth": truth, "answer": answer, "correct": int(answer == truth) if answer else None,
            "response_ms": _number(row["response_ms"], path, line, "response_ms"),
            "shown_ms": _number(row["shown_ms"], path, line, "shown_ms"), "line": line,
        })
    return out


def _median(values: list[float]) -> float:
    vals = sorted(v for v in values if math.isfinite(v))
    if not vals:
        return float("nan")
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def score_participants(
    rows: list[dict[str, Any]], trials_per_participant: int, path: Path | str = "trials.csv",
) -> tuple[list[ParticipantScore], dict[str, dict[str, int]]]:
    """Score each participant who finished; count, per group, those who did not."""
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_person[row["participant"]].append(row)
    scores: list[ParticipantScore] = []
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"complete": 0, "excluded_incomplete": 0})
    for pid, trials in by_person.items():
        groups = {t["group"] for t in trials}
        if len(groups) > 1:
            raise SystemExit(f"{path}: participant {pid!r} appears in several groups: {sorted(groups)}")
        group = groups.pop()
        seen = [t["trial"] for t in trials]
        if len(seen) != len(set(seen)):
            dup = sorted({s for s in seen if seen.count(s) > 1})
            raise SystemExit(f"{path}: participant {pid!r} has trial(s) {dup} more than once")
        answered = [t for t in trials if t["answer"]]
        finished = all(t["complete"] for t in trials) and len(answered) >= trials_per_participant
        if len(answered) > trials_per_participant:
            raise SystemExit(f"{path}: participant {pid!r} answered {len(answered)} pairs; the study has "
                             f"{trials_per_participant} (set --trials if yours differs)")
        if not finished:
            counts[group]["excluded_incomplete"] += 1
            continue
        counts[group]["complete"] += 1
        tally = {"hits": 0, "misses": 0, "false_alarms": 0, "correct_rejections": 0}
        for t in answered:
            key = {("same", "same"): "hits", ("same", "different"): "misses",
                   ("different", "same"): "false_alarms", ("different", "different"): "correct_rejections"}
            tally[key[(t["truth"], t["answer"])]] += 1
        det = stats.dprime(**tally)
        correct = tally["hits"] + tally["correct_rejections"]
        scores.append(ParticipantScore(
            participant=pid, group=group, trials=len(answered), correct=correct,
            accuracy=correct / len(answered), **tally, hit_rate=det.hit_rate,
            false_alarm_rate=det.false_alarm_rate, dprime=det.dprime, criterion=det.criterion,
            median_response_ms=_median([t["response_ms"] for t in answered]),
            median_shown_ms=_median([t["shown_ms"] for t in answered]),
        ))
    scores.sort(key=lambda s: (_group_order(s.group), s.participant))
    return scores, dict(counts)


def _group_order(group: str) -> tuple[int, str]:
    return (GROUPS.index(group), "") if group in GROUPS else (len(GROUPS), group)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _sd(values: list[float]) -> float:
    if len(values) < 2:
        return float("nan")
    m = _mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def summarise_group(
    group: str, members: list[ParticipantScore], counts: dict[str, int], trials: int, n_boot: int, seed: int,
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
        "dprime_mean": _mean([p.dprime for p in members]),
        "dprime_sd": _sd([p.dprime for p in members]),
        "criterion_mean": _mean([p.criterion for p in members]),
        "dprime_pooled": pooled.dprime if members else float("nan"),
        "criterion_pooled": pooled.criterion if members else float("nan"),
        "median_response_ms": _median([p.median_response_ms for p in members]),
        "median_shown_ms": _median([p.median_shown_ms for p in members]),
        "paper_accuracy": PAPER.get(group, {}).get("accuracy"),
        "paper_participants": PAPER.get(group, {}).get("participants"),
    }


def compare(
    a: str, b: str, question: str, by_group: dict[str, list[ParticipantScore]], trials: int,
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


def plot_figure9(groups: dict[str, dict[str, Any]], trials: int, path: Path) -> Path:
    """Figure 9: correct answers per participant, one panel per group (pre gray, post black, expert red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import binom

    names = list(groups)
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.2 * max(1, len(names)), 3.4),
                             sharey=True, squeeze=False)
    top = max([max(g["histogram"]) for g in groups.values()] + [1])
    for ax, name in zip(axes[0], names):
        g = groups[name]
        ax.bar(range(trials + 1), g["histogram"], width=0.85, color=GROUP_COLOURS.get(name, "#1f77b4"))
        chance = binom.pmf(range(trials + 1), trials, 0.5) * g["participants"]
        ax.plot(range(trials + 1), chance, ls="--", lw=1, color="#1f77b4", label="guessing (expected)")
        acc = g["accuracy"]
        ax.set_title(f"{name}: M={g['participants']}, accuracy "
                     + ("–" if not math.isfinite(acc) else f"{100 * acc:.1f}%"), fontsize=10)
        ax.set_xlabel(f"correct answers (of {trials})")
        ax.set_xlim(-0.7, trials + 0.7)
        ax.set_xticks(range(0, trials + 1, max(1, trials // 10)))
        ax.set_ylim(0, top + 0.8)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("participants")
    axes[0][0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.suptitle("Figure 9: correct answers per participant", fontsize=11)
    fig.tight_layout()
    return save_figure(path, fig)


def plot_accuracy(groups: dict[str, dict[str, Any]], path: Path) -> Path:
    """Equation-(1) accuracy per group with bootstrap 95% intervals, beside the paper's values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(groups)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2.4, 3.4))
    for i, name in enumerate(names):
        g = groups[name]
        lo, hi = g["bootstrap_95"]
        acc = g["accuracy"]
        ax.bar(i, 100 * acc, width=0.6, color=GROUP_COLOURS.get(name, "#1f77b4"),
               label="this study (bootstrap 95%)" if i == 0 else None)
        if math.isfinite(lo):
            ax.errorbar(i, 100 * acc, yerr=[[100 * (acc - lo)], [100 * (hi - acc)]], color="#1f77b4",
                        capsize=5, lw=1.5)
        if g.get("paper_accuracy") is not None:
            first = "paper" not in ax.get_legend_handles_labels()[1]
            ax.plot(i, 100 * g["paper_accuracy"], marker="D", color="#ff9f1c", ms=8, ls="none",
                    label="paper" if first else None)
    ax.axhline(50, ls=":", color="0.4", lw=1)
    ax.text(len(names) - 0.5, 51, "chance", ha="right", fontsize=8, color="0.3")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("accuracy, equation (1) [%]")
    ax.set_ylim(0, 100)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return save_figure(path, fig)


def plot_dprime(scores: list[ParticipantScore], groups: list[str], path: Path) -> Path:
    """d′ of every participant by group (jittered), with the group mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 2.4, 3.4))
    for i, name in enumerate(groups):
        vals = [p.dprime for p in scores if p.group == name]
        if not vals:
            continue
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(vals)), vals, s=22, alpha=0.8,
                   color=GROUP_COLOURS.get(name, "#1f77b4"), edgecolor="white", linewidth=0.5)
        ax.hlines(_mean(vals), i - 0.28, i + 0.28, color="#1f77b4", lw=2)
    ax.axhline(0, ls=":", color="0.4", lw=1)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel("d′ (log-linear corrected)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return save_figure(path, fig)


def _export_from_database(run: Run) -> None:
    """Write study/trials.csv from study.sqlite with the study app's own exporter (as `study export` does)."""
    try:
        from . import export as exporter
    except ImportError:
        return
    if hasattr(exporter, "export_trials"):
        exporter.export_trials(run)
        return
    try:
        from .setup import db_path
        from .store import Store
    except ImportError:
        return
    store = Store(db_path(run))
    try:
        if store.initialised():
            exporter.export_study(run, store)
    finally:
        store.close()


def _trials_csv(run: Run) -> Path:
    """The exported trials, exporting them from the study database first when only that exists."""
    path = run.study / "trials.csv"
    if not path.exists() and (run.study / "study.sqlite").exists():
        _export_from_database(run)
    if not path.exists():
        raise StageMissing(f"{path} is missing: run the study (`lookalike study serve {run.root}` or "
                           f"`lookalike study simulate {run.root}`) and `lookalike study export {run.root}` first")
    return path


def analyze(
    run: Run | str | Path, trials: int = stats.TRIALS_PER_PARTICIPANT, n_boot: int = 10_000,
    n_permutations: int = 20_000, seed: int = 0, trials_csv: Path | str | None = None,
) -> dict[str, Any]:
    """Analyse the study of `run`; writes `study/analysis/` and returns its summary."""
    run = run if isinstance(run, Run) else Run(run)
    if trials < 1:
        raise SystemExit("--trials must be at least 1")
    if n_boot < 100 or n_permutations < 100:
        raise SystemExit("--bootstrap and --permutations need at least 100 resamples each")
    source = Path(trials_csv) if trials_csv else _trials_csv(run)
    if not source.exists():
        raise SystemExit(f"{source} does not exist")
    rows = load_trials(source)
    if not rows:
        raise SystemExit(f"{source} has no trials yet: nobody has taken part")
    scores, counts = score_participants(rows, trials, source)
    out = run.study / "analysis"
    config = {"trials_csv": str(source), "trials_per_participant": trials, "bootstrap_resamples": n_boot,
              "permutations": n_permutations, "seed": seed, "alpha": 0.05, "power": 0.8}

    group_names = sorted(counts, key=_group_order)
    by_group = {g: [p for p in scores if p.group == g] for g in group_names}
    groups = {g: summarise_group(g, by_group[g], counts[g], trials, n_boot, seed) for g in group_names}
    comparisons = [compare(a, b, q, by_group, trials, n_permutations, seed) for a, b, q in COMPARISONS
                   if a in counts or b in counts]
    tested = [c for c in comparisons if "p_value" in c]
    for c, adj in zip(tested, stats.holm([c["p_value"] for c in tested])):
        c["p_value_holm"] = adj

    atomic_write_csv(out / "participants.csv", [asdict(p) for p in scores],
                     list(ParticipantScore.__dataclass_fields__))
    figures = {}
    shown = {g: v for g, v in groups.items() if v["participants"] > 0}
    if shown:
        figures["figure9"] = plot_figure9(shown, trials, out / "figure9.png").name
        figures["accuracy"] = plot_accuracy(shown, out / "accuracy.png").name
        figures["dprime"] = plot_dprime(scores, list(shown), out / "dprime.png").name
    for stale in {"figure9.png", "accuracy.png", "dprime.png"} - set(figures.values()):
        (out / stale).unlink(missing_ok=True)  # never leave a figure of an earlier, different analysis

    summary = {
        "stage": "study analyze",
        "trials_csv": str(source),
        "rows": len(rows),
        "participants_analysed": len(scores),
        "excluded_incomplete": sum(c["excluded_incomplete"] for c in counts.values()),
        "trials_per_participant": trials,
        "groups": groups,
        "comparisons": comparisons,
        "conventions": {
            "accuracy": "equation (1): sum of correct answers / (M x N), M complete participants, N pairs each",
            "wilson_95": "Wilson score interval over all trials of the group (assumes independent trials)",
            "bootstrap_95": f"percentile bootstrap over participants, {n_boot} resamples",
            "tests": "two-sided permutation test of the difference in mean correct answers per participant "
                     "(exact when all relabellings fit in the budget); Holm-adjusted over the comparisons",
            "effect_sizes": "Cohen's d with pooled SD; Cliff's delta = P(a>b) - P(a<b)",
            "power": "participants per group for a two-sided two-sample t-test, alpha 0.05, power 0.8, "
                     "at the observed Cohen's d",
            "dprime": DPRIME_CONVENTION,
            "excluded": "participants who did not answer all pairs or whose session is not marked complete",
        },
        "figures": figures,
        "files": ["participants.csv", *figures.values()],
    }
    write_config(out, config)
    return write_summary(out, finite(summary))


def finite(obj: Any) -> Any:
    """Undefined numbers (nan, inf) become None so summary.json is strict JSON any reader can parse."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `lookalike study analyze` (the study CLI owns the subcommand itself)."""
    if not any(a.dest == "run" for a in parser._actions):
        parser.add_argument("run", metavar="RUN", help="run folder whose study/trials.csv to analyse")
    parser.add_argument("--trials", type=int, default=stats.TRIALS_PER_PARTICIPANT,
                        help="pairs per participant, N in equation (1) (default 20)")
    parser.add_argument("--bootstrap", type=int, default=10_000, metavar="B",
                        help="bootstrap resamples for the 95%% intervals (default 10000)")
    parser.add_argument("--permutations", type=int, default=20_000, metavar="P",
                        help="random relabellings for the permutation tests; exact when fewer exist "
                             "(default 20000)")
    parser.add_argument("--trials-csv", default=None, metavar="CSV",
                        help="analyse this CSV instead of RUN/study/trials.csv")
    parser.epilog = ("Writes RUN/study/analysis/: summary.json (per group: equation-(1) accuracy, Wilson and "
                     "bootstrap 95% intervals, Figure-9 histogram, d′ and criterion; per comparison: permutation "
                     "p-value, Cohen's d, Cliff's delta, participants per group for 80% power), participants.csv, "
                     "figure9.png, accuracy.png, dprime.png. Sessions that were not finished are excluded and "
                     "counted. d′: " + DPRIME_CONVENTION + ".")


def run_analyze(args: argparse.Namespace) -> dict[str, Any]:
    """Handler of `lookalike study analyze`: analyse, print a short table, return the summary."""
    import sys

    summary = analyze(Run(args.run), trials=args.trials, n_boot=args.bootstrap,
                      n_permutations=args.permutations, seed=getattr(args, "seed", 0),
                      trials_csv=getattr(args, "trials_csv", None))
    if not getattr(args, "json", False):
        print(format_table(summary), file=sys.stderr)
    return summary


def format_table(summary: dict[str, Any]) -> str:
    """Plain-text overview for the terminal."""
    lines = [f"{'group':8} {'M':>3} {'excl':>4} {'accuracy':>9} {'95% (bootstrap)':>17} {'paper':>7} {'d′':>6}"]
    for name, g in summary["groups"].items():
        lo, hi = g["bootstrap_95"]
        ci = "–" if lo is None else f"{100 * lo:.1f}–{100 * hi:.1f}%"
        acc, paper = _pct(g["accuracy"]), _pct(g["paper_accuracy"])
        dp = "–" if g["dprime_mean"] is None else f"{g['dprime_mean']:.2f}"
        lines.append(f"{name:8} {g['participants']:>3} {g['excluded_incomplete']:>4} {acc:>9} {ci:>17} "
                     f"{paper:>7} {dp:>6}")
    for c in summary["comparisons"]:
        if "p_value" in c:
            n80 = c["participants_per_group_for_80_power"]
            d = "–" if c["cohens_d"] is None else f"{c['cohens_d']:.2f}"
            lines.append(f"{c['a']} vs {c['b']}: {100 * c['accuracy_difference']:+.1f} points, "
                         f"p = {c['p_value']:.3g}, d = {d}, "
                         f"n for 80% power = {n80 if n80 is not None else '–'} per group")
        else:
            lines.append(f"{c['a']} vs {c['b']}: {c['note']}")
    return "\n".join(lines)
