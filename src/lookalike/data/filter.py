"""The paper's identity filter (§3 step 4a): a 3-layer network, softmax over {A, B, other}.

It runs on 128-d dlib ResNet embeddings. Training faces are those whose label
we trust (the only face of a photo in that person's folder; `other/` and the
extra faces of group photos as "other"). Every training face is scored by a
network that did not see it (k-fold, out-of-fold), otherwise a mislabelled
training face would always pass its own filter. When there is no "other"
material at all the third output is trained with no examples and only A vs B
is learnt; the summary says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

OTHER = 2  # class index of "other"


@dataclass
class FilterReport:
    scores: np.ndarray  # N×3 softmax (A, B, other)
    n_train: list[int]  # training faces per class
    folds: int
    train_accuracy: float  # out-of-fold accuracy on the training faces
    note: str


def _net(hidden: tuple[int, int] = (64, 32)):
    import torch.nn as nn

    return nn.Sequential(nn.Linear(128, hidden[0]), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
                         nn.Linear(hidden[1], 3))


def _fit(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 200):
    """Full-batch Adam with class weights (the classes are unbalanced; the paper's filter was skewed)."""
    import torch

    torch.manual_seed(seed)
    net = _net()
    counts = np.bincount(y, minlength=3).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / (counts > 0).sum(), 0.0)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    net.train()
    for _ in range(epochs):
        opt.zero_grad()
        loss_fn(net(xt), yt).backward()
        opt.step()
    net.eval()
    return net


def _predict(net, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(x.astype(np.float32))), dim=1).numpy()


def run_filter(emb: np.ndarray, train_label: np.ndarray, seed: int = 0, folds: int = 5) -> FilterReport:
    """Scores for every face. `train_label[i]` is 0/1/2 for trusted faces and -1 for faces to judge."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 128-64-32-3 net: threads cost more than they save
    try:
        return _run_filter(emb, train_label, seed, folds)
    finally:
        torch.set_num_threads(threads)  # the demo trains the big networks next, in this same process


def _run_filter(emb: np.ndarray, train_label: np.ndarray, seed: int, folds: int) -> FilterReport:
    train = np.flatnonzero(train_label >= 0)
    y = train_label[train]
    counts = np.bincount(y, minlength=3)
    if counts[0] == 0 or counts[1] == 0:
        raise InputError("the filter needs at least one trusted face (the only face of a photo in its folder) "
                         "of each person; use --no-filter to skip it")
    note = "trained on A, B and other"
    if counts[OTHER] == 0:
        note = ("no 'other' material (no other/ folder, no group photos): the filter only learnt A vs B, "
                "so faces of strangers are not caught by it; add an other/ folder to catch them")
    scores = np.zeros((len(emb), 3), np.float32)
    full = _fit(emb[train], y, seed)
    rest = np.flatnonzero(train_label < 0)
    if len(rest):
        scores[rest] = _predict(full, emb[rest])
    k = int(min(folds, max(2, counts[counts > 0].min())))
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(train), np.int64)
    for c in range(3):  # stratified folds
        idx = np.flatnonzero(y == c)
        fold_of[idx] = rng.permutation(len(idx)) % k
    for f in range(k):
        held = fold_of == f
        if held.all():
            scores[train[held]] = _predict(full, emb[train[held]])
            continue
        net = _fit(emb[train[~held]], y[~held], seed + f + 1)
        scores[train[held]] = _predict(net, emb[train[held]])
    acc = float((scores[train].argmax(1) == y).mean()) if len(train) else float("nan")
    return FilterReport(scores, [int(c) for c in counts], k, acc, note)
