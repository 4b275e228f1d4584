"""Time `study analyze` on a large simulated study and `report` on the result (or on a given run).

Usage: python benchmarks/study_analysis.py [--participants 200] [--run RUN]
Writes benchmarks/results/study_analysis.json with seconds and peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, write_result

from lookalike.study.analysis import COLUMNS, analyze


def simulate_trials(path: Path, per_group: int, seed: int = 0) -> int:
    """Participants answering at the paper's accuracies, 5% of sessions left unfinished."""
    rng = random.Random(seed)
    rows = []
    for group, p in (("pre", 0.5267), ("post", 0.6367), ("expert", 0.85)):
        for i in range(per_group):
            complete = rng.random() > 0.05
            for t in range(20 if complete else rng.randint(1, 19)):
                truth = rng.choice(["same", "different"])
                ok = rng.random() < p
                answer = truth if ok else ("different" if truth == "same" else "same")
                rows.append({"participant": f"{group}{i}", "group": group, "complete": int(complete), "trial": t,
                             "image_a": "a", "image_b": "b", "truth": truth, "answer": answer,
                             "correct": int(ok), "response_ms": rng.uniform(300, 2500), "shown_ms": 1200})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--participants", type=int, default=200, help="participants per group (default 200)")
    ap.add_argument("--run", default=None, help="also time `report` on this existing run folder")
    args = ap.parse_args()
    os.environ.setdefault("LOOKALIKE_QUIET", "1")
    from lookalike.report import build_report

    out: dict[str, object] = {"participants_per_group": args.participants}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        out["trials"] = simulate_trials(run / "study" / "trials.csv", args.participants)
        t0 = time.perf_counter()
        summary = analyze(run)
        out["analyze_seconds"] = round(time.perf_counter() - t0, 3)
        out["analysed"] = summary["participants_analysed"]
        t0 = time.perf_counter()
        build_report(run)
        out["report_seconds_study_only"] = round(time.perf_counter() - t0, 3)
    if args.run:
        t0 = time.perf_counter()
        res = build_report(args.run, out=Path(tempfile.gettempdir()) / "lookalike-bench-report.html")
        out["report_seconds_given_run"] = round(time.perf_counter() - t0, 3)
        out["report_bytes_given_run"] = res["bytes"]
    out["peak_rss_mib"] = peak_rss_mb()
    write_result("study_analysis.json", out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
