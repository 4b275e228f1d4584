"""The paper's recipe (`--preset paper`: full VGG widths, batch 30, Adam, lr 1e-7) end to end on a CUDA GPU.

Builds a synthetic run (planted-region cartoon faces, no dlib needed), trains the classifier and the
Siamese network with the `paper` preset for a few epochs through the real training stage (data on the
host, augmentation, evaluation, checkpoints, curves), then reports images/s and the share of the GPU's
bf16 matmul peak the training reaches. The peak is measured in the same process with a large bf16
matmul; model FLOPs (forward + backward per training image) come from torch.utils.flop_counter.

On a machine without CUDA it says so and exits 0. Writes benchmarks/results/gpu_paper.json.

    python benchmarks/gpu_paper.py [--epochs 3] [--per-person 600] [--run /tmp/gpu-paper]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, write_result

PAPER = {"classifier": 0.873, "siamese": 0.8504}


def bf16_peak(seconds: float = 2.0, n: int = 8192) -> float:
    """FLOP/s of a large bf16 matmul on this GPU: the practical ceiling for the tensor cores."""
    import torch

    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    reps, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds or reps < 5:
        a @ b
        reps += 1
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t)


def flops_per_image(kind: str, batch: int) -> float:
    """Forward + backward FLOPs of one training step of the paper's network, per input image."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from lookalike.models import build_model, siamese_loss
    from lookalike.training.presets import make_config

    net = build_model(kind, **make_config("paper").arch(kind)).cuda().train()
    x = torch.rand(batch, 3, 128, 128, device="cuda")
    y = torch.randint(0, 2, (batch,), device="cuda")
    with FlopCounterMode(display=False) as counter, torch.autocast("cuda", dtype=torch.bfloat16):
        logits = net(x) if kind == "classifier" else net(x, x.flip(0))
        loss = F.cross_entropy(logits.float(), y) if kind == "classifier" else siamese_loss(logits, y)
        loss.backward()
    images = batch * (1 if kind == "classifier" else 2)
    return counter.get_total_flops() / images


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="epochs per network (the paper trains 200)")
    ap.add_argument("--per-person", type=int, default=600, help="synthetic faces per person (default 600)")
    ap.add_argument("--run", default=None, help="run folder (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("gpu_paper: needs a CUDA GPU (PyTorch sees none); nothing measured.")
        return 0

    from lookalike.contract import METRICS
    from lookalike.fakerun import make_fake_run
    from lookalike.training.loop import train
    from lookalike.training.presets import make_config

    t_all = time.perf_counter()
    root = Path(args.run or tempfile.mkdtemp(prefix="gpu-paper-"))
    t = time.perf_counter()
    run = make_fake_run(root, args.per_person, seed=args.seed)
    data_seconds = time.perf_counter() - t
    peak = bf16_peak()
    rows = []
    for kind in ("classifier", "siamese"):
        torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        summary = train(run, model=kind, preset="paper", overrides={"epochs": args.epochs}, seed=args.seed,
                        device="cuda")
        seconds = time.perf_counter() - t
        records = METRICS.read(run, kind=kind)
        steady = records[1:] or records  # the first epoch pays for cuDNN autotuning and warm-up
        ips = sum(r["images_per_s"] for r in steady) / len(steady)
        fpi = flops_per_image(kind, int(summary.get("batch_size") or make_config("paper").batch_size))
        row = {"model": kind, "preset": "paper", "epochs": args.epochs, "seconds": round(seconds, 2),
               "images_per_s": round(ips, 1), "images_per_s_first_epoch": round(records[0]["images_per_s"], 1),
               "flop_per_image": fpi, "achieved_tflop_per_s": round(fpi * ips / 1e12, 3),
               "share_of_bf16_peak": fpi * ips / peak,
               "test_accuracy": summary.get("test_accuracy"), "paper_test_accuracy": PAPER[kind],
               "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}
        rows.append(row)
        print(f"{kind:10s} paper preset, {args.epochs} epochs in {seconds:6.1f} s: {ips:8.1f} images/s "
              f"(first epoch {row['images_per_s_first_epoch']:.1f}), {row['achieved_tflop_per_s']:.2f} TFLOP/s = "
              f"{row['share_of_bf16_peak']:.2%} of the bf16 peak; test accuracy {row['test_accuracy']:.3f} "
              f"(synthetic data; the paper's {PAPER[kind]:.2%} is on real faces after 200 epochs)")
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "run": str(root),
           "images": 2 * args.per_person, "data_seconds": round(data_seconds, 2),
           "bf16_matmul_peak_tflop_per_s": round(peak / 1e12, 1), "results": rows,
           "seconds": round(time.perf_counter() - t_all, 2),
           "peak_rss_mb": peak_rss_mb()}
    print(f"bf16 matmul peak {out['bf16_matmul_peak_tflop_per_s']} TFLOP/s on {out['device']}; "
          f"peak RSS {out['peak_rss_mb']} MB")
    path = write_result("gpu_paper.json", out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
