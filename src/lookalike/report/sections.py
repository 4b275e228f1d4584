"""Report sections for the pipeline stages: data, training, fooling, activation maps, regions.

Each builder reads one stage's files (docs/run-folder.md) and returns a
Section with a status (present / partial / missing), its HTML, and the key
numbers the overview at the top of the report repeats.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runfolder import Run
from .html import code, esc, figure, fmt, kv_table, not_run, notice, pct, table, thumb
from .read import fails, load_csv, load_json, load_text, method_records, number, pick

PAPER_TEST_ACCURACY = {"classifier": 0.873, "siamese": 0.8504}
TABLE1 = [  # paper Table 1: intensity of the difference → colour
    ("I ≤ 150", "black", "#000000"),
    ("151 ≤ I ≤ 180", "gray", "#808080"),
    ("181 ≤ I ≤ 200", "yellow", "#ffff00"),
    ("201 ≤ I ≤ 225", "orange", "#ffa500"),
    ("226 ≤ I ≤ 255", "red", "#ff0000"),
]
EXAMPLES_PER_PERSON = 8
PANELS_SHOWN = 6
RANKING_ROWS = 400


@dataclass
class Section:
    id: str
    title: str
    status: str  # present | partial | missing
    body: str
    facts: dict[str, Any] = field(default_factory=dict)


def _status(found: int, wanted: int) -> str:
    return "missing" if found == 0 else ("present" if found >= wanted else "partial")


def _errors(*loaded: Any) -> str:
    return "".join(notice(esc(x.error), kind="error") for x in loaded if getattr(x, "error", None))


def _spread(items: list[Path], n: int) -> list[Path]:
    """n items spread evenly over a sorted list, so examples are not all from one photo session."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _words(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


# --- data ------------------------------------------------------------------------------------------

