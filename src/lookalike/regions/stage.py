"""`lookalike regions`: from maps to named face regions, a ranking with intervals, and the hint.

Sources: every map file in `explain/maps/` (each image scored with its own
landmarks) and `fooling/aggregate.npy` when present (one map on the template
face, so it has no interval). Whether a map may illustrate the hint comes from
`explain/sanity.json`: methods that failed the sanity check are shown, marked,
and left out. The hint's features come from the region test (`hint.py`) of the
networks that beat chance; with none, there is no hint.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..contract import (
    EXPLAIN_SUMMARY,
    FEATURE_RANKING,
    HINT,
    NETWORK_SUMMARY,
    PLANTED,
    RANKING,
    REGION_TEST,
    REGIONS_SUMMARY,
    SANITY,
    RegionsSummary,
    sanity_verdicts,
    write_config,
)
from ..data.dataset import load_landmarks, split_rows
from ..errors import InputError, StageMissing
from ..face.regions import FEATURES, REGIONS, LabelCache, template_labels
from ..face.template import SIZE as IMAGE_SIZE
from ..intervals import bootstrap_mean
from ..io import load_rgb
from ..progress import progress
from ..runfolder import Run
from . import hint as hints
from .scoring import agreement, rank_desc, score_maps
from .truth import recovery_table

REGION_GROUPS = {r: [i] for i, r in enumerate(REGIONS)}
FEATURE_GROUPS = {f: [REGIONS.index(r) for r in rs] for f, rs in FEATURES.items()}
MEAN_FACE_IMAGES = 300
CHANCE_P = 0.01  # a network beats chance when a one-sided binomial test of its test accuracy gives p < this


def mean_face(run: Run, limit: int = MEAN_FACE_IMAGES) -> np.ndarray:
    """Average of up to `limit` aligned faces (grey when there is no data)."""
    try:
        rows = split_rows(run)
    except StageMissing:
        rows = []
    rows = rows[:: max(1, len(rows) // limit)][:limit] if rows else []
    acc = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.float64)
    count = 0
    for row in rows:
        path = run.data / row["path"]
        if path.exists():
            acc += load_rgb(path, size=IMAGE_SIZE)
            count += 1
    return (acc / count).round().astype(np.uint8) if count else np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 160, np.uint8)


def sanity_status(run: Run) -> dict[str, bool]:
    """`<network>-<method>` → whether its maps passed explain's sanity check ({} when none was checked)."""
    return sanity_verdicts(SANITY.read(run)) if SANITY.exists(run) else {}


