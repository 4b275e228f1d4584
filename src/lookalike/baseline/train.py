"""`lookalike train RUN --model embedding`: the modern baseline beside the paper's networks.

dlib's pretrained 128-d ResNet embedding (frozen) + a logistic-regression head fitted on the same
train split (C chosen on val) for "who is this", and the embedding distance with a threshold chosen on
validation pairs for "same or different" — scored on the Siamese network's own test pairs when they exist.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..contract import (
    BASELINE_PAIRS,
    BASELINE_SUMMARY,
    C_SEARCH,
    MODEL_INFO,
    TEST_PAIRS,
    TEST_PREDICTIONS,
    BaselineSummary,
    SplitRow,
    write_config,
)
from ..data.dataset import identities, split_rows
from ..errors import InputError, StageMissing
from ..io import atomic_write_bytes
from ..pairs import make_pairs, pair_count, saved_test_pairs
from ..runfolder import Run
from ..training.metrics import binary_metrics
from . import linear
from .cache import embeddings_for
from .embedder import BACKBONE, CHIP_PADDING, CHIP_SIZE
from .pairs import pair_distances

KIND = "embedding"
DLIB_THRESHOLD = 0.6  # dlib's documented same-person cut for this network (trained on LFW-style faces)
SIAMESE_VAL_SEED, SIAMESE_TEST_SEED = 7_919, 104_729  # offsets lookalike.training uses for its pairs
DEFAULTS: dict[str, Any] = {"val_pairs": 1000, "test_pairs": 2000, "C_grid": list(linear.C_GRID)}


def settings(config: dict[str, Any] | None, seed: int) -> dict[str, Any]:
    """The keys of a training config that the baseline uses (others, e.g. epochs, do not apply)."""
    cfg = dict(DEFAULTS)
    for key in DEFAULTS:
        if config and config.get(key) is not None:
            cfg[key] = config[key]
    cfg["C_grid"] = [float(c) for c in cfg["C_grid"]]
    cfg.update(model=KIND, backbone=BACKBONE, chip_size=CHIP_SIZE, chip_padding=CHIP_PADDING, seed=seed,
               preset=(config or {}).get("preset"))
    return cfg


def _xy(rows: list[SplitRow], emb: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([emb[r.path] for r in rows]) if rows else np.zeros((0, 128), np.float32)
    return x, np.array([r.label for r in rows], np.int64)


def _pair_rows(rows: list[SplitRow], n: int, seed: int) -> list[tuple[str, str, int]]:
    """Balanced pairs drawn exactly as the Siamese network draws its own (same generator and seed)."""
    import torch

    labels = torch.tensor([r.label for r in rows])
    a, b, same = make_pairs(labels, pair_count(n, len(rows)), seed, [r.group or r.path for r in rows])
    return [(rows[int(i)].path, rows[int(j)].path, int(s)) for i, j, s in zip(a, b, same)]


def _pair_probability(distance: np.ndarray, threshold: float, slope: float) -> np.ndarray:
    """P(different) = sigmoid(slope · (d − threshold)): 0.5 exactly at the chosen threshold."""
    return 1.0 / (1.0 + np.exp(-slope * (np.asarray(distance, np.float64) - threshold)))


def _fit_slope(distance: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Platt-style scale for the distance on validation pairs, centre fixed at the threshold."""
    from scipy.optimize import minimize_scalar

    diff = 1 - np.asarray(same, np.float64)

    def nll(log_slope: float) -> float:
        p = np.clip(_pair_probability(distance, threshold, float(np.exp(log_slope))), 1e-12, 1 - 1e-12)
        return float(-(diff * np.log(p) + (1 - diff) * np.log(1 - p)).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 6.0), method="bounded").x))