def data_section(run: Run) -> Section:
    title = "1. Data: two look-alike people, aligned at 128×128"
    if not run.data.is_dir():
        return Section("data", title, "missing", not_run("The data stage", f"lookalike prepare PHOTOS --out {run.root}"))
    parts: list[str] = []
    facts: dict[str, Any] = {}
    summary, idents = load_json(run.data / "summary.json"), load_json(run.identities_json)
    manifest, split = load_csv(run.manifest_csv), load_csv(run.split_csv)
    parts.append(_errors(summary, idents, manifest, split))
    synth = load_json(run.synth / "summary.json")
    if synth.ok:
        planted = pick(synth.value, "regions", "planted_regions", "differences")
        facts["planted"] = _words(planted) if planted else None
        parts.append(notice("These faces are <b>synthetic</b> (from " + code("lookalike synth")
                            + "): two made-up people who differ only in planted regions"
                            + (f": <b>{esc(_words(planted))}</b>." if planted else "."), kind="info"))
    people = idents.value if isinstance(idents.value, list) else []
    if people:
        facts["people"] = people
        parts.append(f'<p class="lead">The two people (label 0 and 1): <b>{esc(" and ".join(map(str, people)))}</b>.</p>')

    parts.append("<h3>Manifest: what happened to every input file</h3>")
    if manifest.ok:
        col = "outcome" if manifest.value and "outcome" in manifest.value[0] else None
        if col:
            # one row per input file (empty `face`) and one per face found in it (face index)
            has_face = "face" in manifest.value[0]
            is_face = [has_face and (r.get("face") or "").strip() != "" for r in manifest.value]
            files = Counter(r[col] or "(empty)" for r, f in zip(manifest.value, is_face) if not f)
            faces = Counter(r[col] or "(empty)" for r, f in zip(manifest.value, is_face) if f)
            reasons = Counter((r[col] or "(empty)", r.get("reason") or "") for r in manifest.value)
            rows = [{"outcome": k, "files": files.get(k, 0), **({"faces": faces.get(k, 0)} if has_face else {}),
                     "most common reason": max(((r, n) for (o, r), n in reasons.items() if o == k),
                                               key=lambda t: t[1])[0]}
                    for k in dict.fromkeys([*files, *faces])]
            rows.sort(key=lambda r: -(r["files"] + r.get("faces", 0)))
            parts.append(table(rows) + f'<p class="small">{sum(files.values())} input files'
                         + (f", {sum(faces.values())} faces found in them" if has_face else "")
                         + " (manifest.csv).</p>")
            facts["input_files"] = sum(files.values())
            facts["kept"] = faces.get("kept") if has_face else files.get("kept")
        else:
            parts.append(notice("manifest.csv has no <code>outcome</code> column", kind="error"))
    else:
        parts.append(notice("manifest.csv is missing", kind="missing"))

    parts.append("<h3>Split (near-duplicate groups never straddle two splits)</h3>")
    if split.ok:
        by = Counter((r.get("split", "?"), r.get("identity", "?")) for r in split.value)
        names = sorted({i for _, i in by}, key=lambda n: (people.index(n) if n in people else 99, n))
        order = [s for s in ("train", "val", "test") if any(k[0] == s for k in by)]
        order += sorted({s for s, _ in by} - set(order))
        rows = [{"split": s, **{n: by.get((s, n), 0) for n in names}, "total": sum(by.get((s, n), 0) for n in names),
                 "groups": len({r.get("group") for r in split.value if r.get("split") == s})} for s in order]
        parts.append(table(rows, ["split", *names, "total", "groups"]))
        facts["split"] = {r["split"]: r["total"] for r in rows}
    else:
        parts.append(notice("split.csv is missing", kind="missing"))

    parts.append("<h3>Examples</h3>")
    faces = run.data / "faces"
    shown = 0
    if faces.is_dir():
        for person in sorted(p for p in faces.iterdir() if p.is_dir()):
            files = _spread(sorted(person.glob("*.png")), EXAMPLES_PER_PERSON)
            thumbs = "".join(thumb(f, f.stem) for f in files)
            shown += bool(thumbs)
            parts.append(f"<p><b>{esc(person.name)}</b></p><div class='thumbs'>{thumbs or notice('no faces', 'missing')}</div>")
    if not shown:
        parts.append(notice("no aligned faces under data/faces", kind="missing"))
    if (run.synth / "contact_sheet.png").is_file():
        parts.append(figure(run.synth / "contact_sheet.png", "Contact sheet of the synthetic faces (synth/)"))
    if summary.ok:
        parts.append("<details><summary>data/summary.json</summary>" + kv_table(summary.value) + "</details>")
    status = _status(sum([manifest.ok, split.ok, shown > 0, summary.ok]), 4)
    return Section("data", title, status, "".join(parts), facts)


# --- training -------------------------------------------------------------------------------------

def _model_kinds(run: Run) -> list[str]:
    if not run.models.is_dir():
        return []
    found = [p.name for p in run.models.iterdir() if p.is_dir()]
    known = [k for k in ("classifier", "siamese", "embedding") if k in found]
    return known + sorted(set(found) - set(known))


def accuracy_rows(run: Run) -> list[dict[str, Any]]:
    """Test accuracy per trained model, next to the paper's where the paper has one."""
    rows = []
    for kind in _model_kinds(run):
        s = load_json(run.model(kind) / "summary.json").value
        if not isinstance(s, dict):
            continue
        acc = number(pick(s, "test_accuracy", "test.accuracy", "accuracy"))
        paper = number(s.get("paper_test_accuracy")) or PAPER_TEST_ACCURACY.get(kind)
        unit = s.get("test_unit") or ("pairs" if kind == "siamese" else "images")
        rows.append({"model": kind, "test accuracy": pct(acc, 2),
                     "balanced accuracy": pct(number(pick(s, "test.balanced_accuracy", "balanced_accuracy")), 2),
                     "ROC AUC": fmt(number(pick(s, "test.roc_auc", "roc_auc"))),
                     "test set": f"{fmt(pick(s, 'test.n', 'n_test'))} {unit}",
                     "paper": pct(paper, 2) if paper else "–", "_acc": acc})
        pair = number(s.get("pair_accuracy"))
        if pair is not None:
            rows.append({"model": f"{kind} (same/different pairs)", "test accuracy": pct(pair, 2),
                         "balanced accuracy": pct(number(s.get("pair_balanced_accuracy")), 2),
                         "ROC AUC": fmt(number(s.get("pair_roc_auc"))),
                         "test set": f"{fmt(s.get('n_test_pairs'))} pairs", "paper": "–", "_acc": pair})
    return rows


