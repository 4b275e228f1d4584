"""The basic CNN of §4.1: a VGG variant with 21 weight layers for 128×128 faces.

The paper gives the depth (21 weight layers), 3×3 convolutions, 2×2 pooling,
ReLU after every convolution, flatten, dense layers each followed by batch
normalisation ("thrice"), dropout 0.3 and a softmax. Our exact layer list:

  block 1:  2 × conv(w)      + pool     128 → 64
  block 2:  2 × conv(2w)     + pool      64 → 32
  block 3:  4 × conv(4w)     + pool      32 → 16
  block 4:  5 × conv(8w)     + pool      16 → 8
  block 5:  5 × conv(8w)     + pool       8 → 4
  flatten (8w·4·4) → dense(d) → BN → ReLU → dropout
                   → dense(d) → BN → ReLU → dropout
                   → dense(2) → BN → softmax (in the loss)

18 convolutions + 3 dense = 21 weight layers; w = 64 and d = 4096 for the
paper preset (VGG's widths), narrower for the fast preset. Not in the paper, and
off in the paper preset: `conv_bn=True` adds batch normalisation after each
convolution; `logit_bn=False` drops the batch norm on the two logits (it pins
their scale, so the network can never be more than about 93% sure);
`input_size` computes on a smaller copy of the face (see `Normalize`).
`temperature` divides the logits (fitted on the validation split after training).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Normalize, Temperature, conv_stack, init_weights

BLOCKS = (2, 2, 4, 5, 5)
MULT = (1, 2, 4, 8, 8)


def classifier_plan(width: int) -> list[int | str]:
    plan: list[int | str] = []
    for n, m in zip(BLOCKS, MULT):
        plan += [width * m] * n + ["P"]
    return plan


class VGGClassifier(nn.Module):
    def __init__(self, width: int = 64, dense: int = 4096, dropout: float = 0.3, num_classes: int = 2,
                 image_size: int = 128, conv_bn: bool = False, logit_bn: bool = True, input_size: int = 0,
                 temperature: float = 1.0):
        super().__init__()
        self.config = dict(width=width, dense=dense, dropout=dropout, num_classes=num_classes,
                           image_size=image_size, conv_bn=conv_bn, logit_bn=logit_bn, input_size=input_size,
                           temperature=temperature)
        self.normalize = Normalize(size=input_size if input_size != image_size else 0)
        self.features, ch = conv_stack(3, classifier_plan(width), batch_norm=conv_bn)
        side = (input_size or image_size) // 2 ** len(BLOCKS)
        if side < 1:
            raise ValueError(f"input_size {input_size} is too small for {len(BLOCKS)} poolings (need ≥ 32)")
        logits: list[nn.Module] = [nn.Linear(dense, num_classes)]
        if logit_bn:
            logits.append(nn.BatchNorm1d(num_classes))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(ch * side * side, dense), nn.BatchNorm1d(dense), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(dense, dense), nn.BatchNorm1d(dense), nn.ReLU(), nn.Dropout(dropout),
            *logits, Temperature(temperature),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N×2) for float images in [0, 1]."""
        return self.head(self.features(self.normalize(x)))