def _source_table(name: str, maps: np.ndarray, labels: np.ndarray, clusters: np.ndarray | None,
                  seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level, groups in (("regions", REGION_GROUPS), ("features", FEATURE_GROUPS)):
        s = score_maps(maps, labels, groups, clusters)
        score, lo, hi = bootstrap_mean(s.enrichment, s.clusters, seed=seed)
        attr = np.nanmean(s.attribution, 0) if len(s.attribution) else np.full(len(groups), np.nan)
        area = np.nanmean(s.area, 0) if len(s.area) else np.full(len(groups), np.nan)
        ranks = rank_desc(score)
        out[level] = [{"source": name, level[:-1]: g, "score": float(score[j]), "ci_low": float(lo[j]),
                       "ci_high": float(hi[j]), "attribution_share": float(attr[j]), "area_share": float(area[j]),
                       "rank": int(ranks[j])} for j, g in enumerate(groups)]
        out["n_images"] = int(len(s.enrichment))
        out["dropped_empty"] = s.dropped
    return out


def _mean_map(maps: np.ndarray) -> np.ndarray:
    """Mean of the maps, each scaled to sum 1 (the faces are aligned, so pixels roughly correspond)."""
    maps = np.clip(np.nan_to_num(maps.astype(np.float64)), 0, None)
    total = maps.reshape(len(maps), -1).sum(1)
    keep = total > 0
    return (maps[keep] / total[keep, None, None]).mean(0) if keep.any() else np.zeros(maps.shape[1:])


def collect_sources(run: Run, seed: int) -> list[dict[str, Any]]:
    from ..contract import load_maps

    status = sanity_status(run)
    cache = LabelCache()
    sources = []
    files = sorted((run.explain / "maps").glob("*.npz"))
    for path in progress(files, desc="regions"):
        mf = load_maps(path)
        if mf.maps.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise InputError(f"{path}: maps are {mf.maps.shape[-2:]}, expected {IMAGE_SIZE}×{IMAGE_SIZE}")
        landmarks = load_landmarks(run, mf.paths)
        labels = np.stack([cache(lm) for lm in landmarks]) if len(landmarks) else np.zeros((0, 128, 128), np.int8)
        clusters = np.where(mf.pair >= 0, mf.pair, -1 - np.arange(len(mf.pair)))
        table = _source_table(mf.name, mf.maps, labels, clusters, seed)
        table["mean_map"] = _mean_map(mf.maps)
        verdict = status.get(mf.name)
        table.update(source=mf.name, kind="map", network=mf.model, file=str(path.relative_to(run.root)),
                     sanity="unchecked" if verdict is None else "pass" if verdict else "fail")
        table["used_for_hint"] = table["sanity"] == "pass"
        sources.append(table)
    fooling = run.fooling / "aggregate.npy"
    if fooling.exists():
        agg = np.load(fooling, allow_pickle=False).astype(np.float32)
        if agg.shape != (IMAGE_SIZE, IMAGE_SIZE):
            raise InputError(f"{fooling}: expected a {IMAGE_SIZE}×{IMAGE_SIZE} map, got {agg.shape}")
        agg = np.clip(np.nan_to_num(np.abs(agg)), 0, None)
        table = _source_table("fooling-aggregate", agg[None], template_labels()[None], None, seed)
        table["mean_map"] = _mean_map(agg[None])
        table.update(source="fooling-aggregate", kind="fooling", network=None, file=str(fooling.relative_to(run.root)),
                     sanity="n/a", used_for_hint=True)
        sources.append(table)
    return sources


def network_quality(run: Run) -> dict[str, dict[str, Any]]:
    """Per trained network: test accuracy, test units and whether it beats chance (one-sided binomial test,
    p < CHANCE_P). A network without a training summary (trained elsewhere) is assumed to have learnt."""
    from scipy.stats import binomtest

    out: dict[str, dict[str, Any]] = {}
    for kind in ("classifier", "siamese"):
        if not (run.model(kind) / "model.safetensors").exists():
            continue
        loaded = NETWORK_SUMMARY.load(run, kind=kind)
        summary = loaded.value if loaded.ok else None
        acc = summary.test_accuracy if summary is not None else None
        n = summary.test.n if summary is not None and summary.test is not None else None
        if acc is None or not n:
            out[kind] = {"test_accuracy": None, "n_test": None, "p_value": None, "better_than_chance": True,
                         "note": "no test accuracy on record: assumed to have learnt"}
            continue
        p = float(binomtest(int(round(acc * n)), n, 0.5, alternative="greater").pvalue)
        out[kind] = {"test_accuracy": float(acc), "n_test": n, "unit": summary.test_unit or "units",
                     "p_value": p, "better_than_chance": p < CHANCE_P}
    return out


def _near_chance_networks(run: Run) -> list[str]:
    if not EXPLAIN_SUMMARY.exists(run):
        return []
    return sorted(k for k, v in EXPLAIN_SUMMARY.read(run).networks.items() if v.near_chance)


def _region_test(run: Run, networks: set[str]) -> dict[str, Any]:
    """explain/region_test.json for the networks whose maps inform the hint ({} when there is none)."""
    if not REGION_TEST.exists(run):
        return {}
    return {k: v.to_json() for k, v in REGION_TEST.read(run).networks.items() if k in networks}


def _mark_maps(sources: list[dict[str, Any]], trusted: list[dict[str, Any]], look: list[str],
               tested: bool) -> list[dict[str, Any]]:
    """Mark each map "agrees"/"disagrees" with the hint's features (its top feature is / is not one of them);
    a disagreeing map is left out of the illustration. Returns the trusted maps that remain."""
    for s in sources:
        top = min(s["features"], key=lambda r: r["rank"])["feature"] if s["features"] else None
        s["top_feature"] = top
        s["region_test"] = "n/a" if not tested or not look or top is None else \
            "agrees" if top in look else "disagrees"
    kept = []
    for s in trusted:
        if s["region_test"] == "disagrees":
            s["used_for_hint"] = False
            s["left_out_because"] = f"its top feature ({s['top_feature']}) is not one the region test names"
        else:
            kept.append(s)
    return kept


def _trusted_maps(sources: list[dict[str, Any]], weak: set[str]) -> tuple[list[dict[str, Any]], str | None]:
    """The sources that may illustrate the hint (sanity passed, network not near chance), and a warning."""
    trusted = [s for s in sources if s["used_for_hint"]]
    warning = None
    if not any(s["sanity"] == "pass" for s in sources):
        if trusted:
            warning = "no attribution method passed the sanity check; only the fooling aggregate illustrates the hint"
        else:
            trusted = [s for s in sources if s["kind"] == "map"]
            warning = ("no attribution method passed the sanity check (or explain's sanity.json is missing); "
                       "the maps shown may not reflect the networks")
    for s in [s for s in trusted if s["kind"] == "map" and s["network"] in weak]:
        trusted.remove(s)
        s["used_for_hint"] = False
        s["left_out_because"] = "network near chance"
    return trusted, warning


def _choose_hint(region_test: dict[str, Any], trusted: list[dict[str, Any]], no_hint: bool) -> dict[str, Any]:
    """The hint's features (`look`, `avoid`), what they rest on (`rests`), the `basis` and the sentence.

    The region test names the features; only when it names none do the trusted maps' consensus speak,
    tentatively. With no network better than chance there is no hint."""
    if no_hint:
        return {"look": [], "avoid": [], "drops": {}, "support": {}, "basis": "none", "text": hints.NO_HINT,
                "rests": {"units": {}, "features": {}, "networks_agreeing": {}, "tentative": True,
                          "tentative_because": ["no network tells the two people apart better than chance"]}}
    chosen = hints.from_region_test(region_test)
    chosen["basis"] = "region test"
    rests = chosen["rests"] = hints.strength(chosen, region_test)
    if not chosen["look"]:  # no region test, or it names nothing: the maps' consensus, tentatively
        maps = hints.from_maps({s["source"]: {r["feature"]: r["score"] for r in s["features"]} for s in trusted})
        chosen.update(look=maps["look"], support={f: ["maps"] for f in maps["look"]})
        reason = "no region test" if not region_test else "the region test names nothing"
        chosen["basis"] = f"maps ({reason})"
        rests["tentative"] = True
        rests["tentative_because"] = [f"the hint rests on the maps alone: {reason}"]
    chosen["text"] = hints.sentence(chosen["look"], chosen["avoid"], rests["tentative"])
    return chosen


def _write_tables(run: Run, sources: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """ranking.csv, features.csv and their figures; returns the agreement between sources."""
    from .figures import agreement_figure, ranking_figure

    region_rows = [row for s in sources for row in s["regions"]]
    for row in region_rows:
        row["sanity"] = next(s["sanity"] for s in sources if s["source"] == row["source"])
    RANKING.write(run, sorted(region_rows, key=lambda r: (r["source"], r["rank"])))
    feature_rows = [row for s in sources for row in s["features"]]
    FEATURE_RANKING.write(run, sorted(feature_rows, key=lambda r: (r["source"], r["rank"])))
    ranking_figure(sources, run.regions / "ranking.png")
    agree = agreement({s["source"]: np.array([r["score"] for r in s["regions"]]) for s in sources})
    if len(sources) > 1:
        agreement_figure(agree, run.regions / "agreement.png")
    return agree


def run_regions(run: Run | str | Path, seed: int = 0) -> RegionsSummary:
    """Score every map source by region, rank, compare methods and write the hint."""
    from .figures import hint_figure, regions_figure

    run = run if isinstance(run, Run) else Run(run)
    t0 = time.perf_counter()
    has_maps = any((run.explain / "maps").glob("*.npz"))
    if not has_maps and not (run.fooling / "aggregate.npy").exists():
        raise StageMissing(f"nothing to analyse in {run.root}: run `lookalike explain {run.root}` "
                           f"(or `lookalike fool {run.root}`) first")
    run.regions.mkdir(parents=True, exist_ok=True)
    write_config(run.regions, {"seed": seed, "bootstrap": 1000, "name_fraction": hints.NAME_FRACTION,
                               "alone_fraction": hints.ALONE_FRACTION,
                               "max_look": hints.MAX_LOOK, "chance_p": CHANCE_P, "look_min": hints.LOOK_MIN,
                               "look_fraction": hints.LOOK_FRACTION})
    sources = collect_sources(run, seed)
    face = mean_face(run)
    tmpl = template_labels()
    regions_figure(face, tmpl, run.regions / "regions.png")
    agree = _write_tables(run, sources)

    quality = network_quality(run)
    learnt = {k for k, q in quality.items() if q["better_than_chance"]}
    trusted, warning = _trusted_maps(sources, set(_near_chance_networks(run)) | (set(quality) - learnt))
    region_test = _region_test(run, learnt)
    no_hint = bool(quality) and not learnt
    if no_hint:
        warning = f"{warning}; no hint" if warning else "no network beats chance: no hint"
    chosen = _choose_hint(region_test, trusted, no_hint)
    trusted = _mark_maps(sources, trusted, chosen["look"], bool(region_test))
    recovery = recovery_table(run, sorted((run.explain / "maps").glob("*.npz")), run.fooling / "aggregate.npy",
                              seed)
    if recovery is not None:
        PLANTED.write(run, recovery)
    maps_rank = {s["source"]: [r["feature"] for r in sorted(s["features"], key=lambda r: r["rank"])] for s in trusted}
    illustrated = {f: sorted(k for k, ranked in maps_rank.items() if f in ranked[:3]) for f in chosen["look"]}
    HINT.write(run, chosen["text"])
    where = [s["mean_map"] for s in trusted if s["source"] in {k for v in illustrated.values() for k in v}]
    hint_figure(face, tmpl, chosen["look"], chosen["text"], run.regions / "hint.png",
                heat=np.mean(where, 0) if where else None)
    summary = _summary(sources, trusted, chosen, quality, region_test, warning, no_hint, illustrated)
    return REGIONS_SUMMARY.write(run, {**summary, "seconds": round(time.perf_counter() - t0, 2), "agreement": agree,
                                       "planted_recovery": recovery})


def _summary(sources: list[dict[str, Any]], trusted: list[dict[str, Any]], chosen: dict[str, Any],
             quality: dict[str, Any], region_test: dict[str, Any], warning: str | None, no_hint: bool,
             illustrated: dict[str, list[str]]) -> dict[str, Any]:
    rests = chosen["rests"]
    return {
        "stage": "regions",
        "hint": chosen["text"], "look_at": chosen["look"], "avoid": chosen["avoid"], "no_hint": no_hint,
        "tentative": bool(rests["tentative"]), "tentative_because": rests["tentative_because"],
        "basis": chosen["basis"], "rests_on": rests, "networks": quality,
        "trusted": warning is None, "warning": warning,
        "not_confirmed": sorted({s["top_feature"] for s in sources if s.get("region_test") == "disagrees"}),
        "region_test": ({k: {"needed": t["needed"], "sufficient": t.get("sufficient", []), "n_units": t["n_units"]}
                         for k, t in region_test.items()}
                        if region_test else None),
        "evidence": {
            "sources_used": (["region-test"] if chosen["basis"] == "region test" else [])
                            + [s["source"] for s in trusted],
            "sources_left_out": {s["source"]: s.get("left_out_because", s["sanity"])
                                 for s in sources if s not in trusted},
            "drops": chosen["drops"], "gains": chosen.get("gains", {}), "maps_illustrating": illustrated,
            "rule": (f"named: features whose covering lowers the right answer, or which shown alone on the mean "
                     f"face raise it, with a 95 % interval above 0 and by >= {hints.NAME_FRACTION} x the "
                     f"network's largest such effect, in a network better than chance (with two such networks: "
                     f"named by both, or by one with >= {hints.ALONE_FRACTION} x its largest effect); ranked by "
                     f"effect, at "
                     f"most {hints.MAX_LOOK}; maps (sanity passed) and the fooling aggregate "
                     f"illustrate; they name features only when the region test names none (tentative)"),
        },
        "top_regions": {s["source"]: [r["region"] for r in sorted(s["regions"], key=lambda r: r["rank"])[:3]]
                        for s in sources},
        "sources": [{k: s.get(k) for k in ("source", "kind", "network", "file", "sanity", "region_test",
                                           "used_for_hint", "n_images", "dropped_empty")} for s in sources],
        "files": ["regions.png", "ranking.csv", "features.csv", "ranking.png", "hint.txt", "hint.png"]
                 + (["agreement.png"] if len(sources) > 1 else []),
    }