def training_section(run: Run) -> Section:
    title = "2. The networks and their training (Figures 3 and 4)"
    kinds = _model_kinds(run)
    if not kinds:
        return Section("training", title, "missing",
                       not_run("Training", f"lookalike train {run.root} --model classifier"))
    rows = accuracy_rows(run)
    parts = ['<p class="lead">Test accuracy on held-out data, beside the paper\'s '
             "(87.3% for the 21-layer classifier on 1000 images, 85.04% for the Siamese network on 2000 pairs).</p>"]
    parts.append(table(rows, ["model", "test accuracy", "balanced accuracy", "ROC AUC", "test set", "paper"])
                 if rows else notice("no model has a summary.json yet (training unfinished?)", kind="missing"))
    found = 0
    for kind in kinds:
        folder = run.model(kind)
        s = load_json(folder / "summary.json")
        curves = [p for p in ("curves_accuracy.png", "curves_loss.png") if (folder / p).is_file()]
        extra = sorted(p.name for p in folder.glob("*.png") if p.name not in curves)
        parts.append(f"<h3>{esc(kind)}</h3>" + _errors(s))
        if s.ok:
            found += 1
            bits = [f"{k}: {fmt(s.value.get(k))}" for k in ("preset", "epochs", "best_epoch", "device", "backbone")
                    if s.value.get(k) is not None]
            if bits:
                parts.append(f'<p class="small">{esc(" · ".join(bits))}</p>')
        figs = []
        if "curves_accuracy.png" in curves:
            figs.append(figure(folder / "curves_accuracy.png", f"Figure 3 ({esc(kind)}): training and validation accuracy per epoch"))
        if "curves_loss.png" in curves:
            figs.append(figure(folder / "curves_loss.png", f"Figure 4 ({esc(kind)}): training and validation loss per epoch"))
        figs += [figure(folder / name, esc(name)) for name in extra[:2]]
        parts.append(f'<div class="cols">{"".join(figs)}</div>' if figs else
                     notice(f"no curves in models/{esc(kind)}/ yet", kind="missing"))
    facts = {r["model"]: r["_acc"] for r in rows}
    return Section("training", title, _status(found, len(kinds)), "".join(parts), facts)


# --- fooling ---------------------------------------------------------------------------------------

def table1_legend() -> str:
    rows = "".join(f'<tr><td>{esc(r)}</td><td><span class="swatch" style="background:{c}"></span> {esc(n)}</td></tr>'
                   for r, n, c in TABLE1)
    return ('<table class="legend"><thead><tr><th>|change| I (0–255)</th><th>colour</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
            '<p class="small">Table 1 of the paper. The nearest neighbours of pixels above 150 share their colour '
            "so small strong changes stay visible.</p>")


def _informative_panels(folder: Path) -> list[Path]:
    """Panels of images the attack actually changed first (an image fooled in 0 steps has an empty map)."""
    panels = sorted((folder / "panels").glob("*.png")) if (folder / "panels").is_dir() else []
    results = load_csv(folder / "results.csv").value or []
    changed = {r.get("id") for r in results if (number(r.get("steps")) or 0) > 0 and str(r.get("success")) == "1"}
    first = _spread([p for p in panels if p.stem in changed], PANELS_SHOWN)
    return first + [p for p in panels if p not in first]


