"""Which test faces get explained: balanced over the two people, fixed by the seed.

Siamese: half the pairs show one person twice (target "same", alternating the
person), half show both people (target "different"), as in Figure 7. When
training saved its fixed test pairs (`models/siamese/test_pairs.csv`) we draw
from those first, so the maps explain the pairs the accuracy was measured on,
then from pairs drawn by `lookalike.pairs.make_pairs`.
Classifier: single faces, half of each person, target = the true person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.dataset import load_split
from ..errors import InputError, SettingError
from ..models.siamese import DIFFERENT, SAME
from ..pairs import make_pairs, pair_indices, saved_test_pairs
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
        raise InputError(f"the test split in {run.split_csv} is empty: nothing to explain")
    rng = np.random.default_rng(seed)
    labels = test.labels.numpy()
    pick = _balanced([np.flatnonzero(labels == c).tolist() for c in (0, 1)], n, rng)
    x = test.images[pick].float().div_(255.0)
    return Selection("classifier", (x,), test.labels[pick].clone(), [(test.paths[i],) for i in pick],
                     [(int(labels[i]),) for i in pick])


def _pair_pool(run: Run, labels: np.ndarray, paths: list[str], n: int, seed: int) -> list[tuple[int, int, int]]:
    """Pairs to choose from: the network's saved test pairs in a seeded order, then freshly drawn ones."""
    rng = np.random.default_rng(seed)
    saved = pair_indices(saved_test_pairs(run), paths)
    drawn = make_pairs(torch.from_numpy(labels), 4 * n + 4, seed)
    return [saved[i] for i in rng.permutation(len(saved))] + list(zip(*(t.tolist() for t in drawn)))


def select_pairs(run: Run, n: int, seed: int) -> Selection:
    test = load_split(run, "test")
    labels = test.labels.numpy()
    if min(int((labels == c).sum()) for c in (0, 1)) < 2:
        raise InputError("explaining the Siamese network needs at least two test images of each person")
    n_same, n_diff = (n + 1) // 2, n // 2
    same_by_person: list[list[tuple[int, int]]] = [[], []]
    diff_pairs: list[tuple[int, int]] = []
    for a, b, same in _pair_pool(run, labels, test.paths, n, seed):
        if same:
            same_by_person[int(labels[a])].append((a, b))
        elif len(diff_pairs) < n_diff:
            diff_pairs.append((a, b))
    same_pairs = [same_by_person[k % 2].pop(0) for k in range(n_same)]  # alternate the person: 0, 1, 0, …
    pairs = same_pairs + diff_pairs
    target = torch.tensor([SAME] * len(same_pairs) + [DIFFERENT] * len(diff_pairs), dtype=torch.long)
    xa = test.images[[a for a, _ in pairs]].float().div_(255.0)
    xb = test.images[[b for _, b in pairs]].float().div_(255.0)
    return Selection("siamese", (xa, xb), target, [(test.paths[a], test.paths[b]) for a, b in pairs],
                     [(int(labels[a]), int(labels[b])) for a, b in pairs])


def select(run: Run, kind: str, n: int, seed: int) -> Selection:
    if n < 1:
        raise SettingError("--n must be at least 1")
    return select_pairs(run, n, seed) if kind == "siamese" else select_images(run, n, seed)


def region_tensors(run: Run, sel: Selection) -> tuple[torch.Tensor, ...]:
    """The named face regions of every selected image, from its landmarks (for the region test)."""
    from ..data.dataset import load_landmarks
    from ..face.regions import LabelCache

    cache = LabelCache()
    out = []
    for side in range(len(sel.inputs)):
        landmarks = load_landmarks(run, [unit[side] for unit in sel.paths])
        out.append(torch.from_numpy(np.stack([cache(lm) for lm in landmarks]).astype(np.int64)))
    return tuple(out)
