"""`lookalike explain`: activation maps per model and method, their sanity check and faithfulness.

Resumable: every map file and every check result is written on its own as
soon as it is done, together with the settings it was computed with; a rerun
with the same settings reuses it (`force=True` recomputes).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..contract import (
    EXPLAIN_SUMMARY,
    FAITHFULNESS,
    NETWORK_SUMMARY,
    REGION_TEST,
    SANITY,
    ExplainSummary,
    MapFile,
    load_maps,
    map_name,
    map_path,
    read_identities,
    save_maps,
    write_config,
)
from ..errors import SettingError, StageMissing
from ..io import atomic_write_json, read_json
from ..progress import progress
from ..runfolder import Run
from .methods import METHODS, get_method
from .sanity import RULE, SANITY_THRESHOLD, finding, sanity_check

NETWORKS = ("siamese", "classifier")
NEAR_CHANCE = 0.6  # test accuracy below which a network's maps explain little
MODEL_CHOICES = ("siamese", "classifier", "embedding", "all")
DEFAULTS: dict[str, Any] = {"n": 16, "sanity_n": 8, "cascade_steps": 0, "faithfulness_steps": 16,
                            "batch_size": 8, "region_n": 100}


def _load_cached(path: Path, key: dict[str, Any]) -> Any | None:
    if not path.exists():
        return None
    try:
        saved = read_json(path)
    except ValueError:
        return None
    return saved.get("result") if saved.get("key") == key else None


def _store(path: Path, key: dict[str, Any], result: Any) -> None:
    atomic_write_json(path, {"key": key, "result": result})


def _unit_rows(sel, maps: tuple[torch.Tensor, ...], probs: np.ndarray, kind: str, method: str) -> MapFile:
    n_in = len(sel.inputs)
    stacked = torch.stack(maps, 1).flatten(0, 1).numpy()  # unit-major: pair k → rows 2k, 2k+1
    units = np.repeat(np.arange(len(sel)), n_in)
    return MapFile(
        maps=stacked, paths=sel.flat_paths(), model=kind, method=method,
        target=np.repeat(sel.target.numpy(), n_in),
        pair=units if n_in == 2 else np.full(len(units), -1),
        side=np.tile(np.arange(n_in), len(sel)),
        label=np.array([lab for unit in sel.labels for lab in unit]),
        prob=np.repeat(probs, n_in).astype(np.float32),
    )


def explain_network(run: Run, kind: str, methods: list[str], opts: dict[str, Any], device: str,
                    force: bool, log: list[str]) -> dict[str, Any]:
    """Maps, sanity check and faithfulness of every method for one trained network."""
    from ..models import load_model
    from . import faithfulness
    from .figures import figure7
    from .selection import select
    from .wrap import explainable

    net = load_model(run.model(kind), device)
    sel = select(run, kind, opts["n"], opts["seed"])
    inputs = tuple(x.to(device) for x in sel.inputs)
    target = sel.target.to(device)
    model = explainable(net, kind)
    probs = model.probabilities(*inputs).gather(1, target[:, None])[:, 0].cpu().numpy()
    key_base = {"kind": kind, "paths": [list(p) for p in sel.paths], "seed": opts["seed"],
                "weights_mtime": (run.model(kind) / "model.safetensors").stat().st_mtime}
    checks = run.explain / "checks"
    k_sanity = min(opts["sanity_n"], len(sel))
    accuracy = _test_accuracy(run, kind)
    out: dict[str, Any] = {"n_units": len(sel), "mean_target_probability": float(probs.mean()),
                           "test_accuracy": accuracy,
                           "near_chance": accuracy is not None and accuracy < NEAR_CHANCE, "methods": {}}
    random_curves = None
    for name in progress(methods, desc=f"explain {kind}"):
        method = get_method(name)
        t0 = time.perf_counter()
        path = map_path(run.explain, kind, name)
        key = {**key_base, "method": name}
        cached = _load_cached(checks / f"{kind}-{name}.maps.json", key) if not force and path.exists() else None
        if cached is not None:
            mf = load_maps(path)
            maps = tuple(torch.from_numpy(mf.maps[i::len(inputs)]) for i in range(len(inputs)))
        else:
            maps = _compute(method, model, inputs, target, opts["batch_size"], kind)
            mf = _unit_rows(sel, maps, probs, kind, name)
            save_maps(path, mf)
            _store(checks / f"{kind}-{name}.maps.json", key, {"seconds": time.perf_counter() - t0})
        result: dict[str, Any] = {"maps": str(path.relative_to(run.root)), "seconds": time.perf_counter() - t0}

        s_key = {**key, "sanity_n": k_sanity, "steps": opts["cascade_steps"], "threshold": SANITY_THRESHOLD,
                 "rule": RULE}
        sanity = None if force else _load_cached(checks / f"{kind}-{name}.sanity.json", s_key)
        if sanity is None:
            sanity = sanity_check(net, method, tuple(x[:k_sanity] for x in inputs), target[:k_sanity],
                                  steps=opts["cascade_steps"], seed=opts["seed"], batch_size=opts["batch_size"])
            _store(checks / f"{kind}-{name}.sanity.json", s_key, sanity)
        result["sanity"] = sanity

        f_key = {**key, "steps": opts["faithfulness_steps"]}
        faith = None if force else _load_cached(checks / f"{kind}-{name}.faithfulness.json", f_key)
        if faith is None:
            with torch.no_grad():
                steps = opts["faithfulness_steps"]
                if random_curves is None:
                    random_curves = faithfulness.curves(model, inputs, target, None, steps, opts["seed"])
                mine = faithfulness.curves(model, inputs, target, tuple(m.to(device) for m in maps), steps)
            faith = faithfulness.summarise(mine, random_curves)
            _store(checks / f"{kind}-{name}.faithfulness.json", f_key, faith)
        result["faithfulness"] = faith
        figure7(mf, run.data, run.explain / f"figure7_{mf.name}.png", method.label, sanity["passed"],
                _identities(run))
        result["figure"] = f"explain/figure7_{mf.name}.png"
        log.append(f"{kind}/{finding(name, sanity)}; deletion AUC {faith['deletion_auc']:.3f} vs random "
                   f"{faith['random_deletion_auc']:.3f}")
        out["methods"][name] = result
    test = out["region_test"] = _region_test(run, kind, model, opts, device, force, key_base["weights_mtime"])
    log.append(f"{kind}: region test on {test['n_units']} test units: covering "
               + (f"{', '.join(test['needed'])} changes its answers" if test["needed"]
                  else "no single feature changes its answers clearly")
               + (f"; shown alone, {', '.join(test['sufficient'])} lifts them" if test.get("sufficient") else ""))
    return out


def _region_test(run: Run, kind: str, model, opts: dict[str, Any], device: str, force: bool,
                 weights_mtime: float) -> dict[str, Any]:
    """Cover each face feature with the mean face on `region_n` test units (see region_test.py); cached."""
    from ..data.dataset import load_split
    from . import region_test
    from .selection import region_tensors, select

    key = {"kind": kind, "seed": opts["seed"], "n": opts["region_n"], "weights_mtime": weights_mtime,
           "rule": region_test.RULE}
    path = run.explain / "checks" / f"{kind}-region_test.json"
    cached = None if force else _load_cached(path, key)
    if cached is not None:
        return cached
    sel = select(run, kind, opts["region_n"], opts["seed"] + 1)
    reference = load_split(run, "test").images.float().mean(0).div_(255.0)
    args = (model, tuple(x.to(device) for x in sel.inputs), sel.target.to(device), region_tensors(run, sel),
            reference)
    drops = region_test.region_drops(*args, batch_size=2 * opts["batch_size"])
    gains = region_test.region_gains(*args, batch_size=2 * opts["batch_size"])
    top = int(np.nanargmax(np.nanmean(drops, axis=0))) if len(drops) else 0
    given = region_test.drops_given(*args, given=top, batch_size=2 * opts["batch_size"])
    result = region_test.summarise(drops, gains, seed=opts["seed"], given=(top, given))
    _store(path, key, result)
    return result


def _compute(method, model, inputs, target, batch_size: int, kind: str) -> tuple[torch.Tensor, ...]:
    from .methods import attribute_maps

    parts: list[tuple[torch.Tensor, ...]] = []
    n = inputs[0].shape[0]
    for s in progress(range(0, n, batch_size), desc=f"{method.name} ({kind})", total=-(-n // batch_size)):
        parts.append(attribute_maps(method, model, tuple(x[s:s + batch_size] for x in inputs),
                                    target[s:s + batch_size], batch_size=batch_size))
    return tuple(torch.cat([p[i] for p in parts]) for i in range(len(inputs)))


def _test_accuracy(run: Run, kind: str) -> float | None:
    """The network's test accuracy from its training summary (None when unknown)."""
    summary = NETWORK_SUMMARY.load(run, kind=kind).value
    return summary.test_accuracy if summary is not None else None


