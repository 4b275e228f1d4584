"""`lookalike regions`: from maps to named face regions, a ranking with intervals, and the hint.

Sources: every map file in `explain/maps/` (each image scored with its own
landmarks) and `fooling/aggregate.npy` when present (one map on the template
face, so it has no interval). Whether a source may inform the hint comes from
`explain/sanity.json`: methods that failed the sanity check are shown, marked,
and left out.
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
        table.update(source="fooling-aggregate", kind="fooling", network=None, file=str(fooling.relative_to(run.root)),
                     sanity="n/a", used_for_hint=True)
        sources.append(table)
    return sources


def _near_chance_networks(run: Run) -> list[str]:
    if not EXPLAIN_SUMMARY.exists(run):
        return []
    return sorted(k for k, v in EXPLAIN_SUMMARY.read(run).networks.items() if v.near_chance)


def _region_test(run: Run, networks: set[str]) -> dict[str, Any]:
    """explain/region_test.json for the networks whose maps inform the hint ({} when there is none)."""
    if not REGION_TEST.exists(run):
        return {}
    return {k: v.to_json() for k, v in REGION_TEST.read(run).networks.items() if k in networks}


def _drop_misleading_maps(sources: list[dict[str, Any]], trusted: list[dict[str, Any]],
                          region_test: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """Mark each map "agrees"/"disagrees" with the region test and leave the disagreeing ones out of the hint.

    A map disagrees when its top feature is not one its network needs and covering it changes the answer less
    than covering any needed feature does (so a top feature that only just misses the test's bar still agrees)."""
    for s in sources:
        test = region_test.get(s["network"]) if s["kind"] == "map" else None
        top = min(s["features"], key=lambda r: r["rank"])["feature"] if s["features"] else None
        s["top_feature"] = top
        if not test or not test["needed"] or top is None:
            s["region_test"] = "n/a"
            continue
        drops = {f: row["drop"] for f, row in test["features"].items()}
        weaker = drops.get(top, -np.inf) < min(drops[f] for f in test["needed"])
        s["region_test"] = "disagrees" if top not in test["needed"] and weaker else "agrees"
    wrong = [s for s in trusted if s["region_test"] == "disagrees"]
    if not wrong:
        return trusted, None
    note = None
    if not any(s["region_test"] == "agrees" for s in trusted):
        note = ("every trusted map's top feature is one the region test finds its network does not need: the "
                "maps mislead here, so the hint rests on the region test")
    for s in wrong:
        s["used_for_hint"] = False
        s["left_out_because"] = f"its top feature ({s['top_feature']}) is not needed by the network (region test)"
    return [s for s in trusted if s not in wrong], note


def run_regions(run: Run | str | Path, seed: int = 0) -> RegionsSummary:
    """Score every map source by region, rank, compare methods and write the hint."""
    from .figures import agreement_figure, hint_figure, ranking_figure, regions_figure

    run = run if isinstance(run, Run) else Run(run)
    t0 = time.perf_counter()
    has_maps = any((run.explain / "maps").glob("*.npz"))
    if not has_maps and not (run.fooling / "aggregate.npy").exists():
        raise StageMissing(f"nothing to analyse in {run.root}: run `lookalike explain {run.root}` "
                           f"(or `lookalike fool {run.root}`) first")
    run.regions.mkdir(parents=True, exist_ok=True)
    write_config(run.regions, {"seed": seed, "bootstrap": 1000, "look_min": hints.LOOK_MIN,
                               "look_fraction": hints.LOOK_FRACTION, "max_look": hints.MAX_LOOK})
    sources = collect_sources(run, seed)
    face = mean_face(run)
    tmpl = template_labels()
    regions_figure(face, tmpl, run.regions / "regions.png")

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

    trusted = [s for s in sources if s["used_for_hint"]]
    warning = None
    if not any(s["sanity"] == "pass" for s in sources):
        fallback = [s for s in sources if s["kind"] == "map"]
        if trusted:
            warning = "no attribution method passed the sanity check; the hint rests on the fooling aggregate alone"
        else:
            trusted = fallback
            warning = ("no attribution method passed the sanity check (or explain's sanity.json is missing); "
                       "the hint uses every map and should not be trusted")
    weak = _near_chance_networks(run)
    # A network near chance has learnt nothing about the faces: leave its maps out of the hint as
    # long as a better network (or the fooling aggregate) is there to speak instead.
    from_weak = [s for s in trusted if s["kind"] == "map" and s["network"] in weak]
    if from_weak and any(s["kind"] == "map" for s in trusted if s not in from_weak):
        trusted = [s for s in trusted if s not in from_weak]
        for s in from_weak:
            s["used_for_hint"] = False
            s["left_out_because"] = "network near chance"
    if weak and trusted and all(s["network"] in weak for s in trusted if s["kind"] == "map") \
            and any(s["kind"] == "map" for s in trusted):
        note = f"the {' and '.join(weak)} network(s) are near chance, so their maps say little about the faces"
        warning = f"{warning}; {note}" if warning else note
    region_test = _region_test(run, {s["network"] for s in trusted if s["kind"] == "map"})
    trusted, note = _drop_misleading_maps(sources, trusted, region_test)
    if note:
        warning = f"{warning}; {note}" if warning else note
    recovery = recovery_table(run, sorted((run.explain / "maps").glob("*.npz")), run.fooling / "aggregate.npy",
                              seed)
    if recovery is not None:
        PLANTED.write(run, recovery)
    feature_scores = {s["source"]: {r["feature"]: r["score"] for r in s["features"]} for s in trusted}
    needed = set().union(*(t["needed"] for t in region_test.values())) if region_test else None
    if needed and not any(s["kind"] == "map" for s in trusted):  # no map left to trust: the direct test speaks
        chosen = hints.from_region_test(region_test)
        trusted_names = ["region-test"] + [s["source"] for s in trusted]
    else:
        chosen = hints.choose(feature_scores, needed)
        trusted_names = [s["source"] for s in trusted]
    text = hints.sentence(chosen["look"], chosen["less"])
    HINT.write(run, text)
    hint_figure(face, tmpl, chosen["look"], text, run.regions / "hint.png")

    summary = {
        "stage": "regions", "seconds": round(time.perf_counter() - t0, 2),
        "hint": text, "look_at": chosen["look"], "less": chosen["less"], "trusted": warning is None,
        "warning": warning, "tentative": bool(chosen.get("tentative", False)),
        "not_confirmed": chosen["unconfirmed"],
        "region_test": ({k: {"needed": t["needed"], "n_units": t["n_units"]} for k, t in region_test.items()}
                        if region_test else None),
        "evidence": {
            "sources_used": trusted_names,
            "sources_left_out": {s["source"]: s.get("left_out_because", s["sanity"])
                                 for s in sources if s not in trusted},
            "consensus_feature_scores": chosen["consensus"], "feature_order": chosen["ranked"],
            "per_source_features": {s["source"]: s["features"] for s in trusted},
            "rule": (f"features with mean score >= max({hints.LOOK_MIN}, {hints.LOOK_FRACTION} x best) over the "
                     f"trusted sources, at most {hints.MAX_LOOK}; score = attribution share / area share"
                     + ("; named only when the region test shows a trusted network needs them" if region_test
                        else "")),
        },
        "top_regions": {s["source"]: [r["region"] for r in sorted(s["regions"], key=lambda r: r["rank"])[:3]]
                        for s in sources},
        "agreement": agree,
        "planted_recovery": recovery,
        "sources": [{k: s.get(k) for k in ("source", "kind", "network", "file", "sanity", "region_test",
                                           "used_for_hint", "n_images", "dropped_empty")} for s in sources],
        "files": ["regions.png", "ranking.csv", "features.csv", "ranking.png", "hint.txt", "hint.png"]
                 + (["agreement.png"] if len(sources) > 1 else []),
    }
    return REGIONS_SUMMARY.write(run, summary)
