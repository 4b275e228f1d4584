"""On-the-fly augmentation in torch, drawn from an explicit generator (so it replays exactly on resume).

Faces are aligned, so only small geometric jitter is used: flip, shift, zoom and
rotation as one affine warp per image, then brightness/contrast/saturation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .presets import TrainConfig


def augment(images: torch.Tensor, cfg: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Float images N×3×H×W in [0, 1] → augmented copies. Random numbers are drawn on the CPU from `gen`
    in a fixed order whatever the device, so a batch is the same on CPU, CUDA and after a resume."""
    n, _, h, w = images.shape
    u = torch.rand(n, 8, generator=gen) * 2 - 1  # eight uniform(-1, 1) draws per image, always drawn
    dev = images.device
    geometric = cfg.flip or cfg.shift > 0 or cfg.scale > 0 or cfg.rotate > 0
    if geometric:
        angle = u[:, 0] * math.radians(cfg.rotate)
        zoom = 1.0 + u[:, 1] * cfg.scale
        flip = torch.where(u[:, 2] > 0, -1.0, 1.0) if cfg.flip else torch.ones(n)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = cos * flip
        theta[:, 0, 1] = -sin
        theta[:, 1, 0] = sin * flip
        theta[:, 1, 1] = cos
        theta[:, 0, 2] = u[:, 3] * cfg.shift * 2 / w
        theta[:, 1, 2] = u[:, 4] * cfg.shift * 2 / h
        grid = F.affine_grid(theta.to(dev, images.dtype), list(images.shape), align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if cfg.brightness > 0 or cfg.contrast > 0 or cfg.saturation > 0:
        bright = (1 + u[:, 5] * cfg.brightness).to(dev, images.dtype).view(n, 1, 1, 1)
        contrast = (1 + u[:, 6] * cfg.contrast).to(dev, images.dtype).view(n, 1, 1, 1)
        sat = (1 + u[:, 7] * cfg.saturation).to(dev, images.dtype).view(n, 1, 1, 1)
        images = images * bright
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        images = (images - mean) * contrast + mean
        gray = images.mean(dim=1, keepdim=True)
        images = (images - gray) * sat + gray
        images = images.clamp(0.0, 1.0)
    if cfg.erase > 0:
        images = random_erase(images, cfg.erase, gen)
    return images


def random_erase(images: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Random erasing (Zhong et al. 2020): with probability p, one rectangle of 2–25 % of the face, aspect
    0.3–3.3, is replaced by uniform noise, so no single region can carry the whole decision. Five draws per
    image, always drawn (after the eight above), so the stream does not depend on which images are hit."""
    n, _, h, w = images.shape
    u = torch.rand(n, 5, generator=gen)
    area = (0.02 + 0.23 * u[:, 1]) * h * w
    aspect = torch.exp(math.log(0.3) + (math.log(3.3) - math.log(0.3)) * u[:, 2])
    eh = (area * aspect).sqrt().clamp(1, h).long()
    ew = (area / aspect).sqrt().clamp(1, w).long()
    top = ((h - eh) * u[:, 3]).long()
    left = ((w - ew) * u[:, 4]).long()
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    inside = ((rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1))
              & (cols >= left.view(n, 1, 1)) & (cols < (left + ew).view(n, 1, 1)) & (u[:, 0] < p).view(n, 1, 1))
    noise = torch.rand(images.shape, generator=gen).to(images.device, images.dtype)
    return torch.where(inside.unsqueeze(1).to(images.device), noise, images)
