"""How fast `lookalike prepare` turns web photos into faces, and how many faces it yields.

Runs the full stage (detect, align, embed, filter, dedup, split) on two people
of ../shared/data/raw-photos (plus a third as other/), cold (empty cache) and
warm (rerun: everything cached), and reports photos/s, faces per photo, kept
faces and peak memory. Writes benchmarks/results/prepare_speed.json.

    .venv/bin/python benchmarks/prepare_speed.py [--people a,b] [--other c] [--limit N] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW = Path(os.environ.get("LOOKALIKE_SHARED_DATA", REPO.parent / "shared" / "data")) / "raw-photos"


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished children (the worker pool), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", default="aamir_khan,anushka_shetty")
    ap.add_argument("--other", default="dulquer_salmaan")
    ap.add_argument("--limit", type=int, default=0, help="photos per folder (0 = all)")
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    if not RAW.exists():
        print(f"{RAW} is absent: nothing to benchmark", file=sys.stderr)
        return 0
    os.environ.setdefault("LOOKALIKE_QUIET", "1")
    from lookalike.data.prepare import PrepareOptions, prepare
    from lookalike.runtime import cpu_count

    work = Path(tempfile.mkdtemp(prefix="prepare-bench-"))
    try:
        photos = work / "photos"
        n_photos = 0
        for name, target in [*((p, p) for p in args.people.split(",")), (args.other, "other")]:
            files = sorted((RAW / name).iterdir())
            files = files[: args.limit] if args.limit else files
            (photos / target).mkdir(parents=True)
            for f in files:
                os.symlink(f, photos / target / f.name)
            n_photos += len(files)
        opts = PrepareOptions(str(photos), str(work / "run"), workers=args.workers)
        t0 = time.perf_counter()
        cold = prepare(opts)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        prepare(opts)
        t_warm = time.perf_counter() - t0
        person_files = sum(cold["file_outcomes"].values())
        result = {
            "benchmark": "prepare_speed",
            "people": args.people.split(","), "other": args.other,
            "photos": n_photos, "workers": cold["workers"], "cpu_count": cpu_count(),
            "cold_seconds": round(t_cold, 2), "photos_per_second": round(n_photos / t_cold, 2),
            "warm_rerun_seconds": round(t_warm, 2),
            "faces_found": cold["faces_found"], "faces_per_photo": round(cold["faces_found"] / n_photos, 3),
            "file_outcomes": cold["file_outcomes"], "face_outcomes": cold["face_outcomes"],
            "kept": cold["kept"], "kept_per_person": cold["kept_per_person"],
            "yield_kept_per_person_photo": round(cold["kept"] / max(1, person_files), 3),
            "pending_review": cold["pending_review"],
            "filter_out_of_fold_accuracy": cold["filter"].get("out_of_fold_accuracy"),
            "peak_rss_mb": peak_rss_mb(),
            "load_average": os.getloadavg()[0],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = REPO / "benchmarks" / "results" / "prepare_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for k, v in result.items():
        print(f"{k:32s} {v}")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
