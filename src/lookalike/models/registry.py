"""Build, save and load networks by kind: weights as safetensors beside their config.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save
from torch import nn

from ..contract import MODEL_INFO
from ..errors import StageMissing
from ..io import atomic_write_bytes
from .classifier import VGGClassifier
from .siamese import SiameseNet

KINDS: dict[str, type[nn.Module]] = {"classifier": VGGClassifier, "siamese": SiameseNet}


def build_model(kind: str, **arch: Any) -> nn.Module:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(KINDS)}")
    return KINDS[kind](**arch)


def save_model(folder: str | Path, kind: str, model: nn.Module, extra: dict[str, Any] | None = None) -> None:
    """Write `model.safetensors` and `model.json` ({kind, arch, ...}) into `folder`, atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DDP
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(folder / "model.safetensors", save(state))
    MODEL_INFO.write_at(folder / "model.json", {"kind": kind, "arch": dict(model.config), **(extra or {})})


def load_model(folder: str | Path, device: str = "cpu") -> nn.Module:
    """Rebuild a saved network in eval mode on `device`."""
    folder = Path(folder)
    if not (folder / "model.safetensors").exists():
        raise StageMissing(f"no trained network in {folder}: run `lookalike train` first")
    meta = MODEL_INFO.read_at(folder / "model.json")
    model = build_model(meta.kind, **meta.arch)
    model.load_state_dict(load_file(str(folder / "model.safetensors"), device="cpu"))
    return model.to(device).eval()


def model_meta(folder: str | Path) -> dict[str, Any]:
    return MODEL_INFO.read_at(Path(folder) / "model.json").to_json()


def to_device(model: nn.Module, device: str) -> nn.Module:
    return model.to(device).to(memory_format=torch.channels_last)