def fooling_section(run: Run) -> Section:
    title = "3. Fooling the classifier (Figure 5, Table 1)"
    folder = run.fooling
    if not folder.is_dir():
        return Section("fooling", title, "missing", not_run("Fooling", f"lookalike fool {run.root}"))
    s = load_json(folder / "summary.json")
    parts = [_errors(s), '<p class="lead">Each image is pushed, pixel by pixel along the gradient, until the network '
             "takes it for the other person with ≥ 90% confidence, no pixel moving by more than 15%. "
             "Where the attack has to change the face shows where the network looks.</p>"]
    facts: dict[str, Any] = {}
    if s.ok:
        v = s.value
        rate = number(pick(v, "success_rate", "fooled_rate", "success.rate"))
        facts["success_rate"] = rate
        bits = [f"fooled <b>{fmt(pick(v, 'n_fooled'))} of {fmt(pick(v, 'n'))}</b> ({pct(rate)})",
                f"median {fmt(pick(v, 'steps.median'))} steps (max {fmt(pick(v, 'steps.max'))})",
                f"mean confidence for the other person {fmt(number(pick(v, 'confidence.mean')), 3)}",
                f"largest pixel change L∞ {fmt(number(pick(v, 'linf.max')), 3)} (bound 0.15)",
                f"gave up on {fmt(pick(v, 'n_gave_up'))}"]
        parts.append("<p>" + "; ".join(b for b in bits if "–" not in b or "fooled" in b) + ".</p>")
        parts.append("<details><summary>fooling/summary.json</summary>" + kv_table(v, limit=60) + "</details>")
    panels = _informative_panels(folder)
    parts.append('<div class="cols"><div>' + table1_legend() + "</div><div>"
                 + (figure(folder / "aggregate.png", "Aggregate: mean absolute change per pixel over all fooled "
                           "images, over the mean face") if (folder / "aggregate.png").is_file()
                    else notice("aggregate.png is missing", kind="missing")) + "</div></div>")
    if panels:
        parts.append("<h3>Figure 5: original | pixel map | fooled</h3><div class='grid'>"
                     + "".join(figure(p, esc(p.stem)) for p in panels[:PANELS_SHOWN]) + "</div>")
        parts.append(f'<p class="small">{len(panels)} panels in fooling/panels/; {min(len(panels), PANELS_SHOWN)} shown.</p>')
    else:
        parts.append(notice("no panels in fooling/panels/", kind="missing"))
    if (folder / "grid.png").is_file():
        parts.append(figure(folder / "grid.png", "Many panels at once (fooling/grid.png)"))
    found = sum([s.ok, bool(panels), (folder / "aggregate.png").is_file()])
    return Section("fooling", title, _status(found, 3), "".join(parts), facts)


# --- explain --------------------------------------------------------------------------------------

def failing_methods(run: Run) -> set[str]:
    """Methods the sanity check marks as failing (their maps barely depend on the weights)."""
    recs = method_records(load_json(run.explain / "sanity.json").value)
    out = {str(r.get("method")) for r in recs.rows if fails(r)}
    summary = load_json(run.explain / "summary.json").value
    for key in ("failed_methods", "failing_methods", "methods_failing_sanity", "failed_sanity"):
        listed = pick(summary, key) if isinstance(summary, dict) else None
        if isinstance(listed, list):
            out |= {str(m) for m in listed}
    return out


def _method_table(path: Path, failing: set[str]) -> tuple[str, bool]:
    loaded = load_json(path)
    if loaded.error:
        return notice(esc(loaded.error), kind="error"), False
    if not loaded.ok:
        return notice(f"{esc(path.name)} is missing", kind="missing"), False
    recs = method_records(loaded.value)
    body = ""
    if recs.rows:
        body += table(recs.rows, row_class=lambda r: "fail" if fails(r) or str(r.get("method")) in failing else "")
    if recs.extra:
        body += kv_table(recs.extra, limit=12)
    return body or notice(f"{esc(path.name)} holds no per-method table", kind="info"), True


