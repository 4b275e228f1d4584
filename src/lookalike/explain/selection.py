"""Which test faces get explained: balanced over the two people, fixed by the seed.

Siamese: half the pairs show one person twice (target "same", alternating the
person), half show both people (target "different"), as in Figure 7. When
training saved its fixed test pairs (`models/siamese/test_pairs.csv`) we draw
from those, so the maps explain the pairs the accuracy was measured on.
Classifier: single faces, half of each person, target = the true person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.dataset import load_split
from ..io import read_csv
from ..models.siamese import DIFFERENT, SAME
from ..runfolder import Run


@dataclass
class Selection:
    """What one model is asked to explain: `inputs` (one tensor per network input) and targets."""

    kind: str
    inputs: tuple[torch.Tensor, ...]  # float [0, 1], N×3×128×128 each
    target: torch.Tensor  # N class indices
    paths: list[tuple[str, ...]]  # per unit: one path (classifier) or two (pair)
    labels: list[tuple[int, ...]]  # identity label of each image

    def __len__(self) -> int:
        return int(self.target.shape[0])

    def flat_paths(self) -> list[str]:
        return [p for unit in self.paths for p in unit]


def _balanced(indices: list[list[int]], n: int, rng: np.random.Generator) -> list[int]:
    """Alternate between the lists (after shuffling each) until n are taken or all run out."""
    pools = [list(rng.permutation(ix)) for ix in indices]
    out: list[int] = []
    while len(out) < n and any(pools):
        for pool in pools:
            if pool and len(out) < n:
                out.append(int(pool.pop()))
    return out


def select_images(run: Run, n: int, seed: int) -> Selection:
    test = load_split(run, "test")
    if len(test) == 0:
        raise SystemExit(f"the test split in {run.split_csv} is empty: nothing to explain")
    rng = np.random.default_rng(seed)
    labels = test.labels.numpy()
    pick = _balanced([np.flatnonzero(labels == c).tolist() for c in (0, 1)], n, rng)
    x = test.images[pick].float().div_(255.0)
    return Selection("classifier", (x,), test.labels[pick].clone(), [(test.paths[i],) for i in pick],
                     [(int(labels[i]),) for i in pick])


def select_pairs(run: Run, n: int, seed: int) -> Selection:
    test = load_split(run, "test")
    labels = test.labels.numpy()
    by_class = [np.flatnonzero(labels == c) for c in (0, 1)]
    if min(len(by_class[0]), len(by_class[1])) < 2:
        raise SystemExit("explaining the Siamese network needs at least two test images of each person")
    rng = np.random.default_rng(seed)
    index = {p: i for i, p in enumerate(test.paths)}
    n_same, n_diff = (n + 1) // 2, n // 2
    saved = run.model("siamese") / "test_pairs.csv"
    saved_same: list[list[tuple[int, int]]] = [[], []]  # by person
    diff_pairs: list[tuple[int, int]] = []
    if saved.exists():
        rows = [r for r in read_csv(saved) if r.get("a") in index and r.get("b") in index]
        for r in (rows[i] for i in rng.permutation(len(rows))):
            pair = (index[r["a"]], index[r["b"]])
            if int(r["same"]):
                saved_same[int(labels[pair[0]])].append(pair)
            elif len(diff_pairs) < n_diff:
                diff_pairs.append(pair)
    same_pairs: list[tuple[int, int]] = []
    while len(same_pairs) < n_same:  # alternate the person: a pair of person 0, then of person 1, …
        person = len(same_pairs) % 2
        if saved_same[person]:
            same_pairs.append(saved_same[person].pop())
        else:
            a, b = rng.choice(by_class[person], size=2, replace=False)
            same_pairs.append((int(a), int(b)))
    while len(diff_pairs) < n_diff:
        a, b = int(rng.choice(by_class[0])), int(rng.choice(by_class[1]))
        diff_pairs.append((a, b) if rng.random() < 0.5 else (b, a))
    pairs = same_pairs + diff_pairs
    target = torch.tensor([SAME] * len(same_pairs) + [DIFFERENT] * len(diff_pairs), dtype=torch.long)
    ia = [a for a, _ in pairs]
    ib = [b for _, b in pairs]
    xa = test.images[ia].float().div_(255.0)
    xb = test.images[ib].float().div_(255.0)
    return Selection("siamese", (xa, xb), target, [(test.paths[a], test.paths[b]) for a, b in pairs],
                     [(int(labels[a]), int(labels[b])) for a, b in pairs])


def select(run: Run, kind: str, n: int, seed: int) -> Selection:
    if n < 1:
        raise SystemExit("--n must be at least 1")
    return select_pairs(run, n, seed) if kind == "siamese" else select_images(run, n, seed)


def region_tensors(run: Run, sel: Selection) -> tuple[torch.Tensor, ...]:
    """The named face regions of every selected image, from its landmarks (for the region test)."""
    from ..data.dataset import load_landmarks
    from ..regions.masks import LabelCache

    cache = LabelCache()
    out = []
    for side in range(len(sel.inputs)):
        landmarks = load_landmarks(run, [unit[side] for unit in sel.paths])
        out.append(torch.from_numpy(np.stack([cache(lm) for lm in landmarks]).astype(np.int64)))
    return tuple(out)
