"""Figures 3 and 4 of the paper: training and validation accuracy and loss per epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..io import save_figure


def plot_curves(records: list[dict[str, Any]], folder: str | Path, title: str) -> list[Path]:
    """Write `curves_accuracy.png` and `curves_loss.png` from the metrics.jsonl records."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    epochs = [r["epoch"] for r in records]
    best = max(records, key=lambda r: r["val_accuracy"]) if records else None
    out = []
    for key, label, name in (("accuracy", "Accuracy", "curves_accuracy.png"), ("loss", "Loss", "curves_loss.png")):
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(epochs, [r[f"train_{key}"] for r in records], marker="o", ms=3, label="training")
        ax.plot(epochs, [r[f"val_{key}"] for r in records], marker="s", ms=3, label="validation")
        if best is not None:
            ax.axvline(best["epoch"], color="gray", ls=":", lw=1, label=f"best epoch ({best['epoch']})")
        if key == "accuracy":
            ax.axhline(0.5, color="lightgray", lw=1, ls="--")
            ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{title}: {label.lower()} per epoch")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        out.append(save_figure(folder / name, fig))
    return out
