"""`generate()`: render a whole synthetic look-alike data set with its ground truth, in parallel.

Each image has its own seed (run seed, label, index), so the result does not
depend on the number of workers or the order they finish in. For every image
and planted region we also render the *same* image with that region taken
from the other person; the pixels that change are the ground-truth mask.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..contract import SYNTH_LANDMARKS, SYNTH_SUMMARY, SynthSummary, write_config
from ..errors import InputError
from ..face.template import SIZE, landmark_columns
from ..io import atomic_write_bytes, atomic_write_text, read_json, save_png
from ..progress import progress
from ..runtime import cpu_count
from .params import (
    DEFAULT_REGIONS,
    IDENTITIES,
    check_regions,
    identity_params,
    sample_nuisance,
    shown_regions,
    swap_region,
)
from .render import background, degrade, render_clean

Job = tuple[str, int, int, int, tuple[str, ...], float, float]  # out, label, index, seed, regions, strength, dropout


def image_path(label: int, index: int) -> str:
    """Path of an image relative to the synth folder (the same relative path the data stage uses)."""
    name = IDENTITIES[label]
    return f"faces/{name}/{name}_{index:05d}.png"


def nuisance_for(seed: int, label: int, index: int) -> dict[str, Any]:
    """The nuisance of one image, from its own seed: workers need no shared random state."""
    return sample_nuisance(np.random.default_rng(np.random.SeedSequence([seed, label, index])))


def shown_for(seed: int, label: int, index: int, regions: tuple[str, ...], dropout: float) -> tuple[str, ...]:
    """The planted regions one image shows, from a stream of its own (the nuisance stays as without dropout)."""
    return shown_regions(np.random.default_rng(np.random.SeedSequence([seed, label, index, 1])), regions, dropout)


def render_with_truth(label: int, nz: dict[str, Any], regions: tuple[str, ...], strength: float = 1.0,
                      shown: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image, landmarks and masks (R×H×W uint8, 1 where swapping that region to the other person changes pixels).

    `shown` (default: all `regions`): the planted regions this face shows; the others sit midway between the
    two people, and their masks still mark where they lie.

    Masks compare the renders before the camera (blur, noise, JPEG), which would
    smear each difference by the blur radius and into whole 8×8 JPEG blocks.
    """
    own = identity_params(label, regions if shown is None else shown, strength)
    other = identity_params(1 - label, regions, strength)
    bg = background(nz)
    cache: dict[Any, Any] = {}
    clean_img, landmarks = render_clean(own, nz, background=bg, cache=cache)
    masks = np.zeros((len(regions), SIZE, SIZE), dtype=np.uint8)
    for r, region in enumerate(regions):
        swapped, _ = render_clean(swap_region(own, other, region), nz, background=bg, cache=cache)
        masks[r] = (clean_img != swapped).any(axis=-1)  # exact: even sub-level changes can flip after noise
    return degrade(clean_img, nz), landmarks, masks


def _work(job: Job) -> tuple[str, np.ndarray, np.ndarray, dict[str, Any]]:
    out, label, index, seed, regions, strength, dropout = job
    nz = nuisance_for(seed, label, index)
    shown = shown_for(seed, label, index, regions, dropout)
    img, landmarks, masks = render_with_truth(label, nz, regions, strength, shown)
    rel = image_path(label, index)
    save_png(Path(out) / rel, img)
    params = {"path": rel, "identity": IDENTITIES[label], "label": label, "seed": [seed, label, index],
              "identity_params": identity_params(label, shown, strength), "shown_regions": list(shown),
              "nuisance": nz}
    return rel, landmarks.astype(np.float32), np.packbits(masks, axis=None), params


def _config(n_per_identity: int, seed: int, regions: tuple[str, ...], strength: float, dropout: float
            ) -> dict[str, Any]:
    config = {"n_per_identity": n_per_identity, "seed": seed, "regions": list(regions), "strength": strength,
              "identities": list(IDENTITIES), "size": SIZE}
    if dropout > 0:  # only then: folders made before the setting existed stay "made with the same settings"
        config["region_dropout"] = dropout
    return config