def _identities(run: Run) -> list[str] | None:
    return read_identities(run) if run.identities_json.exists() else None


def explain_embedding_baseline(run: Run, opts: dict[str, Any], device: str) -> dict[str, Any]:
    """Black-box maps of the face-embedding baseline, written by `lookalike.baseline`."""
    from ..baseline import explain_embedding

    if not (run.model("embedding")).exists():
        return {"skipped": f"no embedding baseline in {run.model('embedding')}: run `lookalike train --model "
                           f"embedding {run.root}` first"}
    result = explain_embedding(run, opts["n"], opts["seed"], device)
    result = result if isinstance(result, dict) else {"result": result}
    from .figures import figure7

    for path in sorted((run.explain / "maps").glob("embedding-*.npz")):
        mf = load_maps(path)
        figure7(mf, run.data, run.explain / f"figure7_{mf.name}.png", f"{mf.method} (black box)", None,
                _identities(run))
    return result


def run_explain(run: Run | str | Path, model: str = "all", methods: list[str] | None = None,
                n: int = DEFAULTS["n"], seed: int = 0, device: str = "cpu", force: bool = False,
                **options: Any) -> ExplainSummary:
    """Explain the trained networks of `run`; returns (and writes) the stage summary."""
    run = run if isinstance(run, Run) else Run(run)
    if model not in MODEL_CHOICES:
        raise SettingError(f"--model must be one of {', '.join(MODEL_CHOICES)}, not {model!r}")
    methods = list(methods or METHODS)
    for name in methods:
        get_method(name)
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown options {sorted(unknown)}")
    opts = {**DEFAULTS, **options, "n": int(n), "seed": int(seed)}
    run.require(run.split_csv, "prepare")
    kinds = NETWORKS if model == "all" else (model,) if model != "embedding" else ()
    missing = [k for k in kinds if not (run.model(k) / "model.safetensors").exists()]
    if model in NETWORKS and missing:
        raise StageMissing(f"no trained {model} network in {run.model(model)}: run "
                           f"`lookalike train {run.root} --model {model}` first")
    kinds = tuple(k for k in kinds if k not in missing)
    if not kinds and model == "all" and not (run.model("embedding")).exists():
        raise StageMissing(f"no trained network in {run.models}: run `lookalike train {run.root}` first")
    run.explain.mkdir(parents=True, exist_ok=True)
    write_config(run.explain, {"model": model, "methods": methods, **opts, "device": device})
    t0 = time.perf_counter()
    log: list[str] = []
    networks: dict[str, Any] = {}
    for kind in kinds:
        networks[kind] = explain_network(run, kind, methods, opts, device, force, log)
    for kind in missing:
        networks[kind] = {"skipped": f"no trained network in {run.model(kind)}"}
    if model in ("embedding", "all"):
        networks["embedding"] = explain_embedding_baseline(run, opts, device)
    return finish(run, networks, log, time.perf_counter() - t0)


