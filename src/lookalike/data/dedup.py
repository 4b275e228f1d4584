"""Near-duplicate groups: the same still twice, resized copies, frames of one scene.

Aligned faces all look alike to a perceptual hash (distinct synthetic faces
come within 8 bits of each other), so a hash match alone is not enough. Two
faces are linked when their 64-bit pHashes are within `hash_radius` bits AND
their 16×16 gray thumbnails differ by at most `thumb_radius` (RMS, 0-255), or
when their dlib embeddings are closer than `embed_radius` (different photos of
one person are typically 0.35-0.6 apart; copies and frames of one shot below
0.25) and the hashes are at least loosely alike. Links are closed transitively
with union-find, so a chain of frames becomes one group; the split keeps each
group whole. Practically identical pairs (`EXACT_*`) are reported so that only
one copy is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HASH_RADIUS = 8
THUMB_RADIUS = 15.0
EMBED_RADIUS = 0.25
EMBED_HASH_RADIUS = 16
EXACT_HASH = 2
EXACT_THUMB = 4.0
EXACT_EMBED = 0.1


class UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the smallest index is the root: deterministic


@dataclass
class DedupResult:
    group: np.ndarray  # N group index (root face index)
    duplicate_of: np.ndarray  # N: index of the kept copy, or -1


def hash_bits(hashes: list[str]) -> np.ndarray:
    """N×64 bool matrix of pHash bits."""
    out = np.zeros((len(hashes), 64), bool)
    for i, h in enumerate(hashes):
        out[i] = np.unpackbits(np.frombuffer(bytes.fromhex(h.rjust(16, "0")), np.uint8)).astype(bool)
    return out


def thumbnail(crop: np.ndarray) -> np.ndarray:
    """16×16 gray thumbnail (256 floats): the pixel-level check beside the hash."""
    from PIL import Image

    gray = Image.fromarray(np.ascontiguousarray(crop)).convert("L").resize((16, 16), Image.BILINEAR)
    return np.asarray(gray, np.float32).ravel()


def find_groups(hashes: list[str], embeddings: np.ndarray | None, thumbs: np.ndarray | None = None,
                hash_radius: int = HASH_RADIUS, thumb_radius: float = THUMB_RADIUS,
                embed_radius: float = EMBED_RADIUS, block: int = 512) -> DedupResult:
    """Group near-duplicates among N faces (blockwise, so memory stays O(block × N)).

    Without `thumbs` the hash alone decides (only sensible for unaligned images)."""
    n = len(hashes)
    uf = UnionFind(n)
    duplicate_of = np.full(n, -1, np.int64)
    if n == 0:
        return DedupResult(np.zeros(0, np.int64), duplicate_of)
    bits = hash_bits(hashes).astype(np.float32)
    ones = bits.sum(1)
    emb = None if embeddings is None else np.asarray(embeddings, np.float32)
    sq = None if emb is None else (emb**2).sum(1)
    th = None if thumbs is None else np.asarray(thumbs, np.float32)
    tsq = None if th is None else (th**2).sum(1)
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        # hamming = |a| + |b| - 2 a·b for 0/1 vectors
        ham = ones[rows, None] + ones[None, :] - 2 * bits[rows] @ bits.T
        link = ham <= hash_radius
        exact = ham <= EXACT_HASH
        if th is not None:
            rms = np.sqrt(np.maximum(tsq[rows, None] + tsq[None, :] - 2 * th[rows] @ th.T, 0) / th.shape[1])
            link &= rms <= thumb_radius
            exact &= rms <= EXACT_THUMB
        if emb is not None:
            dist = np.sqrt(np.maximum(sq[rows, None] + sq[None, :] - 2 * emb[rows] @ emb.T, 0))
            link |= (dist < embed_radius) & (ham <= EMBED_HASH_RADIUS)
            exact &= dist < EXACT_EMBED
        for i, j in zip(*np.nonzero(link)):
            gi = start + int(i)
            if gi < j:
                uf.union(gi, int(j))
        for i, j in zip(*np.nonzero(exact)):
            gi = start + int(i)
            if gi > j and duplicate_of[gi] < 0:
                duplicate_of[gi] = int(j)  # keep the earliest copy
    # a copy of a copy points at the first kept one
    for i in range(n):
        j = duplicate_of[i]
        while j >= 0 and duplicate_of[j] >= 0:
            j = duplicate_of[j]
        duplicate_of[i] = j
    group = np.array([uf.find(i) for i in range(n)], np.int64)
    return DedupResult(group, duplicate_of)
