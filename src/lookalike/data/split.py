"""Train/val/test split (paper §3): 1000 validation images, the rest 2.5 : 1 train : test.

Smaller data sets keep the paper's proportions (1000 of 4570 for validation), unless
the user sets the validation size (`--val N`) or share (`--val-fraction F`).
The split is stratified by person and assigns whole near-duplicate groups, so
no group straddles two splits; it is a pure function of the faces and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAPER_TOTAL = 4570
PAPER_VAL = 1000
TRAIN_TO_TEST = 2.5


@dataclass
class SplitPlan:
    val: int
    train: int
    test: int
    message: str


def plan_sizes(n: int, val: int | None = None, val_fraction: float | None = None) -> SplitPlan:
    """Target sizes: `val` faces (or the share `val_fraction`) for validation when given, else the paper's
    1000 when there is enough data and the same proportion below; the rest 2.5 : 1 train : test."""
    if val is not None and val_fraction is not None:
        raise ValueError("give the validation size or its share, not both")
    if val is not None:
        if not 0 <= val < n:
            raise ValueError(f"--val {val} leaves no faces to train and test on ({n} faces)")
        msg = f"{val} validation faces (as asked), the remaining {n - val} split 2.5:1 train:test"
    elif val_fraction is not None:
        if not 0 <= val_fraction < 1:
            raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")
        val = int(round(n * val_fraction))
        msg = (f"{val} validation faces ({100 * val_fraction:.1f}% as asked), the remaining {n - val} "
               "split 2.5:1 train:test")
    elif n >= PAPER_TOTAL:
        val = PAPER_VAL
        msg = f"paper split: {PAPER_VAL} validation, the remaining {n - PAPER_VAL} split 2.5:1 train:test"
    else:
        val = int(round(n * PAPER_VAL / PAPER_TOTAL))
        msg = (f"only {n} faces (the paper had {PAPER_TOTAL}): validation scaled proportionally to {val} "
               f"({100 * PAPER_VAL / PAPER_TOTAL:.1f}%), the rest split 2.5:1 train:test")
    rest = n - val
    train = int(round(rest * TRAIN_TO_TEST / (TRAIN_TO_TEST + 1)))
    return SplitPlan(val, train, rest - train, msg)


def assign_splits(labels: np.ndarray, groups: np.ndarray, seed: int = 0, val: int | None = None,
                  val_fraction: float | None = None) -> tuple[np.ndarray, SplitPlan]:
    """Return a split name per face ('train'|'val'|'test') and the plan it followed.

    Groups are given to the person of their majority; within each person, groups
    are visited in a seeded random order (largest first) and each goes to the split
    furthest below its target, which keeps every split close to its share.
    """
    n = len(labels)
    plan = plan_sizes(n, val, val_fraction)
    names = ("train", "val", "test")
    share = np.array([plan.train, plan.val, plan.test], np.float64) / max(n, 1)
    out = np.empty(n, dtype=object)
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    members = {g: np.flatnonzero(groups == g) for g in uniq}
    owner = {g: int(np.bincount(labels[m]).argmax()) for g, m in members.items()}
    for person in sorted(set(owner.values())):
        gs = [g for g in uniq if owner[g] == person]
        order = rng.permutation(len(gs))
        gs = sorted((gs[i] for i in order), key=lambda g: -len(members[g]))  # stable: ties keep random order
        total = sum(len(members[g]) for g in gs)
        target = share * total
        have = np.zeros(3)
        for g in gs:
            k = int(np.argmax(target - have))
            out[members[g]] = names[k]
            have[k] += len(members[g])
    return out.astype(str), plan
