"""The fooling attack of §4.2: push an image towards the other class until the network is ≥ 90 % sure.

We write the loop rather than call `captum.robust.PGD` because three guarantees
need control of every step, per image:

* **stop rule** – an image stops the moment its target probability reaches the
  confidence; captum's PGD always runs a fixed number of steps for the whole batch.
* **what is saved is what was checked** – every step scores the *quantised*
  uint8 image (the PNG that will be written), and the gradient is taken there
  and applied to a float iterate (a straight-through step), so rounding can never
  turn a fooled image back into an unfooled one; captum scores the float image.
* **one forward/backward per step** – the probability for the stop rule and the
  gradient for the step come from the same pass (captum's FGSM runs its own).

`method="sign"` is exactly captum's targeted L∞ PGD step (x ← x − α·sign ∇L, then
clip to the ε-box and [0, 1]); a test checks that both agree step for step.
`method="gradient"` (the default) follows Karpathy's blog, which the paper cites:
the raw gradient, scaled to the L2 length of a sign step (α·√d), so pixels change
in proportion to how much they matter – that is what makes the pixel maps readable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

METHODS = ("gradient", "sign")

# forward(x, idx) -> logits for the images x, which are rows `idx` of the batch being attacked
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class AttackSettings:
    epsilon: float = 0.15  # L∞ budget on [0, 1] images (the paper's 15 %)
    confidence: float = 0.90  # stop once the target probability reaches this
    max_steps: int = 200
    step_size: float = 0.01  # α on the [0, 1] scale
    method: str = "gradient"

    def check(self) -> AttackSettings:
        if not 0 < self.epsilon <= 1:
            raise ValueError(f"epsilon must be in (0, 1], got {self.epsilon}")
        if math.floor(self.epsilon * 255 + 1e-6) < 1:
            raise ValueError(f"epsilon {self.epsilon} is below one grey level (1/255): nothing can change")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.max_steps < 0:
            raise ValueError(f"max_steps must be ≥ 0, got {self.max_steps}")
        if not self.step_size > 0:
            raise ValueError(f"step_size must be > 0, got {self.step_size}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        return self

    @property
    def levels(self) -> int:
        """The budget in grey levels: the largest integer change k with k/255 ≤ ε."""
        return math.floor(self.epsilon * 255 + 1e-6)


@dataclass
class AttackResult:
    """Per image: the saved (uint8) fooled image, steps taken and target probabilities."""

    fooled: torch.Tensor  # uint8 N×3×H×W, exactly what is written to disk
    steps: torch.Tensor  # int64 N: gradient steps taken before stopping
    updates: torch.Tensor  # int64 N: how many times the image was actually changed (== steps)
    p_start: torch.Tensor  # float N: target probability of the original
    p_end: torch.Tensor  # float N: target probability of `fooled`
    success: torch.Tensor  # bool N: p_end ≥ confidence
    history: torch.Tensor  # float (max_steps+1)×N: target probability at each step, nan once stopped


def quantise(x: torch.Tensor, original: torch.Tensor, levels: int) -> torch.Tensor:
    """Round a float image to uint8 and clamp it into the ±`levels` box around the uint8 original."""
    v = torch.round(x * 255.0)
    o = original.to(v.dtype)
    v = torch.minimum(torch.maximum(v, o - levels), o + levels).clamp_(0, 255)
    return v.to(torch.uint8)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 → float in [0, 1], the same arithmetic as `FaceSet.float()` so scores match a reload."""
    return images.float().div_(255.0)


def attack(forward: Forward, originals: torch.Tensor, targets: torch.Tensor, settings: AttackSettings,
           device: str = "cpu") -> AttackResult:
    """Fool a batch of uint8 images (N×3×H×W) towards `targets`, stopping each image on its own."""
    s = settings.check()
    if originals.dtype != torch.uint8 or originals.dim() != 4:
        raise ValueError("originals must be a uint8 N×3×H×W tensor")
    n = originals.shape[0]
    orig = originals.to(device)
    tgt = targets.to(device).long()
    x0 = to_float(orig)
    k = s.levels / 255.0
    lo, hi = (x0 - k).clamp(0, 1), (x0 + k).clamp(0, 1)
    x = x0.clone()
    fooled = orig.clone()
    steps = torch.zeros(n, dtype=torch.long)
    updates = torch.zeros(n, dtype=torch.long)
    p_start = torch.full((n,), float("nan"))
    p_end = torch.full((n,), float("nan"))
    history = torch.full((s.max_steps + 1, n), float("nan"))
    active = torch.ones(n, dtype=torch.bool)
    dims = float(x0[0].numel())

    for t in range(s.max_steps + 1):
        idx = torch.nonzero(active).flatten()
        if len(idx) == 0:
            break
        idx_d = idx.to(device)
        q8 = quantise(x[idx_d], orig[idx_d], s.levels)
        q = to_float(q8).requires_grad_(True)
        logp = F.log_softmax(forward(q, idx_d).float(), dim=1)
        lp_t = logp.gather(1, tgt[idx_d, None]).squeeze(1)
        p = lp_t.detach().exp().cpu()
        history[t, idx] = p
        if t == 0:
            p_start[idx] = p
        p_end[idx] = p
        fooled[idx_d] = q8.detach()
        steps[idx] = t
        done = p >= s.confidence
        if t == s.max_steps:
            break
        active[idx[done]] = False
        go = ~done
        if not go.any():
            break
        (grad,) = torch.autograd.grad(-lp_t[go.to(device)].sum(), q)
        grad = grad[go.to(device)]
        if s.method == "sign":
            delta = s.step_size * grad.sign()
        else:
            norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            delta = s.step_size * math.sqrt(dims) * grad / norm
        rows = idx_d[go.to(device)]
        x[rows] = torch.minimum(torch.maximum(x[rows] - delta, lo[rows]), hi[rows])
        updates[idx[go]] += 1

    return AttackResult(fooled=fooled.cpu(), steps=steps, updates=updates, p_start=p_start, p_end=p_end,
                        success=p_end >= s.confidence, history=history)


def classifier_forward(model: torch.nn.Module) -> Forward:
    """The classifier scores each image on its own."""
    return lambda x, idx: model(x)


def siamese_forward(model: torch.nn.Module, partners: torch.Tensor) -> Forward:
    """The Siamese network scores (partner, perturbed image); `partners` is the fixed first image (uint8)."""
    fixed = to_float(partners)
    return lambda x, idx: model(fixed[idx.to(fixed.device)], x)
