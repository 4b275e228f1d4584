"""Report sections for the pipeline stages: data, training, fooling, activation maps, regions.

Each builder reads one stage's files through the contract (`lookalike.contract`),
puts what it found into a template (templates/<stage>.html.j2) and returns a
Section with a status (present / partial / missing), its HTML, and the key
numbers the overview at the top of the report repeats.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..contract import (
    DATA_SUMMARY,
    EXPLAIN_SUMMARY,
    FACEMAP_SUMMARY,
    FAITHFULNESS,
    FOOLING_SUMMARY,
    HINT,
    IDENTITIES,
    MANIFEST,
    RANKING,
    REGIONS_SUMMARY,
    RESULTS,
    SANITY,
    SPLIT,
    SYNTH_SUMMARY,
    TABLE1_AMENDMENT,
    FoolingSummary,
    JsonFile,
    Loaded,
    ManifestRow,
    ModelSummary,
    RegionsSummary,
    Sanity,
    SplitRow,
    model_summary,
    read_names,
    scale_sentence,
    split_map_name,
)
from ..errors import InputError
from ..runfolder import Run
from .figures import (
    FIGURE1_QUESTION,
    MAP_COLOURS,
    THUMBS_QUALITY,
    architecture,
    facemap_networks,
    figure1_pair,
)
from .html import Cell, fmt, number, pct
from .render import render
from .words import method_label, network_name, person_name, source_name

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
KNOWN_MODELS = ("classifier", "siamese", "embedding")


@dataclass
class Section:
    id: str
    title: str
    status: str  # present | partial | missing | error
    body: Markup
    facts: dict[str, Any] = field(default_factory=dict)


def status_of(found: int, wanted: int) -> str:
    return "missing" if found == 0 else ("present" if found >= wanted else "partial")


def not_run(sid: str, title: str, stage: str, command: str) -> Section:
    return Section(sid, title, "missing", render("not_run.html.j2", stage=stage, command=command))


def spread(items: list[Path], n: int) -> list[Path]:
    """n items spread evenly over a sorted list, so examples are not all from one photo session."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def load_identities(run: Run) -> Loaded[Any]:
    path = IDENTITIES.path(run)
    if not path.is_file():
        return Loaded()
    try:
        return Loaded(read_names(path))
    except InputError as exc:
        return Loaded(error=f"{path.name} could not be read: {exc}")


# --- data ------------------------------------------------------------------------------------------

