"""How fast `lookalike synth` renders: images/s, CPU seconds per image and peak memory for 2,000 images.

Target (issue 2): 2,000 images in under a minute on 2 CPU cores. On a shared
machine wall time depends on the load, so CPU time per image and the load
average are recorded beside it. Usage: python benchmarks/synth_speed.py [N_PER_IDENTITY] [WORKERS]
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LOOKALIKE_QUIET", "1")

from lookalike.runtime import cpu_count  # noqa: E402
from lookalike.synth import generate  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else cpu_count()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        cpu0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        summary = generate(Path(tmp) / "synth", n, seed=0, workers=workers)
        wall = time.perf_counter() - start
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(r.ru_utime + r.ru_stime for r in (me, kids)) - sum(r.ru_utime + r.ru_stime for r in cpu0)
    images = summary["images"]
    result = {
        "benchmark": "synth_speed", "images": images, "workers": workers, "cpu_cores": cpu_count(),
        "wall_s": round(wall, 2), "images_per_s": round(images / wall, 1),
        "cpu_s": round(cpu, 2), "cpu_ms_per_image": round(1000 * cpu / images, 1),
        "wall_s_on_2_free_cores_estimate": round(cpu / 2, 1),
        "peak_rss_mb_parent": round(me.ru_maxrss / 1024, 1),
        "peak_rss_mb_worker": round(kids.ru_maxrss / 1024, 1),
        "load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2),
        "target": "2000 images < 60 s on 2 cores",
    }
    out = Path(__file__).resolve().parent / "results" / "synth_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
