"""The face map as a picture (for papers) and the strip of small faces the report shows on hover."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import atomic_write_bytes, save_figure

THUMB = 40  # pixels per hover picture
SPRITE_COLUMNS = 20
COLOURS = ("#1f77b4", "#d95f02")  # person 0, person 1 (colour-blind safe pair)
MARKERS = {"test": "o", "val": "s", "train": "o"}


def save_thumbs(path: Path, images: torch.Tensor, count: int) -> dict[str, Any]:
    """The first `count` faces as one JPEG sprite (THUMB px cells, SPRITE_COLUMNS per row)."""
    from PIL import Image

    rows = max(1, -(-count // SPRITE_COLUMNS))
    sheet = Image.new("RGB", (SPRITE_COLUMNS * THUMB, rows * THUMB), "white")
    for k in range(count):
        face = Image.fromarray(images[k].permute(1, 2, 0).numpy()).resize((THUMB, THUMB), Image.LANCZOS)
        sheet.paste(face, ((k % SPRITE_COLUMNS) * THUMB, (k // SPRITE_COLUMNS) * THUMB))
    buf = io.BytesIO()
    sheet.save(buf, format="JPEG", quality=80, optimize=True)
    atomic_write_bytes(path, buf.getvalue())
    return {"file": path.name, "count": count, "size": THUMB, "columns": SPRITE_COLUMNS}


def save_map(path: Path, points: list[dict[str, Any]], names: list[str], kind: str, entry: dict[str, Any]) -> Path:
    """Scatter of the map: colour = person, filled = test, hollow = train, square = validation, × = mistake."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    for split in ("train", "val", "test"):
        for label, name in enumerate(names):
            pts = [p for p in points if p["split"] == split and p["label"] == label]
            if not pts:
                continue
            xy = np.array([[p["x"], p["y"]] for p in pts])
            filled = split == "test"
            ax.scatter(xy[:, 0], xy[:, 1], s=22 if filled else 16, marker=MARKERS[split],
                       facecolors=COLOURS[label] if filled else "none", edgecolors=COLOURS[label],
                       linewidths=0.8, alpha=0.9 if filled else 0.55, label=f"{name} ({split})")
    wrong = np.array([[p["x"], p["y"]] for p in points if not p["correct"]]).reshape(-1, 2)
    if len(wrong):
        ax.scatter(wrong[:, 0], wrong[:, 1], s=34, marker="x", c="black", linewidths=1.0,
                   label=f"mistake ({len(wrong)})")
    ax.set_xticks([])
    ax.set_yticks([])
    net = "Classifier" if kind == "classifier" else "Siamese network"
    ax.set_title(f"{net}: the faces as it sees them (t-SNE of its embedding)\n"
                 f"trustworthiness {entry['trustworthiness']:.2f}; {entry['mistakes']['test']} of "
                 f"{entry['faces']['test']} test faces wrong", fontsize=9)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    return save_figure(path, fig, dpi=110)
