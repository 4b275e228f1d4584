"""Figures of the regions stage: the regions on the mean face, the ranking bars, the hint picture."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..face.regions import FEATURES, REGIONS  # noqa: E402
from ..io import save_figure  # noqa: E402


def _centroids(labels: np.ndarray) -> dict[int, tuple[float, float]]:
    """Where to write each region's name: its innermost pixel (always inside, even for a split region)."""
    from scipy.ndimage import distance_transform_edt

    out = {}
    for k in range(len(REGIONS)):
        mask = labels == k
        if mask.any():
            y, x = np.unravel_index(int(np.argmax(distance_transform_edt(mask))), mask.shape)
            out[k] = (float(x), float(y))
    return out


def regions_figure(mean_face: np.ndarray, labels: np.ndarray, out: Path) -> Path:
    """The named regions coloured over the mean face, with their names."""
    cmap = plt.get_cmap("tab20", len(REGIONS))
    colour = cmap(np.clip(labels, 0, None))[..., :3]
    face = labels >= 0
    img = mean_face.astype(np.float32) / 255.0
    mixed = np.where(face[..., None], 0.45 * img + 0.55 * colour, img)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4.6))
    a.imshow(img)
    a.set_title("mean face", fontsize=10)
    b.imshow(mixed)
    b.contour(labels, levels=np.arange(-0.5, len(REGIONS)), colors="k", linewidths=0.4)
    for k, (x, y) in _centroids(labels).items():
        b.text(x, y, REGIONS[k].replace("_", "\n"), fontsize=5.5, ha="center", va="center")
    b.set_title("face regions (from the 68 landmarks)", fontsize=10)
    for ax in (a, b):
        ax.axis("off")
    return save_figure(out, fig, dpi=150)


def ranking_figure(sources: list[dict[str, Any]], out: Path) -> Path:
    """One panel per source: regions sorted by score with 95 % bootstrap intervals."""
    n = max(1, len(sources))
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax, src in zip(axes.ravel(), sources):
        table = sorted(src["regions"], key=lambda r: -np.nan_to_num(r["score"], nan=-np.inf))
        names = [r["region"] for r in table][::-1]
        score = np.array([r["score"] for r in table][::-1], dtype=float)
        lo = np.array([r["ci_low"] for r in table][::-1], dtype=float)
        hi = np.array([r["ci_high"] for r in table][::-1], dtype=float)
        err = np.vstack([np.nan_to_num(score - lo), np.nan_to_num(hi - score)])
        used = src["used_for_hint"]
        ax.barh(names, score, xerr=err, color="#3b7dd8" if used else "#b0b0b0", capsize=2,
                error_kw={"lw": 0.8})
        ax.axvline(1.0, color="k", ls="--", lw=0.8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("attribution share ÷ area share", fontsize=8)
        status = src["sanity"]
        note = {"pass": "passed the sanity check", "fail": "FAILED the sanity check: not used",
                "n/a": "fooling aggregate", "unchecked": "not sanity-checked: not used"}[status]
        ax.set_title(f"{src['source']}  (n={src['n_images']})\n{note}", fontsize=8,
                     color="#b00020" if status == "fail" else "k")
    for ax in axes.ravel()[len(sources):]:
        ax.axis("off")
    fig.suptitle("Where the attribution falls, relative to region size (95 % bootstrap intervals)", fontsize=10)
    fig.tight_layout()
    return save_figure(out, fig)


def agreement_figure(matrix: dict[str, dict[str, float]], out: Path) -> Path:
    names = list(matrix)
    m = np.array([[matrix[a][b] for b in names] for a in names], dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(names), 0.8 + 0.5 * len(names)))
    im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, "" if np.isnan(m[i, j]) else f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, label="Spearman ρ of region scores")
    ax.set_title("Agreement between methods", fontsize=10)
    return save_figure(out, fig)


def hint_figure(mean_face: np.ndarray, labels: np.ndarray, look: list[str], text: str, out: Path) -> Path:
    """The mean face with the hinted regions lit and outlined, the rest dimmed: what the 'post' group sees."""
    img = mean_face.astype(np.float32) / 255.0
    members = [REGIONS.index(r) for f in look for r in FEATURES.get(f, [f]) if r in REGIONS]
    lit = np.isin(labels, members)
    shown = np.where(lit[..., None], 0.6 * img + 0.4 * np.array([1.0, 0.85, 0.2]), 0.45 * img)
    fig, ax = plt.subplots(figsize=(4.2, 4.8))
    ax.imshow(np.clip(shown, 0, 1))
    if lit.any():
        ax.contour(lit.astype(float), levels=[0.5], colors="#ffd21f", linewidths=1.5)
    ax.axis("off")
    ax.set_title("\n".join(textwrap.wrap(text, 38)), fontsize=10)
    return save_figure(out, fig, dpi=150)
