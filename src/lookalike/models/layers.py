"""Small building blocks shared by both networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Normalize(nn.Module):
    """Map [0, 1] pixels to roughly zero-mean, unit-variance inputs, at the resolution the network works at.

    `size` (0 = keep) resizes the 128×128 face inside the network (antialiased), so every stage still feeds
    and attributes 128×128 images while a laptop recipe computes on fewer pixels."""

    def __init__(self, mean: float = 0.5, std: float = 0.25, size: int = 0):
        super().__init__()
        self.mean, self.std, self.size = mean, std, int(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size and x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True,
                              align_corners=False)
        return (x - self.mean) / self.std


class Temperature(nn.Module):
    """Divide logits by a temperature fitted on the validation split (1 = as trained); no weights, so the
    saved tensors are the same with or without it."""

    def __init__(self, temperature: float = 1.0):
        super().__init__()
        self.temperature = float(temperature)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits if self.temperature == 1.0 else logits / self.temperature

    def extra_repr(self) -> str:
        return f"temperature={self.temperature:.4g}"


def conv_stack(in_ch: int, plan: list[int | str], batch_norm: bool = False) -> tuple[nn.Sequential, int]:
    """VGG-style stack from a plan such as [64, 64, "P", 128]: ints are 3×3 conv+ReLU, "P" is 2×2 max-pool.

    `batch_norm` puts a BatchNorm2d between each convolution and its ReLU (not in the paper; the small
    presets use it because a narrow plain stack learns subtle cues far more slowly without it)."""
    layers: list[nn.Module] = []
    ch = in_ch
    for item in plan:
        if item == "P":
            layers.append(nn.MaxPool2d(2))
        else:
            layers.append(nn.Conv2d(ch, int(item), 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(int(item)))
            layers.append(nn.ReLU(inplace=False))
            ch = int(item)
    return nn.Sequential(*layers), ch


def init_weights(model: nn.Module) -> None:
    """He initialisation for the ReLU convolutions: PyTorch's default shrinks the signal layer by layer,
    which stalls an 18-convolution plain stack (no batch norm between convolutions) at chance."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


def count_weight_layers(model: nn.Module) -> int:
    """Convolutional and fully connected layers: what the paper counts as 'weight layers'."""
    return sum(isinstance(m, nn.Conv2d | nn.Linear) for m in model.modules())


def last_conv(model: nn.Module) -> nn.Conv2d:
    """The last convolution in module order (the Grad-CAM layer)."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1]


def last_linear(model: nn.Module) -> nn.Linear:
    """The last fully connected layer (the one that makes the logits)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