def generate(out: str | Path, n_per_identity: int, seed: int = 0,
             regions: tuple[str, ...] | list[str] = DEFAULT_REGIONS, workers: int | None = None,
             strength: float = 1.0, force: bool = False, region_dropout: float = 0.0) -> SynthSummary:
    """Render `n_per_identity` faces of each person into `out` (layout: docs/run-folder.md, `synth/`).

    `region_dropout`: the probability that a face leaves a planted region midway between the two people (at
    least one region stays), so that with several regions each one alone tells only some faces apart.

    Returns the summary. A folder that already holds a finished set made with the
    same settings is reused as it is; one made with other settings is refused
    unless `force` (then its faces/ and truth/ are replaced).
    """
    if n_per_identity < 1:
        raise ValueError(f"n_per_identity must be at least 1, not {n_per_identity}")
    if not 0.0 < strength <= 5.0:
        raise ValueError(f"strength must be in (0, 5], not {strength}")
    if not 0.0 <= region_dropout < 1.0:
        raise ValueError(f"region_dropout must be in [0, 1), not {region_dropout}")
    regions = check_regions(regions)
    out = Path(out)
    config = _config(n_per_identity, seed, regions, strength, region_dropout)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file: lookalike synth needs a folder to write into")
    previous = read_json(out / "config.json") if (out / "config.json").is_file() else None
    ours = isinstance(previous, dict) and previous.get("identities") == list(IDENTITIES) and "regions" in previous
    if (out / "faces").exists() and not ours:
        raise InputError(f"{out} already has a faces/ folder that lookalike synth did not make; "
                         "choose an empty folder (nothing was changed)")
    if ours and (out / "summary.json").exists() and not force:
        if previous == config:
            summary = SYNTH_SUMMARY.read_at(out / "summary.json")
            return summary.model_copy(update={"reused": True})
        raise InputError(f"{out} already holds synthetic faces made with other settings "
                         f"({out / 'config.json'}); choose another folder or pass --force to replace them")
    for sub in ("faces", "truth"):  # ours (checked above): an interrupted or --force run starts afresh
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)
    write_config(out, config)

    jobs: list[Job] = [(str(out), label, k, seed, regions, strength, region_dropout)
                       for k in range(n_per_identity) for label in (0, 1)]
    workers = max(1, min(workers or cpu_count(), len(jobs)))
    start = time.perf_counter()
    results = []
    bar = progress(total=len(jobs), desc="synth", unit="img")
    if workers == 1:
        for job in jobs:
            results.append(_work(job))
            bar.update()
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            for res in pool.imap(_work, jobs, chunksize=8):
                results.append(res)
                bar.update()
    bar.close()
    seconds = time.perf_counter() - start

    paths = [r[0] for r in results]
    cols = landmark_columns()
    rows = [{"path": p, **dict(zip(cols, np.round(lm.reshape(-1), 2).tolist()))} for p, lm, _, _ in results]
    SYNTH_LANDMARKS.write_at(out / "landmarks.csv", rows)
    n_px = len(regions) * SIZE * SIZE
    masks = np.stack([np.unpackbits(r[2])[:n_px].reshape(len(regions), SIZE, SIZE) for r in results])
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, paths=np.array(paths), regions=np.array(regions), masks=masks)
    atomic_write_bytes(out / "truth" / "masks.npz", buf.getvalue())
    atomic_write_text(out / "truth" / "params.jsonl", "".join(json.dumps(r[3]) + "\n" for r in results))
    _contact_sheet(out, results, masks, regions)

    coverage = masks.reshape(len(paths), len(regions), -1).mean(axis=2)
    summary = {
        "stage": "synth", "folder": str(out), "images": len(paths),
        "per_identity": {name: n_per_identity for name in IDENTITIES}, "regions": list(regions),
        "strength": strength, "region_dropout": region_dropout,
        "shown_fraction": {r: round(sum(r in res[3]["shown_regions"] for res in results) / len(results), 4)
                           for r in regions},
        "seed": seed, "workers": workers, "seconds": round(seconds, 2),
        "images_per_s": round(len(paths) / max(seconds, 1e-9), 1),
        "mask_fraction_mean": {r: round(float(coverage[:, i].mean()), 4) for i, r in enumerate(regions)},
        "mask_empty_images": {r: int((coverage[:, i] == 0).sum()) for i, r in enumerate(regions)},
        "files": {"faces": "faces/<identity>/<id>.png", "landmarks": "landmarks.csv",
                  "masks": "truth/masks.npz", "params": "truth/params.jsonl", "contact_sheet": "contact_sheet.png"},
    }
    return SYNTH_SUMMARY.write_at(out / "summary.json", summary)


def _contact_sheet(out: Path, results: list[Any], masks: np.ndarray, regions: tuple[str, ...], cols: int = 8) -> None:
    """Row per person, plus a row that tints person A's faces where each region was planted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import load_rgb, save_figure

    by_label: dict[int, list[int]] = {0: [], 1: []}
    for i, r in enumerate(results):
        by_label[r[3]["label"]].append(i)
    n = min(cols, len(by_label[0]))
    tints = np.array([[1.0, 0.15, 0.15], [0.15, 0.5, 1.0], [0.2, 1.0, 0.2], [1.0, 0.8, 0.1], [0.8, 0.2, 1.0],
                      [0.1, 1.0, 1.0], [1.0, 0.5, 0.0]])
    fig, axes = plt.subplots(3, n, figsize=(1.6 * n, 5.2), squeeze=False)
    for c in range(n):
        for row in range(3):
            idx = by_label[row % 2][c]
            img = load_rgb(out / results[idx][0]).astype(np.float32) / 255
            if row == 2:
                for r in range(len(regions)):
                    a = masks[idx, r][..., None] * 0.55
                    img = img * (1 - a) + tints[r % len(tints)] * a
            ax = axes[row, c]
            ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(IDENTITIES[row] if row < 2 else "planted", fontsize=9)
    colours = ["red", "blue", "green", "yellow", "purple", "cyan", "orange"]
    names = ", ".join(f"{r} ({colours[i % len(colours)]})" for i, r in enumerate(regions))
    fig.suptitle(f"Synthetic look-alikes: they differ only in {names}", fontsize=10)
    save_figure(out / "contact_sheet.png", fig)
