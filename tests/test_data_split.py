"""Split sizes, stratification and leak-freedom; near-duplicate grouping."""

from __future__ import annotations

import numpy as np

from lookalike.data.dedup import find_groups
from lookalike.data.split import assign_splits, plan_sizes


def test_paper_sizes_and_proportional_scaling():
    big = plan_sizes(4570)
    assert (big.val, big.train + big.test) == (1000, 3570)
    assert abs(big.train / big.test - 2.5) < 0.01
    assert plan_sizes(9000).val == 1000  # the paper's 1000, not a proportion, once there is enough data
    small = plan_sizes(457)
    assert small.val == 100 and "scaled" in small.message
    assert small.val + small.train + small.test == 457


def _random_groups(n: int, rng: np.random.Generator) -> np.ndarray:
    sizes = rng.integers(1, 6, size=n)  # groups of 1..5 near-duplicates
    return np.repeat(np.arange(n), sizes)[:n]


def test_groups_never_straddle_and_split_is_stratified_and_deterministic():
    rng = np.random.default_rng(1)
    groups = _random_groups(600, rng)
    labels = (groups % 3 == 0).astype(int)  # a whole group belongs to one person
    splits, plan = assign_splits(labels, groups, seed=7)
    for g in np.unique(groups):
        assert len(set(splits[groups == g])) == 1, f"group {g} straddles splits"
    for person in (0, 1):
        mine = splits[labels == person]
        val_share = np.mean(mine == "val")
        assert abs(val_share - plan.val / len(labels)) < 0.05
        assert abs(np.sum(mine == "train") / max(1, np.sum(mine == "test")) - 2.5) < 0.6
    again, _ = assign_splits(labels, groups, seed=7)
    other, _ = assign_splits(labels, groups, seed=8)
    assert (again == splits).all()
    assert (other != splits).any()


def test_find_groups_links_near_copies_transitively_and_flags_exact_copies():
    base = 0x0F0F_0F0F_0F0F_0F0F
    far = base ^ 0xFFFF_FFFF_0000_0000
    hashes = [f"{base:016x}", f"{base ^ 0b1:016x}",  # 1 bit apart: exact copy
              f"{base ^ 0b111111:016x}",  # 6 bits from the first: near-duplicate
              f"{far:016x}",  # 32 bits away: unrelated...
              f"{far ^ 0xFFF:016x}",  # ...12 bits from 3: linked only through the embedding
              f"{base ^ 0b11:016x}"]  # 2 bits from the first, but other pixels: a different face
    emb = np.eye(6, 128, dtype=np.float32)  # all 1.41 apart
    emb[1] = emb[0]  # the exact copy: same hash (nearly) and same embedding
    emb[4] = emb[3]
    emb[4, 5] = 0.1  # 3 and 4 are 0.1 apart in embedding space
    thumbs = np.full((6, 256), 100.0, np.float32)
    thumbs[2] += 10  # near-duplicate: RMS 10 <= 15
    thumbs[5, :128] = 160.0  # RMS 42: the hash alone is fooled, the pixels are not
    res = find_groups(hashes, emb, thumbs)
    g = res.group
    assert g[0] == g[1] == g[2]
    assert g[3] == g[4] != g[0]
    assert g[5] not in (g[0], g[3])
    assert res.duplicate_of.tolist() == [-1, 0, -1, -1, -1, -1]


def test_validation_size_or_share_can_be_set():
    fixed = plan_sizes(1665, val=200)
    assert fixed.val == 200 and fixed.train + fixed.test == 1465 and "as asked" in fixed.message
    assert abs(fixed.train / fixed.test - 2.5) < 0.01
    share = plan_sizes(1000, val_fraction=0.15)
    assert share.val == 150 and share.val + share.train + share.test == 1000
    assert plan_sizes(1000, val=0).val == 0  # no validation at all is allowed
    for bad in (dict(val=1000), dict(val=-1), dict(val_fraction=1.0), dict(val=10, val_fraction=0.1)):
        try:
            plan_sizes(1000, **bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")


def test_assign_splits_follows_an_asked_validation_size():
    rng = np.random.default_rng(2)
    groups = np.arange(400)  # no near-duplicates: sizes can be met exactly
    labels = (rng.random(400) < 0.5).astype(int)
    splits, plan = assign_splits(labels, groups, seed=0, val=60)
    assert plan.val == 60 and abs(int(np.sum(splits == "val")) - 60) <= 2
    assert abs(np.sum(splits == "train") - plan.train) <= 2
