"""`lookalike report`: the whole run as one self-contained HTML page (and optionally a PDF).

The page tells the paper's story in order — data, networks, fooling,
activation maps, regions and hint, human study — with the paper's numbers
beside this run's. A stage that has not run gets a note saying which command
to run; a section that fails to build shows the error instead of stopping
the report.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..io import atomic_write_text
from ..runfolder import Run
from .html import CSS, code, esc, fmt, json_block, notice, pct, table
from .read import load_json
from .sections import (
    Section,
    data_section,
    explain_section,
    fooling_section,
    regions_section,
    training_section,
)
from .study_section import study_section

BUILDERS: list[tuple[str, str, Callable[[Run], Section]]] = [
    ("data", "1. Data", data_section),
    ("training", "2. Training", training_section),
    ("fooling", "3. Fooling", fooling_section),
    ("explain", "4. Activation maps", explain_section),
    ("regions", "5. Regions and hint", regions_section),
    ("study", "6. Human study", study_section),
]
PAPER_TITLE = "Enhancing Human Face Recognition with an Interpretable Neural Network"


def _safe(builder: Callable[[Run], Section], run: Run, sid: str, title: str) -> Section:
    try:
        return builder(run)
    except Exception as exc:  # noqa: BLE001 - a broken stage output must not take the whole report down
        return Section(sid, title, "error", notice(f"This section could not be built: {esc(type(exc).__name__)}: "
                                                   f"{esc(exc)}", kind="error"))


def _facts(sections: list[Section], sid: str) -> dict[str, Any]:
    return next((s.facts for s in sections if s.id == sid), {})


def overview(sections: list[Section]) -> Section:
    """The paper's claims beside this run's numbers, one line per step of the story."""
    data, train = _facts(sections, "data"), _facts(sections, "training")
    fool, expl = _facts(sections, "fooling"), _facts(sections, "explain")
    reg, study = _facts(sections, "regions"), _facts(sections, "study")
    split = data.get("split") or {}
    acc = study.get("accuracy") or {}
    effect = study.get("hint_effect")
    sim = " (simulated participants)" if study.get("simulated") else ""
    rows = [
        ("Data", "two look-alike actresses; 1000 validation images, the rest 2.5 : 1 train : test",
         " · ".join(f"{k} {v}" for k, v in split.items()) or "–"),
        ("Classifier (21 layers), test accuracy", "87.3%", pct(train.get("classifier"), 2)),
        ("Siamese network, test accuracy", "85.04%", pct(train.get("siamese"), 2)),
    ]
    for name, value in train.items():
        if name not in ("classifier", "siamese"):
            rows.append((f"{name} (baseline, not in the paper)", "–", pct(value, 2)))
    rows += [
        ("Fooling: success at ≥ 90% confidence, ≤ 15% per pixel", "shown on examples", pct(fool.get("success_rate"))),
        *([("Planted difference (synthetic ground truth)", "–", data["planted"])] if data.get("planted") else []),
        ("Where the networks look", "forehead, cheeks and nose; eyes and mouth avoided",
         ", ".join(map(str, reg.get("top_regions") or [])) or "–"),
        ("Methods failing the sanity check", "not checked", ", ".join(expl.get("failing_sanity") or []) or
         ("none" if expl.get("sanity_checked") else "–")),
        ("The hint", "“focus on the forehead and cheekbones”", reg.get("hint") or "–"),
        ("Novices without hint (eq. 1)", "52.67% (M=15)", pct(acc.get("pre")) + sim),
        ("Novices with the hint", "63.67% (M=15)", pct(acc.get("post")) + sim),
        ("Experts", "85.0% (M=5)", pct(acc.get("expert")) + sim),
        ("Effect of the hint", "+11 points, no test reported",
         "–" if not effect else f"{100 * (effect.get('accuracy_difference') or 0):+.1f} points, "
                                f"permutation p = {fmt(effect.get('p_value'), 3)}, "
                                f"d = {fmt(effect.get('cohens_d'), 3)}" + sim),
    ]
    body = table([{"step": a, "paper": b, "this run": c} for a, b, c in rows], ["step", "paper", "this run"],
                 cls="overview")
    status_rows = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a> <span class="badge {esc(s.status)}">'
                          f"{esc(s.status)}</span></li>" for s in sections)
    body += f"<h3>Sections</h3><ul>{status_rows}</ul>"
    return Section("overview", "The story in numbers", "present", body)


def _stage_dirs(run: Run) -> list[tuple[str, Path]]:
    dirs = [("synth", run.synth), ("data", run.data)]
    if run.models.is_dir():
        dirs += [(f"models/{p.name}", p) for p in sorted(run.models.iterdir()) if p.is_dir()]
    dirs += [("fooling", run.fooling), ("explain", run.explain), ("regions", run.regions), ("study", run.study),
             ("study/analysis", run.study / "analysis")]
    return dirs


def appendix(run: Run) -> Section:
    """Each stage's exact settings and provenance, so a reader can reproduce any number."""
    parts = ['<p class="lead">The settings every stage ran with (<code>config.json</code>) and its summary '
             "with versions and time (<code>summary.json</code>).</p>"]
    found = 0
    demo = load_json(run.root / "demo.json")
    if isinstance(demo.value, dict) and isinstance(demo.value.get("steps"), list):
        found += 1
        rows = [{"step": e.get("name"), "command": " ".join(map(str, e.get("argv") or [])),
                 "status": e.get("status"), "seconds": e.get("seconds"), "error": e.get("error", "")}
                for e in demo.value["steps"] if isinstance(e, dict)]
        parts.append(f"<h3>How this run was made (lookalike demo, {esc(demo.value.get('profile', ''))} profile, "
                     f"{fmt(demo.value.get('total_seconds'))} s)</h3>" + table(rows))
    elif demo.error:
        parts.append(notice(esc(demo.error), kind="error"))
    for label, folder in _stage_dirs(run):
        cfg, summ = load_json(folder / "config.json"), load_json(folder / "summary.json")
        if not (cfg.ok or summ.ok or cfg.error or summ.error):
            continue
        found += 1
        inner = ""
        for name, loaded in (("config.json", cfg), ("summary.json", summ)):
            if loaded.error:
                inner += notice(esc(loaded.error), kind="error")
            elif loaded.ok:
                inner += f"<p><b>{esc(label)}/{name}</b></p>" + json_block(loaded.value)
        info = summ.value.get("info") if isinstance(summ.value, dict) else None
        when = f" — finished {esc(info.get('finished_at'))}" if isinstance(info, dict) and info.get("finished_at") else ""
        parts.append(f"<details><summary>{esc(label)}{when}</summary>{inner}</details>")
    if not found:
        parts.append(notice("No stage has written a config.json or summary.json yet.", kind="missing"))
    return Section("appendix", "Appendix: configuration and provenance", "present" if found else "missing",
                   "".join(parts))


