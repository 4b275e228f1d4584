"""`lookalike explain RUN --model embedding`: where the baseline looks, without gradients.

dlib's network is a black box to PyTorch, so we perturb the aligned face and watch the baseline's
probability for the person in the picture: occlusion (a sliding gray square) and RISE (random smooth
masks). Maps go to `explain/maps/embedding-<method>.npz` in the format of the white-box maps, so the
region stage scores the modern model and the paper's CNN with the same ruler.

Pixels outside the 150×150 chip dlib cuts (above the eyebrows, the corners) cannot change the
output; their attribution is set to exactly 0 rather than left as sampling noise.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.dataset import identities, load_landmarks, split_rows
from ..io import atomic_write_bytes, load_rgb
from ..progress import progress
from ..runfolder import IMAGE_SIZE, Run
from . import saliency
from .embedder import CHIP_PADDING, CHIP_SIZE, FaceEmbedder, _detection
from .train import KIND, load_head

METHODS = ("occlusion", "rise")
DEFAULTS: dict[str, Any] = {"patch": 32, "stride": 16, "rise_masks": 300, "rise_grid": 8, "rise_keep": 0.5,
                            "score": "logit"}
SCORES = ("logit", "probability")


def chip_footprint(landmarks: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """size×size bool: the pixels dlib's chip samples from (a 1-pixel margin for bilinear reads)."""
    import dlib

    det = _detection(landmarks, size)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    # sample the coordinate images through the same chip; out-of-picture samples come back as 0
    cx = dlib.get_face_chip(np.ascontiguousarray(xs + 1.0), det, CHIP_SIZE, CHIP_PADDING)
    cy = dlib.get_face_chip(np.ascontiguousarray(ys + 1.0), det, CHIP_SIZE, CHIP_PADDING)
    inside = (cx > 0) & (cy > 0)
    foot = np.zeros((size, size), bool)
    for fx in (np.floor, np.ceil):
        for fy in (np.floor, np.ceil):
            x = np.clip(fx(cx[inside] - 1.0).astype(int), 0, size - 1)
            y = np.clip(fy(cy[inside] - 1.0).astype(int), 0, size - 1)
            foot[y, x] = True
    return foot


def pick_images(rows: list[dict[str, str]], n: int, seed: int) -> list[dict[str, str]]:
    """`n` test faces, as balanced between the two people as the split allows, in a seeded order."""
    rng = np.random.default_rng(seed)
    pools = [[r for r in rows if int(r["label"]) == c] for c in (0, 1)]
    for pool in pools:
        rng.shuffle(pool)
    out: list[dict[str, str]] = []
    while len(out) < n and any(pools):
        for pool in pools:
            if pool and len(out) < n:
                out.append(pool.pop(0))
    return out


def explain_embedding(run: Run | str | Path, n: int = 16, seed: int = 0, device: str = "cpu",
                      options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Occlusion and RISE maps for `n` test faces; returns a summary (the explain stage writes its own)."""
    run = run if isinstance(run, Run) else Run(run)
    t0 = time.perf_counter()
    opt = {**DEFAULTS, **(options or {})}
    if n < 1:
        raise SystemExit("--n must be at least 1")
    if opt["score"] not in SCORES:
        raise SystemExit(f"score must be one of {SCORES}, not {opt['score']!r}")
    head, _ = load_head(run.model(KIND))
    rows = pick_images(split_rows(run, "test"), n, seed)
    if not rows:
        raise SystemExit(f"the test split in {run.split_csv} is empty: nothing to explain")
    paths = [r["path"] for r in rows]
    targets = np.array([int(r["label"]) for r in rows], np.int64)
    landmarks = load_landmarks(run, paths)
    embedder = FaceEmbedder(batch_size=512)
    masks = saliency.rise_masks(int(opt["rise_masks"]), IMAGE_SIZE, int(opt["rise_grid"]), float(opt["rise_keep"]),
                                seed)
    maps = {m: np.zeros((len(rows), IMAGE_SIZE, IMAGE_SIZE), np.float32) for m in METHODS}
    probs = np.zeros(len(rows), np.float32)
    for i in progress(range(len(rows)), desc="black-box maps (embedding)", total=len(rows)):
        image = torch.from_numpy(load_rgb(run.data / paths[i], size=IMAGE_SIZE).transpose(2, 0, 1).copy()).float() / 255
        lm = landmarks[i]
        target = int(targets[i])

        def score(x: torch.Tensor, lm: np.ndarray = lm, target: int = target) -> torch.Tensor:
            emb = embedder.embed(x.numpy(), np.repeat(lm[None], len(x), axis=0))
            if opt["score"] == "probability":
                return torch.from_numpy(head.proba(emb)[:, target].astype(np.float32))
            return torch.from_numpy(((1 if target == 1 else -1) * head.logit(emb)).astype(np.float32))

        full = score(image[None])[0]
        probs[i] = float(torch.sigmoid(full)) if opt["score"] == "logit" else float(full)
        foot = chip_footprint(lm)
        maps["occlusion"][i] = saliency.occlusion_map(score, image, int(opt["patch"]), int(opt["stride"])) * foot
        maps["rise"][i] = saliency.rise_map(score, image, masks) * foot
    people = identities(run)
    written = []
    for method in METHODS:
        path = run.explain / "maps" / f"{KIND}-{method}.npz"
        buf = io.BytesIO()
        np.savez_compressed(buf, maps=maps[method], paths=np.array(paths, dtype=str), model=np.array(KIND),
                            method=np.array(method), target=targets, target_names=np.array([people[t] for t in targets]),
                            probability=probs)
        atomic_write_bytes(path, buf.getvalue())
        written.append(str(path.relative_to(run.root)))
    return {"model": KIND, "methods": list(METHODS), "n": len(rows), "files": written,
            "mean_target_probability": float(probs.mean()), "options": opt,
            "model_calls_per_image": int(opt["rise_masks"]) + (-(-(IMAGE_SIZE - int(opt["patch"])) // int(opt["stride"])) + 1) ** 2 + 1,
            "seconds": round(time.perf_counter() - t0, 2)}
