"""Small building blocks shared by both networks."""

from __future__ import annotations

import torch
from torch import nn


class Normalize(nn.Module):
    """Map [0, 1] pixels to roughly zero-mean, unit-variance inputs."""

    def __init__(self, mean: float = 0.5, std: float = 0.25):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


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
