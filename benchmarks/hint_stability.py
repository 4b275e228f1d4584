"""Is the hint on real faces stable across training seeds? faces-dev, both networks, 3 seeds.

One prepared data set (faces-dev, one split), then per seed: train the classifier and the Siamese network
(`fast` recipe), explain, regions, each through the real CLI. Reported: every seed's hint and what it rests
on, the pairwise Jaccard agreement of the named features and of each network's region-test verdicts (the
features it needs), and how many seeds name the same first feature.

Goal (issue 14): the same first-named feature in at least 2 of 3 seeds.

    python benchmarks/hint_stability.py                    # fast recipe: ~10 min per network and seed, 2 CPU cores
    python benchmarks/hint_stability.py --epochs 2 --limit-train 300 --region-n 40   # a reduced smoke run

Results: benchmarks/results/hint_stability.json (hint_stability_reduced.json when --epochs or --limit-train
is given).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("LOOKALIKE_QUIET", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, write_result  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "faces-dev"
GOAL = "the same first-named feature in at least 2 of 3 seeds"


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b|; two empty sets agree (1.0)."""
    return len(a & b) / len(a | b) if a | b else 1.0


def pairwise(sets: dict[int, set[str]]) -> dict[str, Any]:
    pairs = {f"{a}-{b}": round(jaccard(sets[a], sets[b]), 3) for a, b in itertools.combinations(sorted(sets), 2)}
    return {"pairs": pairs, "mean": round(sum(pairs.values()) / len(pairs), 3) if pairs else None}


def cli(argv: list[str]) -> None:
    from lookalike.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code:
        raise SystemExit(f"`lookalike {' '.join(argv)}` exited {code}")


def run_seed(base: Path, root: Path, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    run = root / f"seed{seed}"
    if not (run / "data").exists():
        shutil.copytree(base / "data", run / "data")  # same faces, same split: only training varies
    sets = [f"epochs={args.epochs}"] if args.epochs else []
    sets += [f"limit_train={args.limit_train}"] if args.limit_train else []
    times = {}
    for model in ("classifier", "siamese"):
        if (run / "models" / model / "summary.json").exists():  # trained before (--keep): resume after it
            times[f"train-{model}"] = "reused"
            continue
        t = time.perf_counter()
        cli(["train", str(run), "--model", model, "--preset", args.preset, "--seed", str(seed), "--device", "cpu",
             *[tok for item in sets for tok in ("--set", item)]])
        times[f"train-{model}"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    cli(["explain", str(run), "--n", str(args.explain_n), "--region-n", str(args.region_n), "--sanity-n",
         str(args.sanity_n), "--cascade-steps", str(args.cascade_steps), "--seed", str(seed), "--device", "cpu"])
    times["explain"] = round(time.perf_counter() - t, 1)
    cli(["regions", str(run), "--seed", str(seed)])
    from lookalike import contract as c

    regions = c.REGIONS_SUMMARY.read(run).to_json()
    tests = c.REGION_TEST.read(run).to_json()["networks"]
    return {"seed": seed, "hint": regions["hint"], "look_at": regions["look_at"], "no_hint": regions["no_hint"],
            "tentative": regions["tentative"], "tentative_because": regions["tentative_because"],
            "networks": regions["networks"], "region_test_needed": {k: t["needed"] for k, t in tests.items()},
            "sanity_failed": c.SANITY.read(run).failed,
            "stage_seconds": times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA), help=f"aligned faces, one folder per person ({DEFAULT_DATA})")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--epochs", type=int, default=0, help="fewer epochs than the preset (0 = the preset's)")
    ap.add_argument("--limit-train", type=int, default=0, help="train on the first N training faces (0 = all)")
    ap.add_argument("--explain-n", type=int, default=16)
    ap.add_argument("--region-n", type=int, default=100)
    ap.add_argument("--sanity-n", type=int, default=4)
    ap.add_argument("--cascade-steps", type=int, default=4, help="0 = after every layer (slow on real faces)")
    ap.add_argument("--keep", default=None, metavar="DIR",
                    help="keep (and reuse) the run folders in DIR: a seed whose networks are trained there "
                         "(DIR/seedN/models/*/summary.json, e.g. from benchmarks/real_faces.py) is not trained again")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        raise SystemExit(f"{data} does not exist: point --data at an aligned two-person face folder")
    seeds = [int(s) for s in args.seeds.split(",")]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hint_stability_"))
    base = root / "base"
    t0 = time.perf_counter()
    if not (base / "data" / "split.csv").exists():
        cli(["prepare", str(data), "--out", str(base), "--aligned", "--seed", "0"])
    per_seed = []
    for seed in seeds:
        res = run_seed(base, root, seed, args)
        per_seed.append(res)
        print(f"seed {seed}: {res['hint']!r}; region test {res['region_test_needed']}; "
              f"{ {k: v.get('test_accuracy') for k, v in res['networks'].items()} }", flush=True)
    first = Counter(r["look_at"][0] for r in per_seed if r["look_at"])
    top, count = first.most_common(1)[0] if first else (None, 0)
    kinds = sorted({k for r in per_seed for k in r["region_test_needed"]})
    reduced = bool(args.epochs or args.limit_train)
    result = {
        "benchmark": "hint_stability", "data": str(data), "preset": args.preset, "seeds": seeds,
        "reduced": reduced, "epochs": args.epochs or "preset", "limit_train": args.limit_train or "all",
        "explain_n": args.explain_n, "region_n": args.region_n, "seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_mb": peak_rss_mb(), "goal": GOAL,
        "first_feature": {"counts": dict(first), "most_common": top, "seeds": count,
                          "goal_met": count >= 2 and len(seeds) >= 3},
        "named_features_jaccard": pairwise({r["seed"]: set(r["look_at"]) for r in per_seed}),
        "region_test_jaccard": {k: pairwise({r["seed"]: set(r["region_test_needed"].get(k, [])) for r in per_seed})
                                for k in kinds},
        "per_seed": per_seed,
    }
    path = write_result("hint_stability_reduced.json" if reduced else "hint_stability.json", result)
    print(json.dumps({k: result[k] for k in ("first_feature", "named_features_jaccard", "region_test_jaccard")},
                     indent=1))
    print(f"wrote {path} ({result['seconds'] / 60:.1f} min)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
