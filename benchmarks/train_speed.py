"""Training throughput of both networks: images/s and achieved FLOP/s as a share of the matmul peak.

The peak is measured in the same process (a large torch.matmul: fp32 on CPU, bf16 on CUDA) so the
ratio says how well the training step uses this machine. Model FLOPs (forward + backward) are counted
with torch.utils.flop_counter.FlopCounterMode. Writes benchmarks/results/train_speed.json.

    python benchmarks/train_speed.py [--device auto|cpu|cuda] [--steps 5] [--presets tiny fast paper]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from lookalike.models import build_model, siamese_loss
from lookalike.training.presets import make_config

RESULTS = Path(__file__).resolve().parent / "results"


def matmul_peak(device: str) -> float:
    """FLOP/s of a large square matmul: the practical ceiling for conv-heavy training."""
    n, dtype = (8192, torch.bfloat16) if device.startswith("cuda") else (2048, torch.float32)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    sync(device)
    reps, t = 0, time.perf_counter()
    while time.perf_counter() - t < 2.0 or reps < 3:
        a @ b
        reps += 1
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def step_fn(kind: str, net: torch.nn.Module, opt: torch.optim.Optimizer, batch: int, device: str):
    x = torch.rand(batch, 3, 128, 128, device=device)
    x2 = torch.rand(batch, 3, 128, 128, device=device)
    y = torch.randint(0, 2, (batch,), device=device)
    if device.startswith("cuda"):
        x, x2 = x.contiguous(memory_format=torch.channels_last), x2.contiguous(memory_format=torch.channels_last)
    cast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else torch.autocast(
        "cpu", enabled=False)

    def step() -> None:
        with cast:
            logits = net(x) if kind == "classifier" else net(x, x2)
        loss = F.cross_entropy(logits.float(), y) if kind == "classifier" else siamese_loss(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def measure(kind: str, preset: str, device: str, steps: int, batch: int | None) -> dict:
    cfg = make_config(preset, model=kind)
    batch = batch or cfg.batch_size
    net = build_model(kind, **cfg.arch(kind)).to(device).train()
    if device.startswith("cuda"):
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    step = step_fn(kind, net, opt, batch, device)
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    step()
    sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = (time.perf_counter() - t) / steps
    images = batch * (1 if kind == "classifier" else 2)
    return {"model": kind, "preset": preset, "width": cfg.width, "batch": batch, "steps": steps,
            "seconds_per_step": seconds, "images_per_s": images / seconds,
            "flop_per_step": flops, "achieved_flop_per_s": flops / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=None, help="default: the preset's batch size")
    ap.add_argument("--presets", nargs="+", default=None, help="default: tiny fast (CPU), fast paper (CUDA)")
    args = ap.parse_args()
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    presets = args.presets or (["fast", "paper"] if device.startswith("cuda") else ["tiny", "fast"])
    t0 = time.perf_counter()
    peak = matmul_peak(device)
    rows = []
    for preset in presets:
        for kind in ("classifier", "siamese"):
            row = measure(kind, preset, device, args.steps, args.batch)
            row["share_of_matmul_peak"] = row["achieved_flop_per_s"] / peak
            rows.append(row)
            print(f"{kind:10s} {preset:5s} w={row['width']:3d} batch {row['batch']:3d}: "
                  f"{row['images_per_s']:8.1f} images/s, {row['achieved_flop_per_s'] / 1e9:8.1f} GFLOP/s "
                  f"= {row['share_of_matmul_peak']:.1%} of the matmul peak ({peak / 1e9:.1f} GFLOP/s)")
    out = {"device": device, "device_name": torch.cuda.get_device_name() if device.startswith("cuda")
           else platform.processor() or platform.machine(), "torch": torch.__version__,
           "threads": torch.get_num_threads(), "matmul_peak_flop_per_s": peak, "results": rows,
           "seconds": time.perf_counter() - t0,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.startswith("cuda"):
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"train_speed_{device.split(':')[0]}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB; wrote {path}")


if __name__ == "__main__":
    main()
