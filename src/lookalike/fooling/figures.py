"""Figure 5 (original | pixel map | fooled), a grid of many, and the aggregate change over the mean face."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..io import save_figure  # noqa: E402
from .pixelmap import legend  # noqa: E402


@dataclass
class PanelImages:
    """One fooled example: HxWx3 uint8 pictures and the captions under them."""

    original: np.ndarray
    pixel_map: np.ndarray
    fooled: np.ndarray
    before: str  # e.g. "person_a 97 %"
    after: str  # e.g. "→ person_b 91 %"
    partner: np.ndarray | None = None  # Siamese: the unchanged first image of the pair
    map_caption: str = "pixel map"  # says what intensity 255 is on this map (see pixelmap.scale_caption)


def _tiles(p: PanelImages) -> list[tuple[np.ndarray, str]]:
    tiles = [(p.partner, "pair partner")] if p.partner is not None else []
    return tiles + [(p.original, p.before), (p.pixel_map, p.map_caption), (p.fooled, p.after)]


def panel_figure(p: PanelImages, title: str = "") -> plt.Figure:
    tiles = _tiles(p)
    fig, axes = plt.subplots(1, len(tiles), figsize=(2.2 * len(tiles), 2.5))
    for ax, (img, caption) in zip(axes, tiles):
        ax.imshow(img, interpolation="nearest")
        ax.set_xlabel(caption, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def save_panel(path: str | Path, p: PanelImages, title: str = "") -> Path:
    return save_figure(path, panel_figure(p, title), dpi=100)


def _legend_handles() -> list[Patch]:
    return [Patch(facecolor=np.array(rgb) / 255, edgecolor="0.5", label=f"{rng}: {name}")
            for rng, name, rgb in legend()]


def save_grid(path: str | Path, panels: Sequence[PanelImages], title: str, columns: int = 2,
              scale_note: str = "") -> Path:
    """Many Figure-5 panels side by side, with the Table-1 colour legend and what 255 means underneath."""
    if not panels:
        raise ValueError("no panels to draw")
    width = len(_tiles(panels[0]))
    rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns * width, figsize=(1.6 * columns * width, 1.85 * rows + 0.9),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, p in enumerate(panels):
        r, c = divmod(k, columns)
        for j, (img, caption) in enumerate(_tiles(p)):
            ax = axes[r, c * width + j]
            ax.imshow(img, interpolation="nearest")
            ax.set_title(caption, fontsize=7, pad=2)
    fig.suptitle(title, fontsize=10)
    fig.legend(handles=_legend_handles(), loc="lower center", ncol=5, fontsize=8, frameon=False,
               title="pixel-map intensity (Table 1, amended)" + (f": {scale_note}" if scale_note else ""),
               title_fontsize=8)
    fig.tight_layout(rect=(0, 0.6 / (1.85 * rows + 0.9), 1, 0.97))
    return save_figure(path, fig, dpi=110)


def save_aggregate(path: str | Path, aggregate: np.ndarray, mean_face: np.ndarray, n_images: int,
                   epsilon: float) -> Path:
    """Mean |change| per pixel as a heat map over the mean face (grey), and on its own."""
    grey_face = mean_face.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
    fig, axes = plt.subplots(1, 2, figsize=(8.2, 4.2))
    axes[0].imshow(grey_face, cmap="gray", vmin=0, vmax=1)
    top = float(aggregate.max()) or 1.0
    alpha = np.clip(aggregate / top, 0, 1) * 0.75
    axes[0].imshow(aggregate, cmap="inferno", alpha=alpha, vmin=0, vmax=top)
    axes[0].set_title("over the mean face", fontsize=9)
    im = axes[1].imshow(aggregate, cmap="inferno", vmin=0, vmax=top)
    axes[1].set_title("mean |change| (0–1 pixel scale)", fontsize=9)
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Where the attack changed the faces: mean over {n_images} fooled images (ε = {epsilon:g})",
                 fontsize=10)
    return save_figure(path, fig, dpi=110)
