"""A logistic-regression head on the embedding, and the plain metrics it is chosen by (ROC AUC and the rest
of a model's test metrics come from `lookalike.training.metrics`, as for the paper's networks).

L2-regularised logistic regression (the usual `C` = inverse regularisation strength), fitted by L-BFGS
in torch on the training split with balanced class weights, so a 750/940 split does not just learn the
majority person. C is picked on the validation split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)


@dataclass
class LinearHead:
    """p(label 1 | x) = sigmoid(((x − mean) / scale) · weight + bias)."""

    weight: np.ndarray  # 128
    bias: float
    mean: np.ndarray  # 128
    scale: float
    C: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.weight + self.bias

    def proba(self, x: np.ndarray) -> np.ndarray:
        """N×2 probabilities over (label 0, label 1)."""
        p1 = 1.0 / (1.0 + np.exp(-self.logit(x)))
        return np.stack([1.0 - p1, p1], axis=1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.logit(x) > 0).astype(np.int64)


def fit_logistic(x: np.ndarray, y: np.ndarray, C: float, max_iter: int = 200) -> LinearHead:
    """Minimise Σ_i w_i·BCE_i + ||w||² / (2C), class-balanced w_i (sklearn's convention)."""
    y = np.asarray(y, np.int64)
    if len(np.unique(y)) < 2:
        raise ValueError("the training split holds only one person; both are needed to fit a classifier")
    mean = x.mean(axis=0)
    scale = float(np.sqrt(((x - mean) ** 2).sum(axis=1).mean())) or 1.0  # unit mean squared norm
    xt = torch.from_numpy(((x - mean) / scale).astype(np.float64))
    yt = torch.from_numpy(y.astype(np.float64))
    counts = np.bincount(y, minlength=2).astype(np.float64)
    sample_w = torch.from_numpy(len(y) / (2.0 * counts[y]))
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = xt @ w + b
        loss = (sample_w * torch.nn.functional.binary_cross_entropy_with_logits(
            logits, yt, reduction="none")).sum() + (w * w).sum() / (2.0 * C)
        loss.backward()
        return loss

    opt.step(closure)
    return LinearHead(weight=w.detach().numpy().copy(), bias=float(b.detach()), mean=mean.astype(np.float64),
                      scale=scale, C=float(C))


def choose_C(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
             grid: tuple[float, ...] = C_GRID) -> tuple[LinearHead, list[dict[str, float]]]:
    """Fit one head per C on train; keep the best validation balanced accuracy (ties: lower log-loss)."""
    table, best, best_key = [], None, None
    for C in grid:
        head = fit_logistic(x_train, y_train, C)
        p = np.clip(head.proba(x_val)[np.arange(len(y_val)), y_val], 1e-12, 1.0)
        row = {"C": C, "val_balanced_accuracy": balanced_accuracy(y_val, head.predict(x_val)),
               "val_log_loss": float(-np.log(p).mean())}
        table.append(row)
        key = (row["val_balanced_accuracy"], -row["val_log_loss"])
        if best_key is None or key > best_key:
            best, best_key = head, key
    assert best is not None
    return best, table


# metrics ---------------------------------------------------------------------------------------------

def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    y, pred = np.asarray(y), np.asarray(pred)
    return float((y == pred).mean()) if len(y) else float("nan")


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean of per-class recalls (classes absent from `y` are left out)."""
    y, pred = np.asarray(y), np.asarray(pred)
    recalls = [float((pred[y == c] == c).mean()) for c in np.unique(y)]
    return float(np.mean(recalls)) if recalls else float("nan")


def confusion_matrix(y: np.ndarray, pred: np.ndarray, n_classes: int = 2) -> list[list[int]]:
    """Rows are the true class, columns the predicted one."""
    m = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(m, (np.asarray(y, np.int64), np.asarray(pred, np.int64)), 1)
    return m.tolist()


def best_threshold(distance: np.ndarray, same: np.ndarray) -> float:
    """The distance cut (same ⇔ distance ≤ t) with the highest accuracy on these pairs; midpoints between
    sorted distances, so the threshold does not sit exactly on a validation example."""
    d, s = np.asarray(distance, np.float64), np.asarray(same).astype(bool)
    order = np.argsort(d)
    d_sorted, s_sorted = d[order], s[order]
    # accuracy when the first k pairs (smallest distances) are called "same"
    correct = np.concatenate([[0], np.cumsum(s_sorted)]) + (
        (~s_sorted).sum() - np.concatenate([[0], np.cumsum(~s_sorted)]))
    k = int(np.argmax(correct))
    if k == 0:
        return float(d_sorted[0] - 1e-6)
    if k == len(d_sorted):
        return float(d_sorted[-1] + 1e-6)
    return float((d_sorted[k - 1] + d_sorted[k]) / 2)
