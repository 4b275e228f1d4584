"""How fast the fooling attack runs: images fooled per second (and network steps per second) on this machine.

With `--run RUN` it attacks RUN's test images with RUN's trained classifier: the number users get.
Without, it measures the raw step rate of untrained `tiny` (width 4) and `fast` (width 16) classifiers on
random faces for a fixed number of steps (confidence 0.9999 so nobody stops early), which is what the
fooling rate scales with: images/s ≈ steps/s ÷ median steps. Writes benchmarks/results/fool_speed.json
(fool_speed_run.json with --run) with peak memory (ru_maxrss) and the load average beside the times.

    python benchmarks/fool_speed.py [--run runs/demo] [--n 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import torch

from lookalike.fooling.attack import AttackSettings, attack, classifier_forward
from lookalike.io import atomic_write_json

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def trained(run: str, n: int, batch: int, device: str) -> dict:
    from lookalike.data.dataset import load_split
    from lookalike.models import load_model

    model = load_model(Path(run) / "models" / "classifier", device)
    test = load_split(run, "test", limit=n)
    settings = AttackSettings()
    steps, fooled, t0 = [], 0, time.perf_counter()
    for s in range(0, len(test), batch):
        res = attack(classifier_forward(model), test.images[s:s + batch], 1 - test.labels[s:s + batch],
                     settings, device)
        steps += res.steps.tolist()
        fooled += int(res.success.sum())
    sec = time.perf_counter() - t0
    steps_t = torch.tensor(steps, dtype=torch.float)
    return {"mode": "trained", "run": run, "n": len(test), "fooled": fooled, "seconds": round(sec, 3),
            "images_per_second": round(len(test) / sec, 3), "median_steps": float(steps_t.median()),
            "max_steps_taken": int(steps_t.max()), "peak_rss_mb": round(peak_mb(), 1), "settings": vars(settings)}


def synthetic(width: int, dense: int, n: int, steps: int, device: str) -> dict:
    from lookalike.models import VGGClassifier

    torch.manual_seed(0)
    model = VGGClassifier(width=width, dense=dense).to(device).eval()
    images = torch.randint(0, 256, (n, 3, 128, 128), dtype=torch.uint8)
    targets = torch.randint(0, 2, (n,))
    settings = AttackSettings(confidence=0.9999, max_steps=steps)
    attack(classifier_forward(model), images[:2], targets[:2], AttackSettings(max_steps=1), device)  # warm-up
    t0 = time.perf_counter()
    res = attack(classifier_forward(model), images, targets, settings, device)
    sec = time.perf_counter() - t0
    image_steps = int((res.steps + 1).sum())  # each step scores (forward + backward) every active image
    return {"mode": "untrained", "width": width, "dense": dense, "n": n, "steps": steps,
            "seconds": round(sec, 3), "image_steps_per_second": round(image_steps / sec, 2),
            "images_per_second_at_10_steps": round(image_steps / sec / 11, 3),
            "peak_rss_mb": round(peak_mb(), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", help="a run folder with a trained classifier (else untrained networks)")
    ap.add_argument("--n", type=int, default=32, help="images to attack")
    ap.add_argument("--steps", type=int, default=5, help="steps per image in the untrained mode")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target machine has 2)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # the load average says whether other work shared the cores while we measured
    out = {"threads": args.threads, "device": args.device, "torch": torch.__version__,
           "load_average_before": os.getloadavg(), "results": []}
    if args.run:
        out["results"].append(trained(args.run, args.n, args.batch, args.device))
    else:
        for width, dense in ((4, 32), (16, 128)):
            out["results"].append(synthetic(width, dense, args.n, args.steps, args.device))
    out["load_average_after"] = os.getloadavg()
    for r in out["results"]:
        print(json.dumps(r))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "fool_speed_run.json" if args.run else "fool_speed.json"
    atomic_write_json(RESULTS / name, out)
    print(f"wrote {RESULTS / name}")


if __name__ == "__main__":
    main()
