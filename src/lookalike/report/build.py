"""`lookalike report`: the whole run as one self-contained HTML page (and optionally a PDF).

The page tells the paper's story in order — data, networks, fooling,
activation maps, regions and hint, human study — with the paper's numbers
beside this run's. A stage that has not run gets a note saying which command
to run; a section that fails to build shows the error instead of stopping
the report. The report only reads the run folder (through the contract).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..contract import CONFIG, DEMO
from ..errors import InputError
from ..io import atomic_write_text
from ..runfolder import Run
from .html import fmt, pct
from .render import render
from .sections import (
    Section,
    data_section,
    explain_section,
    facemap_section,
    fooling_section,
    regions_section,
    siamese_section,
    summary_file,
    training_section,
)
from .study_section import study_section

BUILDERS: list[tuple[str, str, Callable[[Run], Section]]] = [
    ("data", "1. Data", data_section),
    ("training", "2. Training", training_section),
    ("fooling", "3. Fooling", fooling_section),
    ("siamese", "4. Siamese network", siamese_section),
    ("facemap", "5. Map of the faces", facemap_section),
    ("explain", "6. Activation maps", explain_section),
    ("regions", "7. Regions and hint", regions_section),
    ("study", "8. Human study", study_section),
]
PAPER_TITLE = "Enhancing Human Face Recognition with an Interpretable Neural Network"


@dataclass(frozen=True)
class Notice:
    """A line at the top of a section about what was done for this report (e.g. the analysis recomputed)."""

    text: str
    kind: str = "info"


def _safe(builder: Callable[..., Section], run: Run, sid: str, title: str, notice: Notice | None) -> Section:
    try:
        return builder(run, notice) if sid == "study" else builder(run)
    except Exception as exc:  # noqa: BLE001 - a broken stage output must not take the whole report down
        return Section(sid, title, "error", render("error.html.j2", kind=type(exc).__name__, message=str(exc)))


def _facts(sections: list[Section], sid: str) -> dict[str, Any]:
    return next((s.facts for s in sections if s.id == sid), {})


def overview_rows(sections: list[Section]) -> list[dict[str, str]]:
    """The paper's claims beside this run's numbers, one line per step of the story."""
    data, train = _facts(sections, "data"), _facts(sections, "training")
    fool, expl = _facts(sections, "fooling"), _facts(sections, "explain")
    reg, study = _facts(sections, "regions"), _facts(sections, "study")
    acc = study.get("accuracy") or {}
    effect = study.get("hint_effect")
    sim = " (simulated participants)" if study.get("simulated") else ""
    rows = [
        ("Data", "two look-alike actresses; 1000 validation images, the rest 2.5 : 1 train : test",
         " · ".join(f"{k} {v}" for k, v in (data.get("split") or {}).items()) or "–"),
        ("Classifier (21 layers), test accuracy", "87.3%", pct(train.get("classifier"), 2)),
        ("Siamese network, test accuracy", "85.04%", pct(train.get("siamese"), 2)),
    ]
    rows += [(f"{name} (baseline, not in the paper)", "–", pct(value, 2)) for name, value in train.items()
             if name not in ("classifier", "siamese")]
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
         "–" if not effect else f"{100 * (effect.accuracy_difference or 0):+.1f} points, "
                                f"permutation p = {fmt(effect.p_value, 3)}, d = {fmt(effect.cohens_d, 3)}" + sim),
    ]
    return [{"step": a, "paper": b, "this run": c} for a, b, c in rows]


def overview(sections: list[Section]) -> Section:
    body = render("overview.html.j2", rows=overview_rows(sections), sections=sections)
    return Section("overview", "The story in numbers", "present", body)


def stage_folders(run: Run) -> list[tuple[str, Path]]:
    dirs = [("synth", run.synth), ("data", run.data)]
    if run.models.is_dir():
        dirs += [(f"models/{p.name}", p) for p in sorted(run.models.iterdir()) if p.is_dir()]
    dirs += [("facemap", run.root / "facemap"), ("fooling", run.fooling), ("fooling/siamese", run.fooling / "siamese"), ("explain", run.explain),
             ("regions", run.regions), ("study", run.study), ("study/analysis", run.study / "analysis")]
    return dirs


def appendix(run: Run) -> Section:
    """Each stage's exact settings and provenance, so a reader can reproduce any number."""
    demo = DEMO.load(run)
    stages = []
    for label, folder in stage_folders(run):
        config, summary = CONFIG.load_at(folder / "config.json"), summary_file(folder / "summary.json")
        if config.ok or summary.ok or config.error or summary.error:
            info = summary.value.info if summary.ok else None
            stages.append({"label": label, "config": config, "summary": summary,
                           "finished": info.finished_at if info is not None else None})
    found = len(stages) + int(demo.ok)
    steps = [{"step": e.name, "command": " ".join(e.argv), "status": e.status, "seconds": e.seconds,
              "error": e.error or ""} for e in (demo.value.steps if demo.ok else [])]
    body = render("appendix.html.j2", demo=demo, steps=steps, stages=stages)
    return Section("appendix", "Appendix: configuration and provenance", "present" if found else "missing", body)


def page(run: Run, sections: list[Section]) -> str:
    short = {sid: name for sid, name, _ in BUILDERS} | {"overview": "Overview", "appendix": "Appendix"}
    return render("report.html.j2", run_name=run.root.name, run_path=str(run.root.resolve()),
                  paper_title=PAPER_TITLE, version=__version__, sections=sections, short=short,
                  written=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")) + "\n"


def build_report(run: Run | str | Path, out: Path | str | None = None, pdf: bool | Path | str = False,
                 notices: dict[str, Notice] | None = None) -> dict[str, Any]:
    """Write the report for `run` (default RUN/report.html, and RUN/report.pdf with pdf=True)."""
    run = run if isinstance(run, Run) else Run(run)
    if not run.root.is_dir():
        raise InputError(f"{run.root} is not a run folder (it does not exist); run `lookalike demo {run.root}` "
                         "or the stages first")
    notices = notices or {}
    stages = [_safe(builder, run, sid, title, notices.get(sid)) for sid, title, builder in BUILDERS]
    sections = [overview(stages), *stages, appendix(run)]
    out = Path(out) if out else run.report_html
    atomic_write_text(out, page(run, sections))
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
