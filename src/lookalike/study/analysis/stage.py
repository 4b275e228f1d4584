"""`analyze`: the human study's analysis as a stage, from `study/trials.csv` to `study/analysis/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...contract import ANALYSIS_SUMMARY, PARTICIPANTS, AnalysisSummary, ParticipantRow, finite, write_config
from ...errors import InputError, SettingError
from ...io import read_json
from ...runfolder import Run
from .. import stats
from .exclusion import apply_rules, excluded_per_group
from .loading import load_trials, trials_csv
from .plots import plot_accuracy, plot_dprime, plot_figure9
from .scoring import (
    DPRIME_CONVENTION,
    compare_all,
    score_participants,
    summarise_groups,
)

FIGURES = ("figure9.png", "accuracy.png", "dprime.png")


def conventions(n_boot: int) -> dict[str, str]:
    """How every number in the summary is computed, in words, stored beside the numbers."""
    return {
        "accuracy": "equation (1): sum of correct answers / (M x N), M complete participants, N pairs each",
        "wilson_95": "Wilson score interval over all trials of the group (assumes independent trials)",
        "bootstrap_95": f"percentile bootstrap over participants, {n_boot} resamples",
        "tests": "two-sided permutation test of the difference in mean correct answers per participant "
                 "(exact when all relabellings fit in the budget); Holm-adjusted over the comparisons",
        "effect_sizes": "Cohen's d with pooled SD; Cliff's delta = P(a>b) - P(a<b)",
        "power": "participants per group for a two-sided two-sample t-test, alpha 0.05, power 0.8, "
                 "at the observed Cohen's d",
        "dprime": DPRIME_CONVENTION,
        "excluded": "by the declared rules of study/rules.py, listed with their counts under 'exclusions'; "
                    "catch trials are not part of equation (1)",
        "simulated": "participants played by `lookalike study simulate` are counted and labelled simulated",
    }


def write_figures(out: Path, groups: dict[str, dict[str, Any]], scores: list[ParticipantRow],
                  trials: int) -> dict[str, str]:
    """The three figures for the groups with participants; figures of an earlier, different analysis go."""
    figures = {}
    shown = {g: v for g, v in groups.items() if v["participants"] > 0}
    if shown:
        figures["figure9"] = plot_figure9(shown, trials, out / "figure9.png").name
        figures["accuracy"] = plot_accuracy(shown, out / "accuracy.png").name
        figures["dprime"] = plot_dprime(scores, list(shown), out / "dprime.png").name
    for stale in set(FIGURES) - set(figures.values()):
        (out / stale).unlink(missing_ok=True)
    return figures


def label_groups(groups: dict[str, dict[str, Any]], decisions: list[Any],
                 excluded: dict[str, dict[str, int]]) -> None:
    """Per group: how many analysed participants were simulated (said beside every result), and who each rule excluded."""
    for name, g in groups.items():
        g["simulated"] = sum(d.included and d.simulated and d.group == name for d in decisions)
        g["excluded"] = excluded.get(name, {})
        if g["simulated"]:
            g["label"] += f" — {'all' if g['simulated'] == g['participants'] else g['simulated']} simulated"


def check_preregistration(run: Run, config: dict[str, Any], groups: dict[str, dict[str, Any]],
                          exclusions: dict[str, Any]) -> dict[str, Any] | None:
    """The deviations from study/preregistration.json, or None when the study was not preregistered."""
    from ..preregister import deviations
    from .exclusion import study_settings

    design, rules = study_settings(run.study)
    settings = run.study / "config.json"
    stimuli = (read_json(settings) if settings.is_file() else {}).get("stimuli_sha256")
    analysed = {g: v["participants"] for g, v in groups.items()}
    simulated = sum(v.get("simulated", 0) for v in groups.values())
    return deviations(run, design, rules, config, analysed, exclusions["checked"], simulated,
                      stimuli)


def _check_settings(trials: int, n_boot: int, n_permutations: int) -> None:
    if trials < 1:
        raise SettingError("--trials must be at least 1")
    if n_boot < 100 or n_permutations < 100:
        raise SettingError("--bootstrap and --permutations need at least 100 resamples each")


def _read_rows(run: Run, trials_csv_path: Path | str | None) -> tuple[Path, list[dict[str, Any]]]:
    source = Path(trials_csv_path) if trials_csv_path else trials_csv(run)
    if not source.exists():
        raise InputError(f"{source} does not exist")
    rows = load_trials(source)
    if not rows:
        raise InputError(f"{source} has no trials yet: nobody has taken part")
    return source, rows


def analyze(
    run: Run | str | Path, trials: int = stats.TRIALS_PER_PARTICIPANT, n_boot: int = 10_000,
    n_permutations: int = 20_000, seed: int = 0, trials_csv: Path | str | None = None,
) -> AnalysisSummary:
    """Analyse the study of `run`; writes `study/analysis/` and returns its summary."""
    run = run if isinstance(run, Run) else Run(run)
    _check_settings(trials, n_boot, n_permutations)
    source, rows = _read_rows(run, trials_csv)
    decisions, exclusions, kept = apply_rules(rows, source, run.study, trials)
    scores, counts = score_participants(kept, trials, source)
    by_group, groups = summarise_groups(scores, counts, trials, n_boot, seed)
    label_groups(groups, decisions, excluded_per_group(decisions, rows))
    comparisons = compare_all(by_group, trials, n_permutations, seed)
    config = {"trials_csv": str(source), "trials_per_participant": trials, "bootstrap_resamples": n_boot,
              "permutations": n_permutations, "seed": seed, "alpha": 0.05, "power": 0.8}
    preregistration = check_preregistration(run, config, groups, exclusions)
    out = run.study / "analysis"
    PARTICIPANTS.write(run, scores)
    figures = write_figures(out, groups, scores, trials)
    summary = {
        "stage": "study analyze",
        "trials_csv": str(source),
        "rows": len(rows),
        "participants_analysed": len(scores),
        "simulated_participants": exclusions["simulated"],
        "exclusions": exclusions,
        "preregistration": preregistration,
        "excluded_incomplete": sum(c["excluded_incomplete"] for c in counts.values()),
        "trials_per_participant": trials,
        "groups": groups,
        "comparisons": comparisons,
        "conventions": conventions(n_boot),
        "figures": figures,
        "files": ["participants.csv", *figures.values()],
    }
    write_config(out, config)
    return ANALYSIS_SUMMARY.write(run, finite(summary))
