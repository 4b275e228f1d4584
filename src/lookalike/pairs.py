"""Same/different pairs of faces: the one generator and the one reader every stage uses.

The Siamese network trains and is tested on them (§4.3), the baseline is scored
on the same test pairs, and the fooling and explain stages draw from them.

Half the pairs show one person twice (anchors drawn equally from both people, so
the larger class does not dominate), half show the two people (in random
order). A "same" pair avoids two images of one near-duplicate group when the
split allows, so the network cannot win by spotting the same still twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .contract import TEST_PAIRS, Pair
from .errors import InputError
from .runfolder import Run


def make_pairs(labels: torch.Tensor, n_pairs: int, seed: int,
               groups: Sequence[str] | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Indices `a`, `b` and `same` (1 = one person) of `n_pairs` balanced pairs (n_pairs rounded to even)."""
    labels = torch.as_tensor(labels).long()
    by_class = [torch.nonzero(labels == c).flatten() for c in (0, 1)]
    if min(len(by_class[0]), len(by_class[1])) < 2:
        raise InputError("pairs need at least two images of each person in the split")
    gen = torch.Generator().manual_seed(int(seed))
    n_same = n_pairs // 2
    n_diff = n_pairs - n_same
    group_ids = None
    if groups is not None:
        lookup: dict[str, int] = {}
        group_ids = torch.tensor([lookup.setdefault(g, len(lookup)) for g in groups])

    a_same, b_same = [], []
    for k in range(n_same):
        pool = by_class[k % 2]
        i, j = _draw_two(pool, gen)
        if group_ids is not None and group_ids[i] == group_ids[j]:
            for _ in range(8):  # a few retries for a partner from another near-duplicate group
                i2, j2 = _draw_two(pool, gen)
                if group_ids[i2] != group_ids[j2]:
                    i, j = i2, j2
                    break
        a_same.append(i)
        b_same.append(j)
    i0 = by_class[0][torch.randint(len(by_class[0]), (n_diff,), generator=gen)]
    i1 = by_class[1][torch.randint(len(by_class[1]), (n_diff,), generator=gen)]
    swap = torch.rand(n_diff, generator=gen) < 0.5
    a_diff = torch.where(swap, i1, i0)
    b_diff = torch.where(swap, i0, i1)

    a = torch.cat([torch.tensor(a_same, dtype=torch.long), a_diff])
    b = torch.cat([torch.tensor(b_same, dtype=torch.long), b_diff])
    same = torch.cat([torch.ones(n_same, dtype=torch.long), torch.zeros(n_diff, dtype=torch.long)])
    order = torch.randperm(len(a), generator=gen)
    return a[order], b[order], same[order]


def _draw_two(pool: torch.Tensor, gen: torch.Generator) -> tuple[int, int]:
    i = int(torch.randint(len(pool), (1,), generator=gen))
    j = int(torch.randint(len(pool) - 1, (1,), generator=gen))
    j = j + 1 if j >= i else j
    return int(pool[i]), int(pool[j])


def pair_count(requested: int, n_images: int) -> int:
    """The paper's 2000 test pairs, fewer when the split is small (at most two pairs per image), even."""
    n = min(int(requested), 2 * int(n_images))
    return max(2, n - n % 2)


def write_test_pairs(run: Run, paths: Sequence[str], a: torch.Tensor, b: torch.Tensor, same: torch.Tensor) -> None:
    """models/siamese/test_pairs.csv: the fixed test pairs, as data paths."""
    TEST_PAIRS.write(run, [Pair(a=paths[int(i)], b=paths[int(j)], same=int(s)) for i, j, s in zip(a, b, same)])


def saved_test_pairs(run: Run) -> list[Pair]:
    """The Siamese network's fixed test pairs, or none when it has not been trained."""
    return TEST_PAIRS.read(run) if TEST_PAIRS.exists(run) else []


def pair_indices(pairs: Sequence[Pair], paths: Sequence[str], strict: bool = False) -> list[tuple[int, int, int]]:
    """(index of a, index of b, same) into `paths`; pairs naming other images are left out, or refused if strict."""
    index = {p: k for k, p in enumerate(paths)}
    missing = [p for pair in pairs for p in (pair.a, pair.b) if p not in index]
    if strict and missing:
        raise InputError(f"{TEST_PAIRS.pattern} names {len(missing)} images that are not in the split, "
                         f"e.g. {missing[0]}")
    return [(index[p.a], index[p.b], int(p.same)) for p in pairs if p.a in index and p.b in index]


def as_tensors(pairs: Sequence[tuple[int, int, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    a, b, same = zip(*pairs) if pairs else ((), (), ())
    return (torch.tensor(a, dtype=torch.long), torch.tensor(b, dtype=torch.long),
            torch.tensor(same, dtype=torch.long))