def explain_section(run: Run) -> Section:
    title = "4. Where the networks look: activation maps (Figure 7)"
    folder = run.explain
    if not folder.is_dir():
        return Section("explain", title, "missing", not_run("The activation-map stage", f"lookalike explain {run.root}"))
    failing = failing_methods(run)
    parts = ['<p class="lead">Heatmaps for the "same" class on pairs of one person and the "different" class on '
             "pairs of both (the paper uses guided backpropagation). A method that fails the sanity check — its maps "
             "hardly change when the weights are randomised — is marked and must not be trusted.</p>"]
    # the paper's method (guided backpropagation) full width first, the others two by two
    figs = sorted(folder.glob("figure7_*.png"), key=lambda f: (not f.stem.endswith("guided_backprop"), f.stem))
    blocks = []
    for f in figs:
        method = f.stem.removeprefix("figure7_")
        bad = any(method == m or method.startswith(f"{m}_") or method.endswith(f"_{m}") for m in failing)
        badge = ' <span class="badge fail">fails sanity</span>' if bad else ""
        blocks.append(f"<div><h3>{esc(method)}{badge}</h3>" + figure(f, f"Figure 7 with {esc(method)}") + "</div>")
    if blocks and figs[0].stem.endswith("guided_backprop"):
        parts.append(blocks.pop(0))
    if blocks:
        parts.append(f'<div class="cols">{"".join(blocks)}</div>')
    if not figs:
        parts.append(notice("no figure7_*.png in explain/", kind="missing"))
    sanity, ok_s = _method_table(folder / "sanity.json", failing)
    faith, ok_f = _method_table(folder / "faithfulness.json", failing)
    statement = pick(load_json(folder / "summary.json").value, "statement")
    parts.append("<h3>Sanity check (cascading and independent weight randomisation)</h3>"
                 + (f"<p><b>{esc(statement)}</b></p>" if isinstance(statement, str) else "")
                 + _sanity_findings(folder / "sanity.json") + sanity
                 + _optional_figure(folder / "sanity.png", "Per weight layer, from the output down: rank correlation "
                                    "(with and without absolute values) and SSIM between maps of the trained and the "
                                    "randomised network (low = the method depends on the weights)"))
    parts.append("<h3>Faithfulness (deletion and insertion)</h3>" + faith
                 + _optional_figure(folder / "faithfulness.png", "Deletion and insertion curves"))
    facts = {"failing_sanity": sorted(failing), "methods": [f.stem.removeprefix("figure7_") for f in figs],
             "sanity_checked": ok_s}
    return Section("explain", title, _status(sum([bool(figs), ok_s, ok_f]), 3), "".join(parts), facts)


