"""Test metrics for a two-class problem: accuracy, balanced accuracy, ROC AUC, confusion matrix, and
calibration (expected calibration error, temperature scaling)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve via the Mann-Whitney rank statistic (ties count half); NaN if one class."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive).astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_metrics(truth: np.ndarray, prob_class1: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Metrics for labels in {0, 1} and the predicted probability of class 1 (threshold 0.5)."""
    truth = np.asarray(truth).astype(int)
    prob = np.asarray(prob_class1, dtype=np.float64)
    pred = (prob >= 0.5).astype(int)
    confusion = np.zeros((2, 2), dtype=int)
    np.add.at(confusion, (truth, pred), 1)
    recalls = [confusion[c, c] / confusion[c].sum() for c in (0, 1) if confusion[c].sum() > 0]
    return {
        "n": int(len(truth)),
        "accuracy": float((pred == truth).mean()) if len(truth) else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else float("nan"),
        "roc_auc": roc_auc(prob, truth == 1),
        "ece": expected_calibration_error(truth, prob),
        "confusion_matrix": confusion.tolist(),
        "confusion_labels": {"rows": "truth", "columns": "predicted", "classes": list(class_names)},
    }


def expected_calibration_error(truth: np.ndarray, prob_class1: np.ndarray, n_bins: int = 15) -> float:
    """ECE: the gap between how sure the network is and how often it is right, averaged over `n_bins`
    equal-width bins of confidence (the probability of the predicted class), weighted by bin size."""
    truth = np.asarray(truth).astype(int)
    prob = np.asarray(prob_class1, dtype=np.float64)
    if len(truth) == 0:
        return float("nan")
    pred = (prob >= 0.5).astype(int)
    confidence = np.where(pred == 1, prob, 1.0 - prob)
    correct = (pred == truth).astype(np.float64)
    # bins (k/n, (k+1)/n]; a confidence of exactly 0 would fall in the first bin
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    gap = 0.0
    for k in np.unique(bins):
        member = bins == k
        gap += member.sum() * abs(correct[member].mean() - confidence[member].mean())
    return float(gap / len(truth))


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """Temperature scaling (Guo et al. 2017): the T > 0 that minimises the negative log-likelihood of
    softmax(logits / T) on held-out data; it changes how sure the network is, never what it answers."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits = np.asarray(logits, dtype=np.float64)
    truth = np.asarray(truth).astype(int)
    rows = np.arange(len(truth))

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[rows, truth].mean())

    best = minimize_scalar(nll, bounds=(np.log(0.02), np.log(50.0)), method="bounded")
    return float(np.exp(best.x))
