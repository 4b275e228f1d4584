"""The Siamese CNN of §4.3 (Figure 6) and its loss L = L+ + L−.

Branch (shared weights), 10 convolutions:
  2 × conv(w) + pool, then 4 × [2 × conv(2w) + pool]      128 → 4
  global average pooling → feature vector of 2w
Join: the first dense layer sees [|a − b|, a ⊙ b] (symmetric in the two
images), dense(h) → ReLU → dropout → dense(2); softmax over {same, different}.
w = 64 (so 2 layers of 64 and 8 of 128 filters, as in the paper).
`embedding_size` is the length of the branch output (2w), for probes trained on it.
Not in the paper: `conv_bn` (batch norm after each convolution), `input_size`
(compute on a smaller copy of the face, see `Normalize`) and `temperature`
(divides the logits; fitted on the validation split after training).
Class 0 is "same", class 1 is "different".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import Normalize, Temperature, conv_stack, init_weights

SAME, DIFFERENT = 0, 1


def branch_plan(width: int) -> list[int | str]:
    return [width, width, "P"] + [2 * width, 2 * width, "P"] * 4


class SiameseNet(nn.Module):
    def __init__(self, width: int = 64, hidden: int = 256, dropout: float = 0.3, image_size: int = 128,
                 conv_bn: bool = False, input_size: int = 0, temperature: float = 1.0):
        super().__init__()
        self.config = dict(width=width, hidden=hidden, dropout=dropout, image_size=image_size, conv_bn=conv_bn,
                           input_size=input_size, temperature=temperature)
        self.normalize = Normalize(size=input_size if input_size != image_size else 0)
        self.features, ch = conv_stack(3, branch_plan(width), batch_norm=conv_bn)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.embedding_size = ch
        self.head = nn.Sequential(
            nn.Linear(2 * ch, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 2),
            Temperature(temperature),
        )
        init_weights(self)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(self.normalize(x))).flatten(1)

    def compare(self, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
        """Pair logits from two rows of embeddings, joined symmetrically in the first dense layer."""
        return self.head(torch.cat([(fa - fb).abs(), fa * fb], dim=1))

    def forward(self, a: torch.Tensor, b: torch.Tensor | None = None, with_embeddings: bool = False):
        """Logits (N×2) over {same, different} for two batches of images in [0, 1]; with
        `with_embeddings` also the two branch outputs (the trainer's identity warm-up reads them).

        With `b=None` every pair of the faces in `a` is compared instead (rows in the order of
        `torch.triu_indices(n, n, 1)`), each face embedded once; `with_embeddings` then returns the one
        embedding per face. (The trainer's in-batch pairs go through `forward` so DDP sees them.)"""
        if b is None:
            f = self.embed(a)
            i, j = torch.triu_indices(len(f), len(f), offset=1, device=f.device)
            logits = self.compare(f[i], f[j])
            return (logits, f) if with_embeddings else logits
        fa, fb = self.embed(a), self.embed(b)
        logits = self.compare(fa, fb)
        return (logits, fa, fb) if with_embeddings else logits


def siamese_loss(logits: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """L = L+ + L−: binary cross-entropy over the positive pairs and over the negative pairs, each
    averaged within its own group, then summed (a batch without one kind contributes 0 for it).

    `same` is 1 for a pair of one person, 0 for a pair of two people.
    """
    log_p = F.log_softmax(logits.float(), dim=1)
    pos = same.bool()
    zero = logits.new_zeros((), dtype=torch.float32)
    l_pos = -log_p[pos, SAME].mean() if pos.any() else zero
    l_neg = -log_p[~pos, DIFFERENT].mean() if (~pos).any() else zero
    return l_pos + l_neg