def train_embedding(run: Run | str | Path, config: dict[str, Any] | None = None, seed: int = 0,
                    device: str = "cpu") -> BaselineSummary:
    """Fit and score the baseline; writes `RUN/models/embedding/` and returns its summary.

    `device` is accepted for symmetry with the other networks: dlib runs on the CPU.
    """
    run = run if isinstance(run, Run) else Run(run)
    t0 = time.perf_counter()
    cfg = settings(config, seed)
    rows = {s: split_rows(run, s) for s in ("train", "val", "test")}
    for s, r in rows.items():
        if not r:
            raise InputError(f"the {s} split in {run.split_csv} is empty: the baseline needs train, val and test faces")
    out = run.model(KIND)
    out.mkdir(parents=True, exist_ok=True)
    write_config(out, cfg)
    saved = saved_test_pairs(run)
    test_pairs = ([(p.a, p.b, p.same) for p in saved] if saved
                  else _pair_rows(rows["test"], cfg["test_pairs"], seed + SIAMESE_TEST_SEED))
    all_paths = [r.path for s in rows.values() for r in s] + [p for a, b, _ in test_pairs for p in (a, b)]
    t_embed = time.perf_counter()
    emb = embeddings_for(run, all_paths, out)
    embed_seconds = time.perf_counter() - t_embed

    # who is this: logistic regression, C on validation
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (_xy(rows[s], emb) for s in ("train", "val", "test"))
    head, c_table = linear.choose_C(x_tr, y_tr, x_va, y_va, tuple(cfg["C_grid"]))
    prob = head.proba(x_te)
    pred = prob.argmax(axis=1)

    # same or different: distance threshold on validation pairs
    val_pairs = _pair_rows(rows["val"], cfg["val_pairs"], seed + SIAMESE_VAL_SEED)
    d_val, s_val = pair_distances(emb, val_pairs)
    threshold = linear.best_threshold(d_val, s_val)
    slope = _fit_slope(d_val, s_val, threshold)
    d_te, s_te = pair_distances(emb, test_pairs)
    # the classifier's answer to "same or different": are both faces given to the same person?
    label_of = dict(zip((r.path for s in rows.values() for r in s),
                        head.predict(np.stack([emb[r.path] for s in rows.values() for r in s]))))
    via_head = np.array([int(label_of[a] == label_of[b]) for a, b, _ in test_pairs], np.int64)

    _save_head(out, head, threshold, slope)
    BASELINE_PAIRS.write(run, [{"a": a, "b": b, "same": s, "distance": f"{d:.5f}"}
                               for (a, b, s), d in zip(test_pairs, d_te)])
    C_SEARCH.write(run, c_table)
    TEST_PREDICTIONS.write(run, [{"path": r.path, "label": r.label, "pred": int(p), "p1": f"{q[1]:.5f}"}
                                 for r, p, q in zip(rows["test"], pred, prob)])
    _distance_figure(out / "pair_distances.png", d_te, s_te, threshold)

    test = binary_metrics(y_te, prob[:, 1], list(identities(run)))
    pair_test = binary_metrics(1 - s_te, _pair_probability(d_te, threshold, slope), ["same", "different"])
    summary = {
        "model": KIND, "backbone": BACKBONE, "seed": seed, "device": "cpu (dlib)",
        # the keys of the paper's networks (see lookalike.training): images, "who is this"
        "test_accuracy": test["accuracy"], "test": test, "test_unit": "images",
        "accuracy": test["accuracy"], "balanced_accuracy": test["balanced_accuracy"], "roc_auc": test["roc_auc"],
        "confusion_matrix": test["confusion_matrix"],
        "n_train": len(y_tr), "n_val": len(y_va), "n_test": len(y_te),
        "val_accuracy": linear.accuracy(y_va, head.predict(x_va)), "C": head.C,
        # pairs, "same or different" (class 0 = same, 1 = different, as for the Siamese network)
        "pair_accuracy": pair_test["accuracy"], "pair_balanced_accuracy": pair_test["balanced_accuracy"],
        "pair_roc_auc": pair_test["roc_auc"], "pair_test": pair_test,
        "pair_threshold": threshold, "pair_slope": slope,
        "pair_accuracy_dlib_threshold": linear.accuracy(s_te, (d_te <= DLIB_THRESHOLD).astype(np.int64)),
        "pair_accuracy_via_classifier": linear.accuracy(s_te, via_head),
        "n_val_pairs": len(val_pairs), "n_test_pairs": len(test_pairs),
        "test_pairs_source": TEST_PAIRS.pattern if saved else "drawn like the Siamese network's",
        "embed_seconds": round(embed_seconds, 2),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return BASELINE_SUMMARY.write(run, summary)


def _save_head(out: Path, head: linear.LinearHead, threshold: float, slope: float) -> None:
    import torch
    from safetensors.torch import save

    tensors = {"weight": torch.from_numpy(head.weight.astype(np.float32)).reshape(1, -1),
               "bias": torch.tensor([head.bias], dtype=torch.float32),
               "mean": torch.from_numpy(head.mean.astype(np.float32))}
    atomic_write_bytes(out / "model.safetensors", save(tensors))
    MODEL_INFO.write_at(out / "model.json", {
        "kind": KIND, "arch": {"backbone": BACKBONE, "chip_size": CHIP_SIZE, "chip_padding": CHIP_PADDING,
                               "head": "logistic", "C": head.C, "scale": head.scale, "pair_threshold": threshold,
                               "pair_slope": slope}})


def load_head(folder: Path) -> tuple[linear.LinearHead, float]:
    """The fitted head and the pair threshold of a trained baseline."""
    from safetensors.numpy import load_file

    if not (folder / "model.safetensors").exists():
        raise StageMissing(f"no trained baseline in {folder}: run `lookalike train RUN --model embedding` first")
    meta = MODEL_INFO.read_at(folder / "model.json").arch
    t = load_file(str(folder / "model.safetensors"))
    head = linear.LinearHead(weight=t["weight"].reshape(-1).astype(np.float64), bias=float(t["bias"][0]),
                             mean=t["mean"].astype(np.float64), scale=float(meta["scale"]), C=float(meta["C"]))
    return head, float(meta["pair_threshold"])


def _distance_figure(path: Path, distance: np.ndarray, same: np.ndarray, threshold: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import save_figure

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    bins = np.linspace(0, max(1.2, float(distance.max(initial=0)) + 0.05), 40)
    ax.hist(distance[same == 1], bins=bins, alpha=0.6, label="same person")
    ax.hist(distance[same == 0], bins=bins, alpha=0.6, label="different people")
    ax.axvline(threshold, color="k", lw=1.2, label=f"threshold {threshold:.3f} (from val)")
    ax.axvline(DLIB_THRESHOLD, color="gray", lw=1, ls="--", label="dlib default 0.6")
    ax.set_xlabel("embedding distance")
    ax.set_ylabel("test pairs")
    ax.set_title("Baseline: dlib ResNet embedding distance")
    ax.legend(fontsize=8)
    save_figure(path, fig)
