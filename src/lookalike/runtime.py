"""Seeds, devices and thread settings: the knobs every stage shares."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np

from .errors import NotAvailable


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and (if imported) PyTorch so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass


def pick_device(name: str = "auto") -> str:
    """Resolve `auto|cpu|cuda` to a torch device string, with a clear error for missing CUDA."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise NotAvailable("--device cuda was asked for, but PyTorch sees no CUDA GPU (use --device cpu or auto)")
    return name


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX): there bf16 training runs about
    twice as fast. oneDNN also "supports" bf16 on plain AVX-512 by emulating it, which is slower than
    float32 (tiny classifier, one thread, AVX-512 without BF16: 76 images/s in fp32, 48 in bf16), so its
    own check is not the question to ask."""
    import torch

    native = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in native if check is not None)


def training_precision(setting: str, device: str) -> str:
    """Resolve the `precision` setting (auto | fp32 | bf16) for a device: auto is bf16 on CUDA and on CPUs
    with native bf16, else fp32."""
    if setting == "auto":
        return "bf16" if device.startswith("cuda") or cpu_has_bf16() else "fp32"
    return setting


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """$LOOKALIKE_CHROMIUM, else a Chromium or Chrome on PATH, else Debian's /usr/bin/chromium (PDF, screenshots)."""
    env = os.environ.get("LOOKALIKE_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None