def _sanity_findings(path: Path) -> str:
    """What the randomisation check finds, per method, guided backpropagation (the paper's method) first."""
    from ..explain.sanity import finding

    methods = load_json(path).value
    methods = methods.get("methods") if isinstance(methods, dict) else None
    if not isinstance(methods, dict):
        return ""
    items = []
    for name in sorted(methods, key=lambda n: (not n.endswith("-guided_backprop"), n)):
        r = methods[name]
        if isinstance(r, dict) and isinstance(r.get("final_spearman"), int | float) and "passed" in r:
            items.append(f"<li>{esc(finding(name, r))}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _optional_figure(path: Path, caption: str) -> str:
    return figure(path, esc(caption)) if path.is_file() else ""


def ranking_table(rows: list[dict[str, Any]]) -> str:
    """ranking.csv in long form (source, region, score, ci) as one row per region and one column per source.

    Regions are ordered by their mean score over the sources that pass the sanity check; a source that
    fails it is labelled so in its column header. Other layouts are shown as they are.
    """
    cols = set(rows[0]) if rows else set()
    if not {"source", "region", "score"} <= cols:
        return table(rows)
    sources = list(dict.fromkeys(r["source"] for r in rows))
    failed = {r["source"] for r in rows if str(r.get("sanity", "")).lower().startswith("fail")}
    cell: dict[tuple[str, str], str] = {}
    scores: dict[str, list[float]] = {}
    for r in rows:
        sc, lo, hi = number(r.get("score")), number(r.get("ci_low")), number(r.get("ci_high"))
        if sc is None:
            continue
        ci = f'<br><span class="small">[{lo:.2f}, {hi:.2f}]</span>' if lo is not None and hi is not None else ""
        cell[(r["region"], r["source"])] = f"{sc:.2f}{ci}"
        if r["source"] not in failed:
            scores.setdefault(r["region"], []).append(sc)
    regions = list(dict.fromkeys(r["region"] for r in rows))
    regions.sort(key=lambda g: -(sum(scores[g]) / len(scores[g])) if scores.get(g) else float("inf"))
    headers = {src: f"{src} (fails sanity)" if src in failed else src for src in sources}
    out = [{"region": esc(g), **{src: cell.get((g, src), "–") for src in sources}} for g in regions]
    return table(out, ["region", *sources], headers, raw=["region", *sources])


# --- regions -------------------------------------------------------------------------------------

def _region_test_part(run: Run, summary: Any) -> str:
    """The region test (explain/region_test.png) and the features the maps favour that it did not confirm."""
    path = run.explain / "region_test.png"
    if not path.is_file():
        return ""
    unconfirmed = pick(summary, "not_confirmed") if isinstance(summary, dict) else None
    note = ""
    if isinstance(unconfirmed, list) and unconfirmed:
        it = "it" if len(unconfirmed) == 1 else "them"
        note = (f"<p>The maps also favour <b>{esc(', '.join(unconfirmed))}</b>, but covering {it} does not change "
                f"the networks' answers, so the hint leaves {it} out.</p>")
    return ("<h3>Region test: which features do the networks need?</h3>"
            '<p class="lead">Each feature of every test face covered with the mean face; the drop of the '
            "probability of the right answer, with bootstrap 95% intervals. The hint names only features a "
            "trusted network needs.</p>" + note + figure(path, "Drop of the right answer when each feature is covered"))


def _hint_basis(summary: Any) -> str:
    """How much the hint rests on: networks, region-test units, the named features' intervals; tentative or none."""
    if not isinstance(summary, dict):
        return ""
    if summary.get("no_hint"):
        return notice("There is no hint: no network tells the two people apart better than chance, so nothing "
                      "here says where to look.", kind="error")
    rests = summary.get("rests_on") if isinstance(summary.get("rests_on"), dict) else {}
    lines = []
    for kind, q in (summary.get("networks") or {}).items():
        if isinstance(q, dict) and isinstance(q.get("test_accuracy"), int | float):
            verdict = "better than chance" if q.get("better_than_chance") else "NOT better than chance"
            lines.append(f"{kind}: {q['test_accuracy']:.1%} of {q.get('n_test')} test {q.get('unit', 'units')} "
                         f"({verdict}, p = {fmt(q.get('p_value'))})")
    for feature, per_net in (rests.get("features") or {}).items():
        agree = (rests.get("networks_agreeing") or {}).get(feature, [])
        drops = "; ".join(f"{k}: drop {fmt(v.get('drop'))} [{fmt(v.get('ci_low'))}, {fmt(v.get('ci_high'))}] over "
                          f"{(rests.get('units') or {}).get(k, '?')} units" for k, v in per_net.items())
        lines.append(f"{feature} — named by {', '.join(agree) or 'no network'}; {drops}")
    basis = f"<p>The hint rests on the <b>{esc(str(summary.get('basis', 'region test')))}</b>:</p>"
    body = basis + ("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>" if lines else "")
    if summary.get("tentative"):
        body += notice("Tentative: " + esc("; ".join(summary.get("tentative_because") or ["it rests on little"])),
                       kind="error")
    return body


def regions_section(run: Run) -> Section:
    title = "5. From maps to words: region ranking and the hint"
    folder = run.regions
    if not folder.is_dir():
        return Section("regions", title, "missing", not_run("The region analysis", f"lookalike regions {run.root}"))
    hint, ranking = load_text(folder / "hint.txt"), load_csv(folder / "ranking.csv", limit=RANKING_ROWS)
    summary = load_json(folder / "summary.json")
    parts = [_errors(hint, ranking, summary)]
    facts: dict[str, Any] = {}
    if hint.ok and hint.value:
        facts["hint"] = hint.value
        parts.append("<h3>The hint given to the post-test group</h3>"
                     f'<blockquote class="hint">{esc(hint.value)}</blockquote>'
                     + _hint_basis(summary.value if summary.ok else None))
    else:
        parts.append(notice("hint.txt is missing", kind="missing"))
    parts.append(_region_test_part(run, summary.value if summary.ok else None))
    parts.append('<p class="lead">Share of each method\'s attribution inside a named face region divided by the '
                 "region's share of the face (1 = no preference), with bootstrap 95% intervals over images.</p>")
    warning = pick(summary.value, "warning") if summary.ok else None
    if isinstance(warning, str) and warning:
        parts.append(notice(esc(warning), kind="error"))
    if (folder / "ranking.png").is_file():
        parts.append(figure(folder / "ranking.png", "Region ranking per method with 95% intervals"))
    figs = [figure(folder / n, c) for n, c in (("regions.png", "The named regions on the mean face"),
                                                ("hint.png", "The hint as shown to the post-test group"),
                                                ("agreement.png", "Agreement between methods (rank correlation)"))
            if (folder / n).is_file()]
    if figs:
        parts.append(f'<div class="cols">{"".join(figs)}</div>')
    elif not (folder / "ranking.png").is_file():
        parts.append(notice("no region figures", kind="missing"))
    if ranking.ok:
        parts.append("<h3>Ranking: score [95% interval] per method</h3>" + ranking_table(ranking.value))
        if len(ranking.value) >= RANKING_ROWS:
            parts.append(f'<p class="small">First {RANKING_ROWS} rows of regions/ranking.csv.</p>')
    recovery = summary.value.get("planted_recovery") if summary.ok and isinstance(summary.value, dict) else None
    if isinstance(recovery, dict) and recovery:
        rows = [{"source": k, "score": fmt(v.get("score")), "interval": "–" if v.get("ci_low") is None
                 else f"[{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]", "images": v.get("n")}
                for k, v in sorted(recovery.items(), key=lambda kv: -(kv[1].get("score") or 0))]
        parts.append("<h3>Ground truth: how much of each map falls on the planted difference</h3>"
                     '<p class="lead">Synthetic data only: attribution share inside the planted masks ÷ their '
                     "share of the image (1 = no better than a uniform map).</p>" + table(rows))
        facts["planted_recovery_best"] = rows[0]["source"]
    top = pick(summary.value, "look_at", "top_regions", "hint_regions", "top") if summary.ok else None
    if isinstance(top, list) and top:
        facts["top_regions"] = [str(t) for t in top[:4]]
    elif ranking.ok:  # ranking.csv may hold one row per method and region: keep the first mention of each
        regions = [r.get("region") for r in ranking.value if r.get("region")]
        facts["top_regions"] = list(dict.fromkeys(regions))[:3]
    if summary.ok:
        parts.append("<details><summary>regions/summary.json</summary>" + kv_table(summary.value) + "</details>")
    return Section("regions", title, _status(sum([hint.ok, ranking.ok, bool(figs)]), 3), "".join(parts), facts)
