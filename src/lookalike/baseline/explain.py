"""`lookalike explain RUN --model embedding`: where the baseline looks, without gradients.

dlib's network is a black box to PyTorch, so we perturb the aligned face and watch the baseline's
log-odds for the person in the picture (probabilities saturate near 1 and hide the changes):
occlusion (a sliding square) and RISE (random smooth masks), hidden pixels replaced by the average
training face. Maps go to `explain/maps/embedding-<method>.npz` in the format of the white-box maps,
so the region stage scores the modern model and the paper's CNN with the same ruler.

Pixels outside the 150×150 chip dlib cuts (above the eyebrows, the corners) cannot change the
output; their attribution is set to exactly 0 rather than left as sampling noise.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..contract import MapFile, map_path, save_maps
from ..data.dataset import load_landmarks, load_split, split_rows
from ..errors import InputError, SettingError
from ..face.template import SIZE as IMAGE_SIZE
from ..io import atomic_write_bytes, load_rgb
from ..progress import progress
from ..runfolder import Run
from . import saliency
from .embedder import CHIP_PADDING, CHIP_SIZE, FaceEmbedder, _detection
from .train import KIND, load_head

METHODS = ("occlusion", "rise")
DEFAULTS: dict[str, Any] = {"patch": 16, "stride": 12, "rise_masks": 300, "rise_grid": 7, "rise_keep": 0.5,
                            "score": "logit", "fill": "mean_face"}
SCORES = ("logit", "probability")
PROGRESS_FILE = "explain_progress.npz"  # per-image maps, so an interrupted call resumes
FILLS = ("mean_face", "gray")


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


def mean_face(run: Run) -> torch.Tensor:
    """The average training face (3×128×128 in [0, 1]): hiding a region behind it removes what is
    particular to this person there, without the colour shock of a gray square."""
    train = load_split(run, "train")
    return train.images.float().mean(dim=0) / 255.0


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


def _explain_one(image: torch.Tensor, lm: np.ndarray, target: int, head: Any, embedder: FaceEmbedder,
                 fill: saliency.Fill, opt: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Occlusion and RISE maps (128×128 each) of one face, its target probability and the model calls used."""
    calls = 0
    sign = 1.0 if target == 1 else -1.0

    def score(x: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += len(x)
        logit = sign * head.logit(embedder.embed(x.numpy(), np.repeat(lm[None], len(x), axis=0)))
        return torch.from_numpy((logit if opt["score"] == "logit" else 1 / (1 + np.exp(-logit))).astype(np.float32))

    full = float(score(image[None])[0])
    prob = 1 / (1 + np.exp(-full)) if opt["score"] == "logit" else full
    # perturb only the box dlib's chip reads from: the rest cannot change the output
    foot = chip_footprint(lm)
    ys, xs = np.nonzero(foot)
    box = (slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1))
    crop = image[:, box[0], box[1]]
    crop_fill = fill if isinstance(fill, float) else fill[:, box[0], box[1]]

    def score_crop(xc: torch.Tensor) -> torch.Tensor:
        whole = image.expand(len(xc), -1, -1, -1).clone()
        whole[:, :, box[0], box[1]] = xc
        return score(whole)

    masks = saliency.rise_masks(int(opt["rise_masks"]), tuple(crop.shape[-2:]), int(opt["rise_grid"]),
                                float(opt["rise_keep"]), seed)
    out = []
    for crop_map in (saliency.occlusion_map(score_crop, crop, int(opt["patch"]), int(opt["stride"]), crop_fill),
                     saliency.rise_map(score_crop, crop, masks, crop_fill)):
        full_map = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
        full_map[box] = crop_map
        out.append(full_map * foot)
    return out[0], out[1], float(prob), calls


