"""The study's figures: Figure 9 (correct answers per participant), accuracy per group, and d′."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...contract import ParticipantRow
from ...io import save_figure
from .scoring import mean

GROUP_COLOURS = {"pre": "#8c8c8c", "post": "#000000", "expert": "#d62728"}  # Figure 9: gray, black, red
def plot_figure9(groups: dict[str, dict[str, Any]], trials: int, path: Path) -> Path:
    """Figure 9: correct answers per participant, one panel per group (pre gray, post black, expert red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import binom

    names = list(groups)
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.2 * max(1, len(names)), 3.4),
                             sharey=True, squeeze=False)
    top = max([max(g["histogram"]) for g in groups.values()] + [1])
    for ax, name in zip(axes[0], names):
        g = groups[name]
        ax.bar(range(trials + 1), g["histogram"], width=0.85, color=GROUP_COLOURS.get(name, "#1f77b4"))
        chance = binom.pmf(range(trials + 1), trials, 0.5) * g["participants"]
        ax.plot(range(trials + 1), chance, ls="--", lw=1, color="#1f77b4", label="guessing (expected)")
        acc = g["accuracy"]
        ax.set_title(f"{name}: M={g['participants']}, accuracy "
                     + ("–" if not math.isfinite(acc) else f"{100 * acc:.1f}%"), fontsize=10)
        ax.set_xlabel(f"correct answers (of {trials})")
        ax.set_xlim(-0.7, trials + 0.7)
        ax.set_xticks(range(0, trials + 1, max(1, trials // 10)))
        ax.set_ylim(0, top + 0.8)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("participants")
    axes[0][0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.suptitle("Figure 9: correct answers per participant", fontsize=11)
    fig.tight_layout()
    return save_figure(path, fig)


def plot_accuracy(groups: dict[str, dict[str, Any]], path: Path) -> Path:
    """Equation-(1) accuracy per group with bootstrap 95% intervals, beside the paper's values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(groups)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2.4, 3.4))
    for i, name in enumerate(names):
        g = groups[name]
        lo, hi = g["bootstrap_95"]
        acc = g["accuracy"]
        ax.bar(i, 100 * acc, width=0.6, color=GROUP_COLOURS.get(name, "#1f77b4"),
               label="this study (bootstrap 95%)" if i == 0 else None)
        if math.isfinite(lo):
            ax.errorbar(i, 100 * acc, yerr=[[100 * (acc - lo)], [100 * (hi - acc)]], color="#1f77b4",
                        capsize=5, lw=1.5)
        if g.get("paper_accuracy") is not None:
            first = "paper" not in ax.get_legend_handles_labels()[1]
            ax.plot(i, 100 * g["paper_accuracy"], marker="D", color="#ff9f1c", ms=8, ls="none",
                    label="paper" if first else None)
    ax.axhline(50, ls=":", color="0.4", lw=1)
    ax.text(len(names) - 0.5, 51, "chance", ha="right", fontsize=8, color="0.3")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("accuracy, equation (1) [%]")
    ax.set_ylim(0, 100)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return save_figure(path, fig)


def plot_dprime(scores: list[ParticipantRow], groups: list[str], path: Path) -> Path:
    """d′ of every participant by group (jittered), with the group mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 2.4, 3.4))
    for i, name in enumerate(groups):
        vals = [p.dprime for p in scores if p.group == name]
        if not vals:
            continue
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(vals)), vals, s=22, alpha=0.8,
                   color=GROUP_COLOURS.get(name, "#1f77b4"), edgecolor="white", linewidth=0.5)
        ax.hlines(mean(vals), i - 0.28, i + 0.28, color="#1f77b4", lw=2)
    ax.axhline(0, ls=":", color="0.4", lw=1)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel("d′ (log-linear corrected)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return save_figure(path, fig)
