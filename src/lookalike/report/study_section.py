"""The report's study section: equation (1), Figure 9, the tests, d′ and power (paper §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..runfolder import Run
from .html import esc, figure, fmt, kv_table, not_run, notice, pct, table
from .read import load_json
from .sections import Section, _errors, _status

EQUATION1 = ('<p class="eq">accuracy = <span class="frac"><span>Σ<sub>i=1..M</sub> correct<sub>i</sub></span>'
             "<span>M × N</span></span> &nbsp; (equation 1; M participants, N = 20 pairs each)</p>")


def refresh_analysis(run: Run) -> str:
    """Run `study analyze` when trials exist but the analysis is missing or older; returns a notice or ''."""
    trials, summary = run.study / "trials.csv", run.study / "analysis" / "summary.json"
    has_source = trials.is_file() or (run.study / "study.sqlite").is_file()
    stale = summary.is_file() and trials.is_file() and trials.stat().st_mtime > summary.stat().st_mtime
    if not has_source or (summary.is_file() and not stale):
        return ""
    from ..study.analysis import analyze

    try:
        analyze(run)
    except SystemExit as exc:  # bad or missing trials: say why, keep any earlier analysis
        kind = "missing" if "nobody has taken part" in str(exc) else "error"
        return notice(f"The study could not be analysed: {esc(exc)}", kind=kind)
    return notice("The analysis was (re)computed from study/trials.csv for this report.", kind="info")


def _ci(pair: Any) -> str:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[0] is None:
        return "–"
    return f"{pct(pair[0])} – {pct(pair[1])}"


def _simulated(g: dict[str, Any]) -> str:
    n = g.get("simulated") or 0
    return "" if not n else (" (simulated)" if n == g.get("participants") else f" ({n} simulated)")


def _groups_table(groups: dict[str, Any]) -> str:
    rows = []
    for name, g in groups.items():
        dm, dsd = g.get("dprime_mean"), g.get("dprime_sd")
        rows.append({
            "group": f"{name}: {g.get('label', '')}", "M": f"{g.get('participants')}{_simulated(g)}",
            "excluded (incomplete)": g.get("excluded_incomplete"),
            "correct / trials": f"{g.get('correct')} / {g.get('trials')}",
            "accuracy (eq. 1)": pct(g.get("accuracy")) + _simulated(g), "Wilson 95%": _ci(g.get("wilson_95")),
            "bootstrap 95%": _ci(g.get("bootstrap_95")),
            "paper": (f"{pct(g.get('paper_accuracy'))} (M={g.get('paper_participants')})"
                      if g.get("paper_accuracy") is not None else "–"),
            "d′ mean ± sd": "–" if dm is None else f"{dm:.2f} ± {fmt(dsd, 2)}",
            "criterion c": fmt(g.get("criterion_mean"), 2), "pooled d′": fmt(g.get("dprime_pooled"), 3),
            "range": f"{fmt(g.get('correct_min'))}–{fmt(g.get('correct_max'))} of 20",
        })
    return table(rows)


def _comparisons_table(comparisons: list[dict[str, Any]], groups: dict[str, Any]) -> str:
    rows = []
    for c in comparisons:
        simulated = any((groups.get(k) or {}).get("simulated") for k in (c.get("a"), c.get("b")))
        if "p_value" not in c:
            rows.append({"question": c.get("question", f"{c.get('a')} vs {c.get('b')}"),
                         "difference": c.get("note", "not tested")})
            continue
        diff = c.get("accuracy_difference")
        rows.append({
            "question": c.get("question"), "n": f"{c.get('n_a')} vs {c.get('n_b')}",
            "difference": ("–" if diff is None else f"{100 * diff:+.1f} points") + (" (simulated)" if simulated else ""),
            "p (permutation)": fmt(c.get("p_value"), 3) + (" exact" if c.get("exact") else ""),
            "p (Holm)": fmt(c.get("p_value_holm"), 3), "Cohen's d": fmt(c.get("cohens_d"), 3),
            "Cliff's δ": fmt(c.get("cliffs_delta"), 3), "Δd′": fmt(c.get("dprime_difference"), 3),
            "p (d′)": fmt(c.get("dprime_p_value"), 3),
            "n per group for 80% power": fmt(c.get("participants_per_group_for_80_power")),
        })
    return table(rows)


NAMES = {"pre": "novices without the hint", "post": "novices with the hint", "expert": "experts"}


def assignment_html(ex: dict[str, Any]) -> str:
    """Who was analysed in which group, and how many each declared rule excluded."""
    if not ex:
        return ""
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
    unchecked = [k for k, v in (ex.get("checked") or {}).items() if not v]
    note = (notice("Not checked (the data they need are missing): " + esc(", ".join(unchecked)), kind="info")
            if unchecked else "")
    return (f"<h3>Assignment and exclusions</h3><p>{esc(text)}</p>" + table(rows) + note)


def deviations_html(pre: dict[str, Any] | None) -> str:
    """The preregistration check: every deviation, or a note that the study was not preregistered."""
    if pre is None:
        return ("<h3>Preregistration</h3>" + notice("Not preregistered: <code>lookalike study preregister RUN</code> "
                                                   "writes the plan before data.", kind="info"))
    devs = pre.get("deviations") or []
    head = (f"<h3>Preregistration</h3><p>Checked against {esc(Path(pre.get('file', '')).name)} (registered "
            f"{esc(pre.get('registered_at') or '?')}, SHA-256 <code>{esc(str(pre.get('sha256', ''))[:16])}…</code>): "
            f"{len(devs)} deviation(s).</p>")
    if not devs:
        return head
    rows = [{"kind": d.get("kind"), "deviation": d.get("what"), "planned": d.get("planned"), "actual": d.get("actual")}
            for d in devs]
    return head + table(rows)


def interpret(c: dict[str, Any], alpha: float = 0.05) -> str:
    """One plain sentence per test: the difference, whether it is significant, and the n a replication needs."""
    a, b = NAMES.get(c["a"], c["a"]), NAMES.get(c["b"], c["b"])
    diff, p = c.get("accuracy_difference") or 0.0, c.get("p_value")
    verdict = (f"significant at {alpha:g} (p = {fmt(p, 2)})" if p is not None and p < alpha
               else f"not significant at {alpha:g} (p = {fmt(p, 2)})")
    n80 = c.get("participants_per_group_for_80_power")
    power = (f"; {n80} participants per group would detect an effect this large with 80% power"
             if n80 else "")
    return (f"The {a} scored {abs(100 * diff):.1f} points {'higher' if diff >= 0 else 'lower'} than the {b}, "
            f"{verdict}, with {c.get('n_a')} and {c.get('n_b')} participants{power}.")


def study_section(run: Run) -> Section:
    title = "6. The human study (equation 1, Figure 9)"
    if not run.study.is_dir():
        return Section("study", title, "missing",
                       not_run("The human study", f"lookalike study serve {run.root}"))
    parts = [refresh_analysis(run)]
    folder = run.study / "analysis"
    s, own = load_json(folder / "summary.json"), load_json(run.study / "summary.json")
    parts.append(_errors(s, own))
    parts.append('<p class="lead">Novices first (pre-test, no hint), then new novices told where to look '
                 "(post-test, the hint above), then experts who know both people (no hint). Each person saw "
                 "20 pairs for 1200 ms and answered “same” or “different”. Paper: 52.67%, 63.67% and 85.0%.</p>")
    facts: dict[str, Any] = {}
    if not s.ok:
        parts.append(notice("No analysis yet: run <code>lookalike study export RUN</code> and "
                            "<code>lookalike study analyze RUN</code> once participants have taken part.", "missing"))
    else:
        summary = s.value
        groups = summary.get("groups") or {}
        facts["accuracy"] = {g: v.get("accuracy") for g, v in groups.items()}
        parts.append(EQUATION1 + _groups_table(groups))
        simulated = summary.get("simulated_participants") or 0
        if simulated:
            parts.append(notice(f"{simulated} participants were SIMULATED by <code>lookalike study simulate</code>: "
                                "their accuracy was set by code, so the results below are simulated, not "
                                "evidence about people.", kind="error"))
            facts["simulated"] = simulated
        parts.append(f'<p class="small">{fmt(summary.get("participants_analysed"))} participants analysed'
                     f'{" (simulated)" if simulated else ""}; '
                     f'{fmt(summary.get("excluded_incomplete"))} incomplete sessions excluded.</p>')
        parts.append(assignment_html(summary.get("exclusions") or {}))
        parts.append(deviations_html(summary.get("preregistration")))
        figs = summary.get("figures") or {}
        if "figure9" in figs:
            parts.append(figure(folder / figs["figure9"], "Figure 9: correct answers per participant — pre-test "
                                "(gray), post-test (black), experts (red); dashed: what guessing would give"))
        side = [figure(folder / figs[k], c) for k, c in (("accuracy", "Accuracy per group with bootstrap 95% "
                                                          "intervals; diamonds: the paper"),
                                                         ("dprime", "d′ of every participant; line: group mean"))
                if k in figs]
        if side:
            parts.append(f'<div class="cols">{"".join(side)}</div>')
        comparisons = summary.get("comparisons") or []
        parts.append("<h3>Tests</h3>" + (_comparisons_table(comparisons, groups) if comparisons
                                          else notice("no comparisons (one group only)", kind="info")))
        said = [interpret(c) + (" (simulated participants)" if simulated else "") for c in comparisons
                if "p_value" in c]
        if said:
            parts.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in said) + "</ul>")
        for c in comparisons:
            if c.get("a") == "post" and c.get("b") == "pre" and "p_value" in c:
                facts["hint_effect"] = c
        conv = summary.get("conventions") or {}
        if conv:
            parts.append("<details><summary>How these numbers are computed</summary><ul>"
                         + "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in conv.items()) + "</ul></details>")
    if own.ok:
        parts.append("<details><summary>study/summary.json</summary>" + kv_table(own.value) + "</details>")
    return Section("study", title, _status(int(s.ok) + int(own.ok or s.ok), 2), "".join(parts), facts)