def finish(run: Run, networks: dict[str, Any], log: list[str], seconds: float) -> ExplainSummary:
    """Merge every check on disk into sanity.json and faithfulness.json, draw the tables, write the summary."""
    from .figures import faithfulness_figure, sanity_figure

    sanity: dict[str, Any] = {}
    faith: dict[str, Any] = {}
    for kind, res in networks.items():
        if kind not in NETWORKS:  # the embedding baseline's black-box maps have no sanity or faithfulness checks
            continue
        for name, r in res.get("methods", {}).items():
            sanity[map_name(kind, name)] = r["sanity"]
            faith[map_name(kind, name)] = r["faithfulness"]
    # keep what an earlier call wrote for maps not redone now (e.g. `--model siamese`, then `--model classifier`)
    earlier_sanity, earlier_faith = SANITY.load(run).value, FAITHFULNESS.load(run).value
    for earlier, merged in ((earlier_sanity, sanity), (earlier_faith, faith)):
        for name, r in (earlier.methods if earlier is not None else {}).items():
            if name not in merged and (run.explain / "maps" / f"{name}.npz").exists():
                merged[name] = r.to_json()
    not_checked = sorted(p.stem for p in (run.explain / "maps").glob("*.npz") if p.stem not in sanity)
    SANITY.write(run, {"threshold": SANITY_THRESHOLD, "rule": RULE, "methods": sanity,
                       "passed": sorted(k for k, v in sanity.items() if v["passed"]),
                       "failed": sorted(k for k, v in sanity.items() if not v["passed"]),
                       "not_checked": not_checked})
    FAITHFULNESS.write(run, {"methods": faith})
    tests = {kind: res["region_test"] for kind, res in networks.items() if "region_test" in res}
    earlier_tests = REGION_TEST.load(run).value
    for kind, r in (earlier_tests.networks if earlier_tests is not None else {}).items():
        if kind not in tests and kind not in networks and (run.model(kind) / "model.safetensors").exists():
            tests[kind] = r.to_json()
    if tests:
        from .figures import region_test_figure
        from .region_test import RULE as REGION_RULE

        REGION_TEST.write(run, {"rule": REGION_RULE, "networks": tests})
        region_test_figure(tests, run.explain / "region_test.png")
    if sanity:
        sanity_figure(sanity, SANITY_THRESHOLD, run.explain / "sanity.png")
        faithfulness_figure(faith, run.explain / "faithfulness.png", sanity)
    trusted = sorted(k for k, v in sanity.items() if v["passed"])
    summary = {
        "stage": "explain", "seconds": round(seconds, 2), "networks": networks,
        "maps": sorted(str(p.relative_to(run.root)) for p in (run.explain / "maps").glob("*.npz")),
        "trusted_methods": trusted,
        "failed_methods": sorted(k for k, v in sanity.items() if not v["passed"]),
        "statement": _statement(sanity, networks),
        "method_info": {m.name: {"label": m.label, "about": m.about} for m in METHODS.values()},
        "sanity_rule": RULE,
        "log": log,
    }
    return EXPLAIN_SUMMARY.write(run, summary)


def _statement(sanity: dict[str, Any], networks: dict[str, Any] | None = None) -> str:
    """One honest sentence about which maps can be trusted."""
    weak = [f"the {k} network is near chance (test accuracy {v['test_accuracy']:.0%}), so its maps explain little"
            for k, v in (networks or {}).items() if v.get("near_chance")]
    if not sanity:
        return "No attribution method was checked." + "".join(f" Note: {w}." for w in weak)
    good = [k for k, v in sanity.items() if v["passed"]]
    bad = [k for k, v in sanity.items() if not v["passed"]]
    parts = []
    if good:
        parts.append(f"{', '.join(good)} changed when the network's weights were randomised, so they reflect "
                     f"what it learned")
    if bad:
        parts.append(f"{', '.join(bad)} barely changed (rank correlation ≥ {SANITY_THRESHOLD}), so they show the "
                     f"image more than the network and are not used for the hint")
    return "; ".join(parts) + "." + "".join(f" Note: {w}." for w in weak)
