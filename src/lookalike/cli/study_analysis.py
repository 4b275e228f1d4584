"""`lookalike study analyze`: its arguments, its handler and the table it prints."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..study import stats
from ..study.analysis.scoring import DPRIME_CONVENTION


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `lookalike study analyze` (the study CLI owns the subcommand itself)."""
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


def run_analyze(args: argparse.Namespace) -> Any:
    """Handler of `lookalike study analyze`: analyse, print a short table, return the summary."""
    from .. import api

    summary = api.study_analyze(args.run, seed=getattr(args, "seed", 0), trials=args.trials,
                                bootstrap=args.bootstrap, permutations=args.permutations,
                                trials_csv=getattr(args, "trials_csv", None))
    if not getattr(args, "json", False):
        print(format_table(summary), file=sys.stderr)
    return summary


def format_table(summary: Any) -> str:
    """Plain-text overview for the terminal."""
    lines = [f"{'group':8} {'M':>3} {'excl':>4} {'accuracy':>9} {'95% (bootstrap)':>17} {'paper':>7} {'d′':>6}"]
    for name, g in summary["groups"].items():
        lo, hi = g["bootstrap_95"]
        ci = "–" if lo is None else f"{100 * lo:.1f}–{100 * hi:.1f}%"
        acc, paper = _pct(g["accuracy"]), _pct(g["paper_accuracy"])
        dp = "–" if g["dprime_mean"] is None else f"{g['dprime_mean']:.2f}"
        sim = f"  ({g['simulated']} simulated)" if g.get("simulated") else ""
        lines.append(f"{name:8} {g['participants']:>3} {g['excluded_incomplete']:>4} {acc:>9} {ci:>17} "
                     f"{paper:>7} {dp:>6}{sim}")
    for c in summary["comparisons"]:
        sim = any(summary["groups"].get(k, {}).get("simulated") for k in (c["a"], c["b"]))
        if "p_value" in c and sim:
            lines.append(f"{c['a']} vs {c['b']} (simulated participants): {100 * c['accuracy_difference']:+.1f} "
                         f"points, p = {c['p_value']:.3g}")
        elif "p_value" in c:
            n80 = c["participants_per_group_for_80_power"]
            d = "–" if c["cohens_d"] is None else f"{c['cohens_d']:.2f}"
            lines.append(f"{c['a']} vs {c['b']}: {100 * c['accuracy_difference']:+.1f} points, "
                         f"p = {c['p_value']:.3g}, d = {d}, "
                         f"n for 80% power = {n80 if n80 is not None else '–'} per group")
        else:
            lines.append(f"{c['a']} vs {c['b']}: {c['note']}")
    return "\n".join(lines + preregistration_lines(summary))


def preregistration_lines(summary: Any) -> list[str]:
    """Who the declared rules excluded, and every deviation from the preregistration."""
    lines = []
    ex = summary.get("exclusions") or {}
    hits = [f"{r['id']} {r['n']}" for r in ex.get("rules", []) if r["n"]]
    if ex:
        lines.append(f"excluded: {ex['excluded']} of {ex['participants']} ({', '.join(hits) or 'no rule applied'})")
    pre = summary.get("preregistration")
    if pre is None:
        lines.append("not preregistered (`lookalike study preregister RUN` before data)")
    else:
        lines.append(f"{len(pre['deviations'])} deviation(s) from the preregistration:")
        lines += [f"  - {d['what']}" for d in pre["deviations"]]
    return lines
