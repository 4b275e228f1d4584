"""Give every network the same face for attribution: `forward(*images) -> logits`.

Captum hooks modules (guided backprop replaces ReLU gradients, Grad-CAM
records one layer's activations). The Siamese network runs one branch twice,
so a hook on the shared last convolution would see both images mixed up.
`UnsharedSiamese` copies the branch so each image has its own modules (with
identical weights), which lets every method attribute to each image separately.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..models.layers import last_conv
from ..models.siamese import SiameseNet


class UnsharedSiamese(nn.Module):
    """The same function as `SiameseNet.forward(a, b)`, with branch b a weight-identical copy of branch a."""

    def __init__(self, net: SiameseNet):
        super().__init__()
        self.normalize = net.normalize
        self.features_a = net.features
        self.features_b = copy.deepcopy(net.features)
        self.pool = net.pool
        self.head = net.head

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa = self.pool(self.features_a(self.normalize(a))).flatten(1)
        fb = self.pool(self.features_b(self.normalize(b))).flatten(1)
        return self.head(torch.cat([(fa - fb).abs(), fa * fb], dim=1))


class Explainable(nn.Module):
    """A network plus what attribution needs to know about it.

    `n_inputs` is 1 for the classifier and 2 for a Siamese pair; `gradcam_layers`
    holds one last-convolution layer per input (Grad-CAM's layer).
    """

    def __init__(self, net: nn.Module, kind: str):
        super().__init__()
        self.kind = kind
        if isinstance(net, SiameseNet):
            self.net: nn.Module = UnsharedSiamese(net)
            self.n_inputs = 2
            self.gradcam_layers: tuple[nn.Module, ...] = (last_conv(self.net.features_a),
                                                          last_conv(self.net.features_b))
        else:
            self.net = net
            self.n_inputs = 1
            self.gradcam_layers = (last_conv(net),)
        self.eval()

    def forward(self, *images: torch.Tensor) -> torch.Tensor:
        return self.net(*images)

    def probabilities(self, *images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.softmax(self.net(*images).float(), dim=1)


def explainable(net: nn.Module, kind: str | None = None) -> Explainable:
    """Wrap `net` (eval mode, gradients off for its weights) for attribution."""
    net = copy.deepcopy(net).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return Explainable(net, kind or ("siamese" if isinstance(net, SiameseNet) else "classifier"))