def manifest_table(rows: list[ManifestRow]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One row per outcome: how many input files and how many faces in them ended so, and the usual reason."""
    files = Counter(r.outcome or "(empty)" for r in rows if r.face is None)
    faces = Counter(r.outcome or "(empty)" for r in rows if r.face is not None)
    reasons = Counter((r.outcome or "(empty)", r.reason or "") for r in rows)
    table = [{"outcome": k, "files": files.get(k, 0), "faces": faces.get(k, 0),
              "most common reason": max(((r, n) for (o, r), n in reasons.items() if o == k), key=lambda t: t[1])[0]}
             for k in dict.fromkeys([*files, *faces])]
    table.sort(key=lambda r: -(r["files"] + r["faces"]))
    return table, {"files": sum(files.values()), "faces": sum(faces.values()), "kept": faces.get("kept", 0)}


def split_table(rows: list[SplitRow], people: list[str]) -> list[dict[str, Any]]:
    """Faces per split and person, and the number of near-duplicate groups in each split."""
    by = Counter((r.split, r.identity) for r in rows)
    names = sorted({i for _, i in by}, key=lambda n: (people.index(n) if n in people else 99, n))
    order = [s for s in ("train", "val", "test") if any(k[0] == s for k in by)]
    return [{"split": s, **{person_name(n): by.get((s, n), 0) for n in names},
             "total": sum(by.get((s, n), 0) for n in names),
             "near-duplicate groups": len({r.group for r in rows if r.split == s})} for s in order]


def examples(run: Run) -> list[tuple[str, list[Path]]]:
    faces = run.data / "faces"
    if not faces.is_dir():
        return []
    return [(person.name, spread(sorted(person.glob("*.png")), EXAMPLES_PER_PERSON))
            for person in sorted(p for p in faces.iterdir() if p.is_dir())]


def data_section(run: Run) -> Section:
    title = "1. Data: two look-alike people, aligned at 128×128"
    if not run.data.is_dir():
        return not_run("data", title, "The data stage", f"lookalike prepare PHOTOS --out {run.root}")
    summary, idents = DATA_SUMMARY.load(run), load_identities(run)
    manifest, split, synth = MANIFEST.load_records(run), SPLIT.load_records(run), SYNTH_SUMMARY.load(run)
    people = idents.value or []
    facts: dict[str, Any] = {"people": people} if people else {}
    planted = synth.value.regions if synth.ok else []
    if synth.ok:
        facts["planted"] = ", ".join(planted) or None
    ctx: dict[str, Any] = {"loaded": [summary, idents, manifest, split], "synth": synth.value, "planted": planted,
                           "people": people, "summary": summary.value, "examples": examples(run),
                           "contact_sheet": run.synth / "contact_sheet.png", "pair": figure1_pair(run),
                           "question": FIGURE1_QUESTION}
    if manifest.ok:
        ctx["manifest"], counts = manifest_table(manifest.value)
        ctx["counts"] = counts
        facts.update(input_files=counts["files"], kept=counts["kept"])
    if split.ok:
        ctx["split"] = split_table(split.value, people)
        facts["split"] = {r["split"]: r["total"] for r in ctx["split"]}
    shown = any(files for _, files in ctx["examples"])
    ctx["any_examples"] = shown
    status = status_of(sum([manifest.ok, split.ok, shown, summary.ok]), 4)
    return Section("data", title, status, render("data.html.j2", **ctx), facts)


# --- training -------------------------------------------------------------------------------------

def model_kinds(run: Run) -> list[str]:
    if not run.models.is_dir():
        return []
    found = [p.name for p in run.models.iterdir() if p.is_dir()]
    return [k for k in KNOWN_MODELS if k in found] + sorted(set(found) - set(KNOWN_MODELS))


def load_model_summary(run: Run, kind: str) -> Loaded[ModelSummary]:
    return model_summary(kind).load_at(run.model(kind) / "summary.json")


def accuracy_rows(kind: str, s: ModelSummary) -> list[dict[str, Any]]:
    """Test accuracy of one model next to the paper's (where the paper has one), and its pair accuracy."""
    test = s.test
    unit = s.test_unit or ("pairs" if kind == "siamese" else "images")
    paper = s.paper_accuracy()
    rows = [{"model": network_name(kind), "test accuracy": pct(s.test_accuracy, 2),
             "balanced accuracy": pct(test.balanced_accuracy if test else None, 2),
             "ROC AUC": fmt(test.roc_auc if test else None), "test set": f"{fmt(test.n if test else s.n_test)} {unit}",
             "paper": pct(paper, 2) if paper else "–", "_acc": s.test_accuracy, "_kind": kind, "_fact": kind}]
    pair = number(getattr(s, "pair_accuracy", None))
    if pair is not None:
        pair_test = s.pair_test
        rows.append({"model": f"{network_name(kind)} (same/different pairs)", "test accuracy": pct(pair, 2),
                     "balanced accuracy": pct(getattr(s, "pair_balanced_accuracy", None), 2),
                     "ROC AUC": fmt(getattr(s, "pair_roc_auc", None)),
                     "test set": f"{fmt(getattr(s, 'n_test_pairs', None) or (pair_test.n if pair_test else None))} pairs",
                     "paper": "–", "_acc": pair, "_kind": kind, "_fact": f"{kind} (same/different pairs)"})
    return rows


def _models(run: Run, kinds: list[str]) -> list[dict[str, Any]]:
    people = load_identities(run).value or []
    models = []
    for kind in kinds:
        folder = run.model(kind)
        loaded = load_model_summary(run, kind)
        curves = [p for p in ("curves_accuracy.png", "curves_loss.png") if (folder / p).is_file()]
        extra = sorted(p.name for p in folder.glob("*.png") if p.name not in curves)[:2]
        models.append({"kind": kind, "name": network_name(kind), "folder": folder, "loaded": loaded,
                       "summary": loaded.value, "curves": curves, "extra": extra,
                       "drawing": architecture(run, kind, people) if kind in ("classifier", "siamese") else None})
    return models


def training_section(run: Run) -> Section:
    """The classifier (Figures 2–4) and any baseline; the Siamese network has its own section after fooling,
    where the paper brings it in (Figure 6). The overview's facts cover every network."""
    title = "2. The classifier and its training (Figures 2, 3 and 4)"
    kinds = model_kinds(run)
    if not kinds:
        return not_run("training", title, "Training", f"lookalike train {run.root} --model classifier")
    models = _models(run, kinds)
    rows = [r for m in models if m["summary"] is not None for r in accuracy_rows(m["kind"], m["summary"])]
    found = sum(m["summary"] is not None for m in models)
    facts = {r["_fact"]: r["_acc"] for r in rows}
    shown = [m for m in models if m["kind"] != "siamese"]
    return Section("training", title, status_of(found, len(kinds)),
                   render("training.html.j2", rows=[r for r in rows if r["_kind"] != "siamese"], models=shown), facts)


def siamese_section(run: Run) -> Section:
    title = "4. The Siamese network (Figure 6)"
    if not (run.model("siamese") / "model.json").is_file() and not (run.model("siamese") / "summary.json").is_file():
        return not_run("siamese", title, "Training the Siamese network", f"lookalike train {run.root} --model siamese")
    model = _models(run, ["siamese"])[0]
    rows = accuracy_rows("siamese", model["summary"]) if model["summary"] is not None else []
    status = status_of(int(model["summary"] is not None) + int(bool(model["curves"])), 2)
    return Section("siamese", title, status, render("siamese.html.j2", rows=rows, model=model))


# --- fooling ---------------------------------------------------------------------------------------

def informative_panels(folder: Path) -> list[Path]:
    """Panels of images the attack actually changed first (an image fooled in 0 steps has an empty map)."""
    panels = sorted((folder / "panels").glob("*.png")) if (folder / "panels").is_dir() else []
    results = _results(folder)
    changed = {r.id for r in results if r.steps > 0 and r.success}
    first = spread([p for p in panels if p.stem in changed], PANELS_SHOWN)
    return first + [p for p in panels if p not in first]


def _results(folder: Path) -> list[Any]:
    path = folder / "results.csv"
    try:
        return RESULTS.read_at(path) if path.is_file() else []
    except InputError:
        return []


def fooling_facts(s: FoolingSummary) -> list[str]:
    """The sentence under the section's lead: how many were fooled, in how many steps, by how much."""
    bits = [f"fooled {fmt(s.n_fooled)} of {fmt(s.n)} ({pct(s.success_rate)})"]
    if s.steps.median is not None:
        bits.append(f"median {fmt(s.steps.median)} steps (max {fmt(s.steps.max)})")
    if s.confidence.mean is not None:
        bits.append(f"mean confidence for the other person {fmt(s.confidence.mean, 3)}")
    if s.linf.max is not None:
        bits.append(f"largest pixel change L∞ {fmt(s.linf.max, 3)} (bound 0.15)")
    if s.n_gave_up is not None:
        bits.append(f"gave up on {fmt(s.n_gave_up)}")
    return bits


def fooling_section(run: Run) -> Section:
    title = "3. Fooling the classifier (Figure 5, Table 1)"
    folder = run.fooling
    if not folder.is_dir():
        return not_run("fooling", title, "Fooling", f"lookalike fool {run.root}")
    s = FOOLING_SUMMARY.load(run)
    panels = informative_panels(folder)
    facts = {"success_rate": s.value.success_rate} if s.ok else {}
    scale = (s.value.map_scale if s.ok else None) or "image"
    epsilon = float((s.value.settings if s.ok else {}).get("epsilon", 0.15))
    grids = (s.value.grids if s.ok else {}) or ({"image": "grid.png"} if (folder / "grid.png").is_file() else {})
    ctx = {"loaded": [s], "summary": s.value, "bits": fooling_facts(s.value) if s.ok else [], "table1": TABLE1,
           "panels": panels, "shown": panels[:PANELS_SHOWN], "folder": folder, "scale": scale,
           "scale_sentence": scale_sentence(scale, epsilon), "amendment": TABLE1_AMENDMENT,
           "grids": [(k, folder / v, scale_sentence(k, epsilon)) for k, v in grids.items() if (folder / v).is_file()],
           "epsilon": epsilon}
    found = sum([s.ok, bool(panels), (folder / "aggregate.png").is_file()])
    return Section("fooling", title, status_of(found, 3), render("fooling.html.j2", **ctx), facts)


# --- explain --------------------------------------------------------------------------------------

def failing_methods(run: Run) -> set[str]:
    """Maps (`<network>-<method>`) the sanity check marks as failing: they barely depend on the weights."""
    sanity, summary = SANITY.load(run).value, EXPLAIN_SUMMARY.load(run).value
    return set(sanity.failed if sanity else []) | set(summary.failed_methods if summary else [])


def sanity_rows(run: Run, failing: set[str]) -> list[dict[str, Any]]:
    sanity = SANITY.load(run).value
    rows = []
    for name, r in (sanity.methods if sanity else {}).items():
        network, method = split_map_name(name)
        rows.append({"method": method_label(method), "network": network_name(network), "passed": r.passed,
                     "ρ with all weights randomised": r.final_spearman, "maps": r.n_maps,
                     "weight layers": r.weight_layers, "_class": "fail" if not r.passed or name in failing else ""})
    return rows


def faithfulness_rows(run: Run, failing: set[str]) -> list[dict[str, Any]]:
    faith = FAITHFULNESS.load(run).value
    rows = []
    for name, r in (faith.methods if faith else {}).items():
        network, method = split_map_name(name)
        rows.append({"method": method_label(method), "network": network_name(network), "deletion AUC": r.deletion_auc,
                     "random deletion AUC": r.random_deletion_auc, "insertion AUC": r.insertion_auc,
                     "random insertion AUC": r.random_insertion_auc, "beats random": r.beats_random,
                     "_class": "fail" if name in failing else ""})
    return rows


def _figure7_order(name: str) -> tuple[int, int, str]:
    """The paper's Figure 7 first: the Siamese network with guided backpropagation; then Siamese, then others."""
    network, method = split_map_name(name)
    return (network != "siamese", method != "guided_backprop", name)


def figure7s(folder: Path, failing: set[str]) -> list[dict[str, Any]]:
    """The Figure-7 grids, the paper's (the Siamese network's, with guided backpropagation) first."""
    names = sorted((f.stem.removeprefix("figure7_") for f in folder.glob("figure7_*.png")), key=_figure7_order)
    return [{"path": folder / f"figure7_{n}.png", "name": n, "label": source_name(n), "fails": n in failing,
             "paper": split_map_name(n) == ("siamese", "guided_backprop")} for n in names]


def explain_section(run: Run) -> Section:
    title = "6. Where the networks look: activation maps (Figure 7)"
    folder = run.explain
    if not folder.is_dir():
        return not_run("explain", title, "The activation-map stage", f"lookalike explain {run.root}")
    failing = failing_methods(run)
    sanity, faith, summary = SANITY.load(run), FAITHFULNESS.load(run), EXPLAIN_SUMMARY.load(run)
    figs = figure7s(folder, failing)
    ctx = {"folder": folder, "figures": figs, "sanity": sanity, "faithfulness": faith, "summary": summary.value,
           "sanity_rows": sanity_rows(run, failing), "faithfulness_rows": faithfulness_rows(run, failing),
           "sanity_findings": sanity_findings(sanity.value)}
    facts = {"failing_sanity": sorted(failing), "methods": [f["name"] for f in figs], "sanity_checked": sanity.ok}
    return Section("explain", title, status_of(sum([bool(figs), sanity.ok, faith.ok]), 3),
                   render("explain.html.j2", **ctx), facts)


def sanity_findings(sanity: Sanity | None) -> list[str]:
    """What the randomisation check finds, per method, guided backpropagation (the paper's method) first."""
    methods = sanity.methods if sanity is not None else {}
    return [methods[name].finding(name) for name in sorted(methods, key=lambda n: (not n.endswith("-guided_backprop"), n))]


# --- regions -------------------------------------------------------------------------------------

def ranking_table(rows: list[dict[str, Any]]) -> Markup:
    """ranking.csv (source, region, score, interval, sanity) as one row per region and one column per source.

    Regions are ordered by their mean score over the sources that pass the sanity check; a source that
    fails it is labelled so in its column header.
    """
    sources = list(dict.fromkeys(r["source"] for r in rows))
    failed = {r["source"] for r in rows if str(r.get("sanity", "")).lower().startswith("fail")}
    cell: dict[tuple[str, str], Cell] = {}
    scores: dict[str, list[float]] = {}
    for r in rows:
        sc, lo, hi = number(r.get("score")), number(r.get("ci_low")), number(r.get("ci_high"))
        if sc is None:
            continue
        cell[(r["region"], r["source"])] = Cell(f"{sc:.2f}", f"[{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None
                                                else None)
        if r["source"] not in failed:
            scores.setdefault(r["region"], []).append(sc)
    regions = list(dict.fromkeys(r["region"] for r in rows))
    regions.sort(key=lambda g: -(sum(scores[g]) / len(scores[g])) if scores.get(g) else float("inf"))
    headers = {src: f"{source_name(src)} (fails sanity)" if src in failed else source_name(src) for src in sources}
    table = [{"region": g, **{src: cell.get((g, src), "–") for src in sources}} for g in regions]
    return render("ranking_table.html.j2", rows=table, columns=["region", *sources], headers=headers)


def recovery_rows(summary: RegionsSummary | None) -> list[dict[str, Any]]:
    """Synthetic data: how much of each source's attribution falls on the planted difference."""
    recovery = summary.planted_recovery if summary is not None else None
    if not recovery:
        return []
    return [{"source": source_name(k), "score": fmt(v.score, 3), "interval": "–" if v.ci_low is None
             else f"[{fmt(v.ci_low, 3)}, {fmt(v.ci_high, 3)}]", "images": v.n}
            for k, v in sorted(recovery.items(), key=lambda kv: -(kv[1].score or 0))]


def hint_basis(summary: RegionsSummary | None) -> list[str]:
    """What the hint rests on, one line each: every network against chance, then each named feature with the
    networks that name it and its drops over the region-test units."""
    if summary is None:
        return []
    lines = []
    for kind, q in summary.networks.items():
        if q.test_accuracy is not None:
            verdict = "better than chance" if q.better_than_chance else "NOT better than chance"
            lines.append(f"{kind}: {q.test_accuracy:.1%} of {q.n_test} test {q.unit or 'units'} "
                         f"({verdict}, p = {fmt(q.p_value)})")
    rests = summary.rests_on
    for feature, per_net in (rests.features if rests is not None else {}).items():
        agree = rests.networks_agreeing.get(feature, [])
        drops = "; ".join(f"{k}: drop {fmt(v.drop)} [{fmt(v.ci_low)}, {fmt(v.ci_high)}]"
                          + (f", gain alone {fmt(v.gain)} [{fmt(v.gain_ci_low)}, {fmt(v.gain_ci_high)}]"
                             if v.gain is not None else "")
                          + f" over {rests.units.get(k, '?')} units" for k, v in per_net.items())
        lines.append(f"{feature} — named by {', '.join(agree) or 'no network'}; {drops}")
    return lines


def regions_section(run: Run) -> Section:
    title = "7. From maps to words: region ranking and the hint"
    folder = run.regions
    if not folder.is_dir():
        return not_run("regions", title, "The region analysis", f"lookalike regions {run.root}")
    hint, ranking, summary = HINT.load(run), RANKING.load(run, limit=RANKING_ROWS), REGIONS_SUMMARY.load(run)
    s = summary.value
    figs = [(folder / n, c) for n, c in (("regions.png", "The named regions on the mean face"),
                                         ("hint.png", "The hint as shown to the post-test group"),
                                         ("agreement.png", "Agreement between methods (rank correlation)"))
            if (folder / n).is_file()]
    recovery = recovery_rows(s)
    facts: dict[str, Any] = {"hint": hint.value} if hint.ok and hint.value else {}
    if s is not None and s.look_at:
        facts["top_regions"] = list(s.look_at[:4])
    elif ranking.ok:  # no summary: the first regions of the ranking
        facts["top_regions"] = list(dict.fromkeys(r.get("region") for r in ranking.value if r.get("region")))[:3]
    if recovery:
        facts["planted_recovery_best"] = recovery[0]["source"]
    ctx = {"loaded": [hint, ranking, summary], "hint": hint.value if hint.ok else None, "summary": s,
           "folder": folder, "figures": figs, "recovery": recovery, "ranking_rows": RANKING_ROWS,
           "ranking": ranking_table(ranking.value) if ranking.ok and ranking.value else None,
           "ranking_count": len(ranking.value) if ranking.ok else 0,
           "region_test_figure": run.explain / "region_test.png", "basis_lines": hint_basis(s)}
    return Section("regions", title, status_of(sum([hint.ok, ranking.ok, bool(figs)]), 3),
                   render("regions.html.j2", **ctx), facts)


# --- the map of the faces ------------------------------------------------------------------------

def facemap_section(run: Run) -> Section:
    title = "5. How the networks place the faces (a t-SNE map of each network's embedding)"
    s = FACEMAP_SUMMARY.load(run)
    if not s.ok and not s.error:
        return not_run("facemap", title, "The map of the faces", f"lookalike facemap {run.root}")
    networks = facemap_networks(run, s.value) if s.ok else []
    thumbs = run.root / "facemap" / (s.value.thumbs.file if s.ok else "thumbs.jpg")
    ctx = {"loaded": [s], "summary": s.value, "networks": networks, "thumbs": thumbs,
           "thumbs_quality": THUMBS_QUALITY,
           "people": list(zip(MAP_COLOURS, s.value.identities)) if s.ok else []}
    return Section("facemap", title, status_of(len(networks), len(s.value.networks) if s.ok else 1),
                   render("facemap.html.j2", **ctx))


def summary_file(path: Path) -> Loaded[Any]:
    """Any stage's summary.json, read as a plain summary (for the appendix)."""
    from ..contract import Summary

    return JsonFile(str(path), "a stage", "", record=Summary).load_at(path)
