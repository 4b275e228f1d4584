"""Figures of the explain stage: the Figure-7 grid per method, and the sanity and faithfulness tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..contract import MapFile  # noqa: E402
from ..io import load_rgb, save_figure  # noqa: E402

FAILED_NOTE = "FAILED the sanity check: these maps do not depend on what the network learned"
TARGET_NAMES = {"siamese": ("same", "different")}


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Heatmap (scaled to its 99th percentile) in the jet colour map over the grey image."""
    grey = image.astype(np.float32).mean(2, keepdims=True) / 255.0
    top = float(np.percentile(heat, 99)) or float(heat.max()) or 1.0
    colour = plt.get_cmap("jet")(np.clip(heat / top, 0, 1))[..., :3]
    return np.clip((1 - alpha) * grey + alpha * colour, 0, 1)


def _pick_units(mf: MapFile, max_cols: int) -> list[list[int]]:
    """Rows of the map file for each column: a pair's two rows, or one image's row."""
    if mf.is_pairs:
        units: dict[int, list[int]] = {}
        for row, p in enumerate(mf.pair):
            units.setdefault(int(p), []).append(row)
        by_target: dict[int, list[list[int]]] = {}
        for rows in units.values():
            by_target.setdefault(int(mf.target[rows[0]]), []).append(sorted(rows, key=lambda r: mf.side[r]))
    else:
        by_target = {}
        for row in range(len(mf.paths)):
            by_target.setdefault(int(mf.label[row]), []).append([row])
    # as many columns of each target/person as fit, interleaved (Figure 7: same, same, different)
    keys = sorted(by_target)
    per = max(1, max_cols // max(1, len(keys)))
    return [u for k in keys for u in by_target[k][:per]]


def figure7(mf: MapFile, data_dir: Path, out: Path, label: str, passed: bool | None,
            identities: list[str] | None = None, max_cols: int = 6) -> Path:
    """Images above their heatmaps; for pairs both images of each pair (rows: A, map A, B, map B)."""
    units = _pick_units(mf, max_cols)
    per_unit = max(len(u) for u in units) if units else 1
    n_rows = 2 * per_unit
    fig, axes = plt.subplots(n_rows, max(1, len(units)), figsize=(1.9 * max(1, len(units)), 1.95 * n_rows),
                             squeeze=False)
    names = TARGET_NAMES.get(mf.model)
    for col, rows in enumerate(units):
        for k, row in enumerate(rows):
            image = load_rgb(data_dir / mf.paths[row], size=mf.maps.shape[-1])
            ax_img, ax_map = axes[2 * k, col], axes[2 * k + 1, col]
            ax_img.imshow(image)
            ax_map.imshow(overlay(image, mf.maps[row]))
            if k == 0:
                if names and mf.target[row] >= 0:
                    title = f"“{names[int(mf.target[row])]}”"
                elif identities and mf.label[row] >= 0:
                    title = identities[int(mf.label[row])]
                else:
                    title = Path(mf.paths[row]).stem
                if np.isfinite(mf.prob[row]):
                    title += f"  p={mf.prob[row]:.2f}"
                ax_img.set_title(title, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        if not ax.images:
            ax.axis("off")
    head = f"{mf.model} network — {label}"
    if passed is False:
        fig.suptitle(f"{head}\n{FAILED_NOTE}", color="#b00020", fontsize=10)
    else:
        fig.suptitle(head + ("" if passed else "  (sanity check not applicable)"), fontsize=10)
    return save_figure(out, fig)


def sanity_figure(results: dict[str, dict[str, Any]], threshold: float, out: Path) -> Path:
    """Cascading-randomisation curves per method, and a pass/fail table."""
    fig, (ax, tab) = plt.subplots(1, 2, figsize=(11, 0.45 * max(4, len(results)) + 2.2),
                                  gridspec_kw={"width_ratios": [1.2, 1]})
    for name, r in results.items():
        xs = [0] + [c["layers_randomised"] for c in r["cascade"]]
        ys = [1.0] + [c["spearman_mean"] for c in r["cascade"]]
        ax.plot(xs, ys, marker="o", ls="-" if r["passed"] else "--", label=name)
    ax.axhline(threshold, color="k", lw=0.8, ls=":")
    ax.set_xlabel("weight layers re-initialised (from the top)")
    ax.set_ylabel("Spearman ρ with the trained maps")
    ax.set_ylim(-0.2, 1.05)
    ax.legend(fontsize=7)
    ax.set_title("Cascading randomisation (Adebayo et al. 2018)", fontsize=10)
    rows = [[name, f"{r['final_spearman']:.2f}", "pass" if r["passed"] else "FAIL"] for name, r in results.items()]
    tab.axis("off")
    if rows:
        table = tab.table(cellText=rows, colLabels=["model-method", "ρ all random", "verdict"], loc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.3)
        for i, row in enumerate(rows, start=1):
            table[i, 2].set_facecolor("#cdeccd" if row[2] == "pass" else "#f6c6cb")
    tab.set_title(f"fails when ρ ≥ {threshold}", fontsize=9)
    return save_figure(out, fig)


def faithfulness_figure(results: dict[str, dict[str, Any]], out: Path,
                        sanity: dict[str, dict[str, Any]] | None = None) -> Path:
    """Mean deletion and insertion curves per method (random order dashed) and their areas."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.4 * max(4, len(results)) + 2.6),
                             gridspec_kw={"width_ratios": [1, 1, 1.3]})
    for name, r in results.items():
        xs = np.linspace(0, 1, len(r["deletion_curve"]))
        line, = axes[0].plot(xs, r["deletion_curve"], label=name)
        axes[1].plot(xs, r["insertion_curve"], color=line.get_color(), label=name)
    if results:
        first = next(iter(results.values()))
        xs = np.linspace(0, 1, len(first["random_deletion_curve"]))
        axes[0].plot(xs, first["random_deletion_curve"], "k--", lw=1, label="random order")
        axes[1].plot(xs, first["random_insertion_curve"], "k--", lw=1, label="random order")
    for ax, what in zip(axes[:2], ("Deletion (lower is better)", "Insertion (higher is better)")):
        ax.set_title(what, fontsize=10)
        ax.set_xlabel("fraction of pixels removed / inserted")
        ax.set_ylabel("probability of the explained class")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=6)
    rows = []
    for name, r in results.items():
        verdict = "" if not sanity or name not in sanity else ("pass" if sanity[name]["passed"] else "FAIL")
        rows.append([name, f"{r['deletion_auc']:.3f} ({r['random_deletion_auc']:.3f})",
                     f"{r['insertion_auc']:.3f} ({r['random_insertion_auc']:.3f})", verdict])
    axes[2].axis("off")
    if rows:
        table = axes[2].table(cellText=rows, colLabels=["model-method", "deletion AUC (random)",
                                                        "insertion AUC (random)", "sanity"], loc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1, 1.3)
    return save_figure(out, fig)


def region_test_figure(tests: dict[str, dict[str, Any]], out: Path) -> Path:
    """Drop of the right answer's probability when each face feature is covered, per network, with 95 % CIs."""
    kinds = list(tests)
    features = list(next(iter(tests.values()))["features"])
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(features) * max(1, len(kinds)) + 1.6))
    height = 0.8 / max(1, len(kinds))
    for j, kind in enumerate(kinds):
        rows = tests[kind]["features"]
        ys = np.arange(len(features)) + (j - (len(kinds) - 1) / 2) * height
        drop = np.array([rows[f]["drop"] for f in features])
        err = np.array([[rows[f]["drop"] - rows[f]["ci_low"], rows[f]["ci_high"] - rows[f]["drop"]]
                        for f in features]).T
        colours = ["#2e7d32" if rows[f]["needed"] else "#9e9e9e" for f in features]
        ax.barh(ys, drop, height=height * 0.9, xerr=np.nan_to_num(err), color=colours, hatch="//" if j else None,
                edgecolor="white", label=f"{kind} (n={tests[kind]['n_units']})", error_kw={"lw": 0.8})
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(np.arange(len(features)), features)
    ax.invert_yaxis()
    ax.set_xlabel("drop of P(right answer) when the feature is covered with the mean face")
    ax.set_title("Region test: which features does the network need? (green: 95 % interval above 0)", fontsize=10)
    if len(kinds) > 1:
        ax.legend(fontsize=8)
    return save_figure(out, fig)