def _read_progress(path: Path, key: str) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Maps finished by an earlier, interrupted call with the same settings and the same trained head."""
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return {}
            return {str(p): (o, r, float(q)) for p, o, r, q in zip(z["paths"], z["occlusion"], z["rise"], z["prob"])}
    except (OSError, KeyError, ValueError):
        return {}


def _write_progress(path: Path, key: str, done: dict[str, tuple[np.ndarray, np.ndarray, float]]) -> None:
    buf = io.BytesIO()
    keys = list(done)
    np.savez(buf, key=np.array(key), paths=np.array(keys, dtype=str),
             occlusion=np.stack([done[k][0] for k in keys]), rise=np.stack([done[k][1] for k in keys]),
             prob=np.array([done[k][2] for k in keys], np.float32))
    atomic_write_bytes(path, buf.getvalue())


def explain_embedding(run: Run | str | Path, n: int = 16, seed: int = 0, device: str = "cpu",
                      options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Occlusion and RISE maps for `n` test faces; returns a summary (the explain stage writes its own)."""
    run = run if isinstance(run, Run) else Run(run)
    t0 = time.perf_counter()
    opt = {**DEFAULTS, **(options or {})}
    if n < 1:
        raise SettingError("--n must be at least 1")
    if opt["score"] not in SCORES:
        raise SettingError(f"score must be one of {SCORES}, not {opt['score']!r}")
    if opt["fill"] not in FILLS:
        raise SettingError(f"fill must be one of {FILLS}, not {opt['fill']!r}")
    head, _ = load_head(run.model(KIND))
    rows = pick_images(split_rows(run, "test"), n, seed)
    if not rows:
        raise InputError(f"the test split in {run.split_csv} is empty: nothing to explain")
    paths = [r["path"] for r in rows]
    targets = np.array([int(r["label"]) for r in rows], np.int64)
    landmarks = load_landmarks(run, paths)
    embedder = FaceEmbedder(batch_size=512)
    fill = mean_face(run) if opt["fill"] == "mean_face" else saliency.FILL
    maps = {m: np.zeros((len(rows), IMAGE_SIZE, IMAGE_SIZE), np.float32) for m in METHODS}
    probs = np.zeros(len(rows), np.float32)
    calls = 0
    progress_file = run.model(KIND) / PROGRESS_FILE
    key = json.dumps({**opt, "seed": seed, "model": (run.model(KIND) / "model.safetensors").stat().st_mtime_ns},
                     sort_keys=True)
    done = _read_progress(progress_file, key)
    reused = 0
    for i in progress(range(len(rows)), desc="black-box maps (embedding)", total=len(rows)):
        if paths[i] in done:  # finished before an interruption
            maps["occlusion"][i], maps["rise"][i], probs[i] = done[paths[i]]
            reused += 1
            continue
        image = torch.from_numpy(load_rgb(run.data / paths[i], size=IMAGE_SIZE).transpose(2, 0, 1).copy()).float() / 255
        occ, rise, probs[i], used = _explain_one(image, landmarks[i], int(targets[i]), head, embedder, fill, opt, seed)
        maps["occlusion"][i], maps["rise"][i] = occ, rise
        calls += used
        done[paths[i]] = (occ, rise, float(probs[i]))
        _write_progress(progress_file, key, done)
    written = {}
    for method in METHODS:
        path = save_maps(map_path(run.explain, KIND, method), MapFile(
            maps=maps[method], paths=paths, model=KIND, method=method, target=targets, label=targets, prob=probs,
            pair=np.full(len(rows), -1), side=np.zeros(len(rows), np.int64)))
        written[method] = str(path.relative_to(run.root))
    # `methods` in the explain summary's shape for one network (contract NetworkRun: method -> its maps file)
    return {"model": KIND, "methods": {m: {"maps": f} for m, f in written.items()}, "n": len(rows),
            "files": list(written.values()),
            "mean_target_probability": float(probs.mean()), "options": opt,
            "reused_images": reused, "model_calls_per_image": round(calls / max(1, len(rows) - reused), 1),
            "seconds": round(time.perf_counter() - t0, 2)}
