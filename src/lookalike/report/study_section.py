"""The report's study section: equation (1), Figure 9, the tests, d′ and power (paper §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..contract import ANALYSIS_SUMMARY, SCREENS, STUDY_SUMMARY, AnalysisSummary, Comparison, GroupResult
from ..runfolder import Run
from .html import fmt, pct
from .render import render
from .sections import Section, not_run, status_of

NAMES = {"pre": "novices without the hint", "post": "novices with the hint", "expert": "experts"}


def _ci(pair: Any) -> str:
    if not isinstance(pair, list | tuple) or len(pair) != 2 or pair[0] is None:
        return "–"
    return f"{pct(pair[0])} – {pct(pair[1])}"


def simulated_note(g: GroupResult) -> str:
    n = g.simulated or 0
    return "" if not n else (" (simulated)" if n == g.participants else f" ({n} simulated)")


def group_row(name: str, g: GroupResult) -> dict[str, Any]:
    return {
        "group": f"{name}: {g.label or ''}", "M": f"{g.participants}{simulated_note(g)}",
        "excluded (incomplete)": g.excluded_incomplete, "correct / trials": f"{g.correct} / {g.trials}",
        "accuracy (eq. 1)": pct(g.accuracy) + simulated_note(g),
        "Wilson 95%": _ci(g.wilson_95), "bootstrap 95%": _ci(g.bootstrap_95),
        "paper": f"{pct(g.paper_accuracy)} (M={g.paper_participants})" if g.paper_accuracy is not None else "–",
        "d′ mean ± sd": "–" if g.dprime_mean is None else f"{g.dprime_mean:.2f} ± {fmt(g.dprime_sd, 2)}",
        "criterion c": fmt(g.criterion_mean, 2), "pooled d′": fmt(g.dprime_pooled, 3),
        "range": f"{fmt(g.correct_min)}–{fmt(g.correct_max)} of 20",
    }


def comparison_row(c: Comparison, groups: dict[str, GroupResult]) -> dict[str, Any]:
    if not c.tested:
        return {"question": c.question or f"{c.a} vs {c.b}", "difference": c.note or "not tested"}
    simulated = any(groups[k].simulated for k in (c.a, c.b) if k in groups)
    return {
        "question": c.question, "n": f"{c.n_a} vs {c.n_b}",
        "difference": ("–" if c.accuracy_difference is None else f"{100 * c.accuracy_difference:+.1f} points")
                      + (" (simulated)" if simulated else ""),
        "p (permutation)": fmt(c.p_value, 3) + (" exact" if c.exact else ""), "p (Holm)": fmt(c.p_value_holm, 3),
        "Cohen's d": fmt(c.cohens_d, 3), "Cliff's δ": fmt(c.cliffs_delta, 3), "Δd′": fmt(c.dprime_difference, 3),
        "p (d′)": fmt(c.dprime_p_value, 3),
        "n per group for 80% power": fmt(c.participants_per_group_for_80_power),
    }


def interpret(c: Comparison, alpha: float = 0.05) -> str:
    """One plain sentence per test: the difference, whether it is significant, and the n a replication needs."""
    a, b = NAMES.get(c.a, c.a), NAMES.get(c.b, c.b)
    diff, p = c.accuracy_difference or 0.0, c.p_value
    verdict = (f"significant at {alpha:g} (p = {fmt(p, 2)})" if p is not None and p < alpha
               else f"not significant at {alpha:g} (p = {fmt(p, 2)})")
    n80 = c.participants_per_group_for_80_power
    power = f"; {n80} participants per group would detect an effect this large with 80% power" if n80 else ""
    return (f"The {a} scored {abs(100 * diff):.1f} points {'higher' if diff >= 0 else 'lower'} than the {b}, "
            f"{verdict}, with {c.n_a} and {c.n_b} participants{power}.")


def assignment(ex: dict[str, Any]) -> dict[str, Any] | None:
    """Who was analysed in which group, and how many each declared rule excluded."""
    if not ex:
        return None
    per = ex.get("included_per_group") or {}
    moved = ex.get("reassigned") or {}
    text = (f"{ex.get('participants')} participants took part"
            + (f" ({ex['simulated']} of them simulated)" if ex.get("simulated") else "")
            + f"; {ex.get('included')} analysed (" + ", ".join(f"{g} {n}" for g, n in per.items()) + f"), "
            f"{ex.get('excluded')} excluded. Groups follow the familiarity questionnaire: {ex.get('assignment_rule')}"
            + (" Moved by the rule: " + ", ".join(f"{k} ({v})" for k, v in moved.items()) + "." if moved else ""))
    rows = [{"rule": r["id"], "excludes who": r["rule"], "participants": r["n"],
             "who": ", ".join(r["participants"][:12]) + (" …" if len(r["participants"]) > 12 else "")}
            for r in ex.get("rules") or []]
    return {"text": text, "rows": rows, "unchecked": [k for k, v in (ex.get("checked") or {}).items() if not v]}


def deviations(pre: dict[str, Any] | None) -> dict[str, Any] | None:
    """The preregistration check: every deviation (None when the study was not preregistered)."""
    if pre is None:
        return None
    devs = pre.get("deviations") or []
    return {"file": Path(pre.get("file", "")).name, "registered_at": pre.get("registered_at") or "?",
            "sha256": str(pre.get("sha256", ""))[:16], "count": len(devs),
            "rows": [{"kind": d.get("kind"), "deviation": d.get("what"), "planned": d.get("planned"),
                      "actual": d.get("actual")} for d in devs]}


def study_facts(s: AnalysisSummary) -> dict[str, Any]:
    facts: dict[str, Any] = {"accuracy": {g: v.accuracy for g, v in s.groups.items()}}
    if s.simulated_participants:
        facts["simulated"] = s.simulated_participants
    effect = s.comparison("post", "pre")
    if effect is not None and effect.tested:
        facts["hint_effect"] = effect
    return facts


def study_section(run: Run, notice: str | None = None) -> Section:
    """`notice`: what the caller did first (e.g. recomputed the analysis), shown at the top."""
    title = "8. The human study (equation 1, Figures 8 and 9)"
    if not run.study.is_dir():
        return not_run("study", title, "The human study", f"lookalike study serve {run.root}")
    analysis, own = ANALYSIS_SUMMARY.load(run), STUDY_SUMMARY.load(run)
    s = analysis.value
    screens = SCREENS.load(run)
    ctx: dict[str, Any] = {"loaded": [analysis, own, screens], "notice": notice, "analysis": s, "own": own.value,
                           "folder": run.study / "analysis", "screens": screens.value,
                           "screens_folder": SCREENS.path(run).parent}
    if s is not None:
        sim = " (simulated participants)" if s.simulated_participants else ""
        ctx.update(groups=[group_row(n, g) for n, g in s.groups.items()],
                   comparisons=[comparison_row(c, s.groups) for c in s.comparisons],
                   sentences=[interpret(c) + sim for c in s.comparisons if c.tested],
                   assignment=assignment(s.exclusions), deviations=deviations(s.preregistration))
    facts = study_facts(s) if s is not None else {}
    return Section("study", title, status_of(int(analysis.ok) + int(own.ok or analysis.ok), 2),
                   render("study.html.j2", **ctx), facts)
