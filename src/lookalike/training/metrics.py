"""Test metrics for a two-class problem: accuracy, balanced accuracy, ROC AUC, confusion matrix."""

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
        "confusion_matrix": confusion.tolist(),
        "confusion_labels": {"rows": "truth", "columns": "predicted", "classes": list(class_names)},
    }
