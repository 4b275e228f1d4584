"""How long each attribution method, the sanity check, the faithfulness curves and the region test take, per model size.

Networks are untrained (speed does not depend on the weights). Prints a table and writes
benchmarks/results/explain_speed.json with seconds per explained unit and peak memory (ru_maxrss).
Usage: python benchmarks/explain_speed.py [--width 4 64] [--n 4] [--device cpu|cuda] [--methods ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import torch

from lookalike.explain import faithfulness
from lookalike.explain.methods import METHODS, attribute_maps
from lookalike.explain.region_test import region_drops
from lookalike.explain.sanity import sanity_check
from lookalike.explain.wrap import explainable
from lookalike.face.regions import template_labels
from lookalike.models import SiameseNet, VGGClassifier

OUT = Path(__file__).resolve().parent / "results" / "explain_speed.json"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(kind: str, width: int, n: int, methods: list[str], device: str) -> list[dict]:
    torch.manual_seed(0)
    net = (VGGClassifier(width=width, dense=max(32, width * 8)) if kind == "classifier"
           else SiameseNet(width=width, hidden=max(32, width * 4))).to(device).eval()
    model = explainable(net)
    inputs = tuple(torch.rand(n, 3, 128, 128, device=device) for _ in range(model.n_inputs))
    target = torch.arange(n, device=device) % 2
    rows = []
    for name in methods:
        attribute_maps(name, model, tuple(x[:1] for x in inputs), target[:1])  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        maps = attribute_maps(name, model, inputs, target, batch_size=n)
        if device == "cuda":
            torch.cuda.synchronize()
        t_maps = time.perf_counter() - t0
        t0 = time.perf_counter()
        sanity_check(net, METHODS[name], tuple(x[:2] for x in inputs), target[:2], steps=2, batch_size=2)
        t_sanity = time.perf_counter() - t0
        t0 = time.perf_counter()
        with torch.no_grad():
            faithfulness.curves(model, inputs, target, tuple(m.to(device) for m in maps), steps=8)
        t_faith = time.perf_counter() - t0
        row = {"model": kind, "width": width, "method": name, "n": n, "device": device,
               "maps_s_per_unit": t_maps / n, "sanity_s_2units_2steps": t_sanity,
               "faithfulness_s_per_unit_8steps": t_faith / n, "peak_rss_mb": peak_mb()}
        rows.append(row)
        print(f"{kind:10s} w={width:<3d} {name:22s} maps {row['maps_s_per_unit']:.3f} s/unit  "
              f"sanity {t_sanity:.2f} s  faithfulness {row['faithfulness_s_per_unit_8steps']:.3f} s/unit  "
              f"peak {row['peak_rss_mb']:.0f} MB", flush=True)
    rows.append(region_test_row(kind, width, n, model, inputs, target, device))
    return rows


def region_test_row(kind: str, width: int, n: int, model, inputs, target, device: str) -> dict:
    """The region test: every face feature of each unit covered with the mean face (one forward per feature)."""
    labels = torch.from_numpy(template_labels().astype("int64")).expand(n, -1, -1)
    regions = tuple(labels for _ in inputs)
    reference = torch.full((3, 128, 128), 0.5)
    t0 = time.perf_counter()
    region_drops(model, inputs, target, regions, reference, batch_size=n)
    if device == "cuda":
        torch.cuda.synchronize()
    row = {"model": kind, "width": width, "method": "region_test", "n": n, "device": device,
           "maps_s_per_unit": (time.perf_counter() - t0) / n, "peak_rss_mb": peak_mb()}
    print(f"{kind:10s} w={width:<3d} {'region_test':22s} {row['maps_s_per_unit']:.3f} s/unit  "
          f"peak {row['peak_rss_mb']:.0f} MB", flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--width", type=int, nargs="+", default=[4, 16])
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--models", nargs="+", default=["siamese", "classifier"])
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = PyTorch default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [r for kind in args.models for w in args.width for r in bench(kind, w, args.n, args.methods, args.device)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    info = {"platform": platform.platform(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None}
    OUT.write_text(json.dumps({"info": info, "rows": rows, "peak_rss_mb": peak_mb()}, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
