"""Load on the study server: N simulated participants at once against `lookalike study serve`.

Starts the real server as its own process on a free loopback port over a toy
run, plays N participants through the HTTP API (every answer, 20 % of them
sent twice), then checks that the database holds exactly one row per trial.
Reports answers/s, answer latency and peak memory of server and client;
writes benchmarks/results/study_load.json.

    .venv/bin/python benchmarks/study_load.py [--n 200] [--fetch-images]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import peak_rss_mb, write_result

from lookalike.fakerun import make_fake_run
from lookalike.study.server import free_socket
from lookalike.study.setup import open_study
from lookalike.study.simulate import simulate


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident memory of a live process (Linux), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="participants at once (default 200)")
    ap.add_argument("--fetch-images", action="store_true", help="also download all 80 photos per participant")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = make_fake_run(Path(tmp) / "run", 48, faces="plain")
        store = open_study(run)
        admin = store.admin_token()
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        proc = subprocess.Popen([sys.executable, "-m", "lookalike", "study", "serve", str(run.root), "--port",
                                 str(port), "--participants-per-group", "0"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            result = simulate(f"http://127.0.0.1:{port}", admin, "random", args.n, 0.7, seed=1,
                              fetch_images=args.fetch_images, duplicate_rate=0.2, timeout_s=1800)
            server_mb = vm_hwm_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        rows = store.trial_rows()
        store.close()
    sessions = result.pop("sessions")
    expected = sum(len(s["answers"]) for s in sessions)
    out = {
        "participants": args.n, "fetch_images": args.fetch_images, "errors": result["n_errors"],
        "answers_sent": result["answers_sent"], "duplicates_sent": result["duplicates_sent"],
        "rows_stored": len(rows), "rows_expected": expected, "lost_or_duplicated": len(rows) != expected,
        "seconds": result["seconds"], "answers_per_s": result["answers_per_s"],
        "answer_latency_ms": result["answer_latency_ms"],
        "peak_rss_mb": {"server": server_mb,
                        "client": peak_rss_mb()},
    }
    write_result("study_load.json", out)
    print(json.dumps(out, indent=2))
    return 1 if out["lost_or_duplicated"] or out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