def render(run: Run, sections: list[Section]) -> str:
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    short = {sid: name for sid, name, _ in BUILDERS} | {"overview": "Overview", "appendix": "Appendix"}
    nav = "".join(f'<li><a href="#{esc(s.id)}">{esc(short.get(s.id, s.title))}</a>'
                  + (f' <span class="badge {esc(s.status)}">{esc(s.status)}</span>' if s.status != "present" else "")
                  + "</li>" for s in sections)
    body = "".join(f'<section class="stage" id="{esc(s.id)}" data-status="{esc(s.status)}">'
                   f"<h2>{esc(s.title)}</h2>{s.body}</section>" for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>lookalike report — {esc(run.root.name)}</title>
<style>{CSS}</style></head>
<body>
<header class="top"><div class="wrap">
<h1>Telling two look-alikes apart — {esc(run.root.name)}</h1>
<p>A reproduction of “{esc(PAPER_TITLE)}” with <b>lookalike {esc(__version__)}</b>.</p>
<p>Run folder {code(str(run.root.resolve()))} · written {esc(now)}</p>
</div></header>
<nav class="toc"><div class="wrap"><ul>{nav}</ul></div></nav>
<main class="wrap">{body}</main>
<footer class="wrap">Generated by <code>lookalike report</code>. Self-contained: every figure is embedded in this
file. Paper numbers are from the paper's §4 and §6.</footer>
</body></html>
"""


def build_report(run: Run | str | Path, out: Path | str | None = None, pdf: bool | Path | str = False) -> dict[str, Any]:
    """Write the report for `run` (default RUN/report.html, and RUN/report.pdf with pdf=True)."""
    run = run if isinstance(run, Run) else Run(run)
    if not run.root.is_dir():
        raise SystemExit(f"{run.root} is not a run folder (it does not exist); run `lookalike demo {run.root}` "
                         "or the stages first")
    stages = [_safe(builder, run, sid, title) for sid, title, builder in BUILDERS]
    sections = [overview(stages), *stages, appendix(run)]
    out = Path(out) if out else run.report_html
    atomic_write_text(out, render(run, sections))
    result: dict[str, Any] = {
        "report": str(out),
        "bytes": out.stat().st_size,
        "sections": {s.id: s.status for s in stages},
        "present": [s.id for s in stages if s.status == "present"],
        "partial": [s.id for s in stages if s.status == "partial"],
        "missing": [s.id for s in stages if s.status in ("missing", "error")],
    }
    if pdf:
        from .pdf import html_to_pdf

        target = out.with_suffix(".pdf") if pdf is True else Path(pdf)
        result["pdf"] = str(html_to_pdf(out, target))
    return result
