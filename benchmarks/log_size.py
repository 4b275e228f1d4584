"""How large the logs of long stages are when their output is redirected to a file (issue 17).

Runs, as a user would with `2> log`, a 40-epoch `lookalike train` (tiny preset, on a small
cartoon data set, so it takes minutes, not hours: the log has one line per epoch whatever the
data) and `lookalike prepare --aligned` on ../shared/data/faces-dev (1,687 files), each in a
subprocess with stdout and stderr redirected to files, and reports the bytes, lines and any
carriage return (a progress bar's redraw) in each log. Writes benchmarks/results/log_size.json.

    .venv/bin/python benchmarks/log_size.py [--epochs 40] [--skip-prepare]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_result

REPO = Path(__file__).resolve().parents[1]
FACES_DEV = Path(os.environ.get("LOOKALIKE_SHARED_DATA", REPO.parent / "shared" / "data")) / "faces-dev"


def logged(argv: list[str], log: Path) -> dict[str, object]:
    """Run `lookalike ARGV` with stdout and stderr redirected into `log`; its size and shape."""
    env = {k: v for k, v in os.environ.items() if k not in ("LOOKALIKE_QUIET", "LOOKALIKE_PROGRESS")}
    env.setdefault("OMP_NUM_THREADS", "2")
    t0 = time.perf_counter()
    with open(log, "wb") as fh:
        code = subprocess.call([sys.executable, "-m", "lookalike", *argv], stdout=fh, stderr=subprocess.STDOUT,
                               env=env)
    raw = log.read_bytes()
    return {"command": "lookalike " + " ".join(argv), "exit": code, "seconds": round(time.perf_counter() - t0, 1),
            "bytes": len(raw), "lines": raw.count(b"\n"), "carriage_returns": raw.count(b"\r"),
            "last_lines": raw.decode(errors="replace").splitlines()[-3:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--skip-prepare", action="store_true")
    args = ap.parse_args()
    from lookalike.fakerun import make_fake_run

    work = Path(tempfile.mkdtemp(prefix="log-size-"))
    try:
        run = make_fake_run(work / "toy", 60, faces="cheeks", seed=0)
        result: dict[str, object] = {"train": logged(
            ["train", str(run.root), "--model", "classifier", "--preset", "tiny", "--epochs", str(args.epochs),
             "--device", "cpu"], work / "train.log")}
        if not args.skip_prepare and FACES_DEV.is_dir():
            files = sum(1 for p in FACES_DEV.rglob("*") if p.is_file())
            result["prepare"] = {**logged(["prepare", str(FACES_DEV), "--out", str(work / "dev"), "--aligned"],
                                          work / "prepare.log"), "files": files}
        for name, r in result.items():
            print(f"{name}: {r['bytes']} bytes, {r['lines']} lines, {r['carriage_returns']} carriage returns, "
                  f"exit {r['exit']}, {r['seconds']} s  ({r['command']})")
        print(f"wrote {write_result('log_size.json', result)}")
        return 0 if all(r["exit"] == 0 for r in result.values()) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
