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


SANITY_PANELS = (("cascade", "spearman_mean", "cascading: rank correlation (|map|)"),
                 ("cascade", "spearman_signed_mean", "cascading: rank correlation (signed)"),
                 ("cascade", "ssim_mean", "cascading: SSIM"),
                 ("independent", "spearman_mean", "independent: rank correlation (|map|)"))


def sanity_figure(results: dict[str, dict[str, Any]], threshold: float, out: Path) -> Path:
    """Per-layer randomisation curves (Adebayo et al. 2018, Figs. 2 and 4): one row per network, columns
    cascading ρ with and without absolute values, SSIM, and independent ρ; then the verdicts."""
    kinds = sorted({name.split("-")[0] for name in results})
    fig, axes = plt.subplots(len(kinds) + 1, len(SANITY_PANELS), figsize=(4.2 * len(SANITY_PANELS),
                             3.3 * len(kinds) + 0.4 * max(4, len(results)) + 1), squeeze=False)
    for row, kind in enumerate(kinds):
        for col, (curve, key, title) in enumerate(SANITY_PANELS):
            ax = axes[row, col]
            labels: list[str] = []
            for name, r in results.items():
                if name.split("-")[0] != kind or not r.get(curve):
                    continue
                points = r[curve]
                labels = [p.get("down_to", p.get("layer", "")) for p in points]
                xs = np.arange(len(points) + (curve == "cascade"))
                ys = ([1.0] if curve == "cascade" else []) + [p.get(key, np.nan) for p in points]
                ax.plot(xs, ys, marker="o", ms=3, ls="-" if r["passed"] else "--",
                        label=name.split("-", 1)[1] + ("" if r["passed"] else " (fails)"))
            if labels:
                ticks = (["trained"] if curve == "cascade" else []) + labels
                ax.set_xticks(range(len(ticks)), ticks, rotation=70, ha="right", fontsize=5)
            if key == "spearman_mean":
                ax.axhline(threshold, color="k", lw=0.8, ls=":")
            ax.set_ylim(-0.3 if "spearman" in key else -0.05, 1.05)
            ax.set_title(f"{kind} — {title}", fontsize=8)
            if col == 0:
                ax.set_ylabel("similarity to the trained maps", fontsize=7)
                ax.legend(fontsize=6)
    for ax in axes[-1]:
        ax.axis("off")
    rows = [[name, f"{r['final_spearman']:.2f}", f"{r.get('final_spearman_signed', float('nan')):.2f}",
             f"{r.get('final_ssim', float('nan')):.2f}",
             "–" if r.get("top_layers_spearman") is None else f"{r['top_layers_spearman']:.2f}",
             "pass" if r["passed"] else "FAIL"] for name, r in results.items()]
    if rows:
        table = axes[-1, 0].table(cellText=rows, colLabels=["model-method", "ρ |map| all random", "ρ signed",
                                                            "SSIM", "ρ top layers random", "verdict"],
                                  loc="center", bbox=[0, 0, len(SANITY_PANELS), 1])
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for i, row in enumerate(rows, start=1):
            table[i, 5].set_facecolor("#cdeccd" if row[5] == "pass" else "#f6c6cb")
    fig.suptitle(f"Model randomisation (Adebayo et al. 2018): a method fails when ρ |map| ≥ {threshold} with "
                 f"every weight layer re-initialised", fontsize=10)
    fig.subplots_adjust(hspace=0.9, wspace=0.25)
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
    """Per network, with 95 % CIs: the drop of the right answer's probability when each face feature is covered
    and (where measured) its gain when the feature alone is shown on the mean face."""
    kinds = list(tests)
    features = list(next(iter(tests.values()))["features"])
    panels = [("drop", "ci_low", "ci_high", "needed", "covered: drop of P(right answer)",
               "needed (green): 95 % interval above 0")]
    if all(r.get("gain") is not None for t in tests.values() for r in t["features"].values()):
        panels.append(("gain", "gain_ci_low", "gain_ci_high", "sufficient", "shown alone on the mean face: gain",
                       "sufficient (blue): 95 % interval above 0"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.5,
                                                      0.35 * len(features) * max(1, len(kinds)) + 1.6),
                             sharey=True, squeeze=False)
    height = 0.8 / max(1, len(kinds))
    for ax, (key, low, high, verdict, xlabel, title), colour in zip(axes[0], panels, ("#2e7d32", "#1565c0")):
        for j, kind in enumerate(kinds):
            rows = tests[kind]["features"]
            ys = np.arange(len(features)) + (j - (len(kinds) - 1) / 2) * height
            value = np.array([rows[f][key] for f in features])
            err = np.array([[rows[f][key] - rows[f][low], rows[f][high] - rows[f][key]] for f in features]).T
            colours = [colour if rows[f].get(verdict) else "#9e9e9e" for f in features]
            ax.barh(ys, value, height=height * 0.9, xerr=np.nan_to_num(err), color=colours,
                    hatch="//" if j else None, edgecolor="white", label=f"{kind} (n={tests[kind]['n_units']})",
                    error_kw={"lw": 0.8})
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(np.arange(len(features)), features)
        ax.set_xlabel(xlabel)
        ax.set_title(title, fontsize=9)
        if len(kinds) > 1:
            ax.legend(fontsize=8)
    axes[0][0].invert_yaxis()
    fig.suptitle("Region test: which features does the network need, and which suffice on their own?", fontsize=10)
    return save_figure(out, fig)
