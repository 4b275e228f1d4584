"""The 3-layer identity filter: learns A/B/other, and scores training faces out of fold."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.data.filter import run_filter
from lookalike.errors import LookalikeError


def _clusters(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(size=(3, 128)).astype(np.float32) * 0.1
    labels = np.repeat(np.arange(3), n)
    emb = centres[labels] + rng.normal(scale=0.02, size=(3 * n, 128)).astype(np.float32)
    return emb, labels


def test_filter_accepts_the_people_and_catches_a_mislabelled_training_face():
    import torch

    rng = np.random.default_rng(0)
    emb, labels = _clusters(rng, 30)
    trusted = labels.copy()
    trusted[5] = 1  # a face of A filed under B: out-of-fold scoring must not vouch for it
    trusted[-10:] = -1  # faces to judge: 10 strangers
    threads = torch.get_num_threads()
    report = run_filter(emb, trusted, seed=0)
    assert torch.get_num_threads() == threads, "the filter must not leave torch single-threaded"
    s = report.scores
    assert np.allclose(s.sum(1), 1, atol=1e-5)
    good = [i for i in range(60) if i != 5]
    assert (s[good, labels[good]] >= 0.9).mean() > 0.95
    assert s[5, 1] < 0.5, "the mislabelled face is not accepted as B"
    assert (s[-10:, 2] > 0.9).all(), "strangers look like 'other'"
    assert report.n_train == [29, 31, 20] and report.note == "trained on A, B and other"


def test_without_other_material_the_filter_says_so_and_needs_both_people():
    rng = np.random.default_rng(1)
    emb, labels = _clusters(rng, 12)
    ab = labels < 2
    report = run_filter(emb[ab], labels[ab], seed=0)
    assert "no 'other' material" in report.note and report.n_train[2] == 0
    with pytest.raises(LookalikeError, match="each person"):
        run_filter(emb[labels == 0], labels[labels == 0], seed=0)
