"""Is the planted difference learnable? A small CNN trained on `lookalike synth` faces, test accuracy.

The synthetic people must be hard for people at a glance but separable by a
network (target: >= 85% test accuracy for a quick classifier). Usage:
python benchmarks/synth_learnability.py [N_PER_IDENTITY] [EPOCHS] [STRENGTH]
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

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lookalike.contract import SYNTH_LANDMARKS  # noqa: E402
from lookalike.io import load_rgb  # noqa: E402
from lookalike.runtime import pick_device, set_seed  # noqa: E402
from lookalike.synth import generate  # noqa: E402


def small_cnn() -> nn.Module:
    layers: list[nn.Module] = []
    channels = [3, 16, 32, 64, 64]
    for a, b in zip(channels, channels[1:]):
        layers += [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(), nn.MaxPool2d(2)]
    # flatten, not global pooling: the planted cue is where the hairline sits relative to the brows
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 8 * 8, 2))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    strength = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    set_seed(0)
    device = pick_device("auto")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "synth"
        generate(out, n, seed=0, strength=strength)
        rows = SYNTH_LANDMARKS.read_at(out / "landmarks.csv")
        x = torch.from_numpy(np.stack([load_rgb(out / r.path) for r in rows])).permute(0, 3, 1, 2)
        y = torch.tensor([0 if "/person_a/" in r.path else 1 for r in rows])
    perm = torch.randperm(len(y))
    cut = int(0.8 * len(y))
    train, test = perm[:cut], perm[cut:]
    model = small_cnn().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * ((cut + 63) // 64))
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in train[torch.randperm(cut)].split(64):
            xb = x[idx].float().div(255).to(device)
            if torch.rand(1).item() < 0.5:
                xb = xb.flip(3)
            loss = nn.functional.cross_entropy(model(xb), y[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i].float().div(255).to(device)).argmax(1).cpu() for i in test.split(256)])
    acc = float((pred == y[test]).float().mean())
    result = {"benchmark": "synth_learnability", "images": len(y), "strength": strength, "epochs": epochs,
              "device": device, "test_accuracy": round(acc, 4), "test_images": len(test),
              "train_s": round(time.perf_counter() - start, 1),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "target": ">= 0.85 test accuracy"}
    path = Path(__file__).resolve().parent / "results" / f"synth_learnability_s{strength}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
