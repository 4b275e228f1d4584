"""Probabilities from a trained network: per image (classifier) or for one pair (Siamese)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError, SettingError
from ..face.template import SIZE as IMAGE_SIZE
from ..io import load_rgb
from ..models import load_model
from ..models.registry import model_meta
from ..runfolder import Run
from ..runtime import pick_device


def _load_images(paths: list[str]) -> torch.Tensor:
    arrays = []
    for p in paths:
        if not Path(p).is_file():
            raise InputError(f"image {p} does not exist")
        try:
            arrays.append(load_rgb(p, size=IMAGE_SIZE).transpose(2, 0, 1))
        except Exception as exc:  # noqa: BLE001 - PIL raises many kinds for unreadable files
            raise InputError(f"cannot read image {p}: {exc}") from exc
    return torch.from_numpy(np.stack(arrays)).float().div_(255.0)


@torch.inference_mode()
def predict(run: str | Path | Run, model: str, images: list[str], device: str = "auto") -> dict[str, Any]:
    run = run if isinstance(run, Run) else Run(run)
    if model == "siamese" and len(images) != 2:
        raise SettingError(f"--model siamese compares exactly two images (got {len(images)})")
    folder = run.model(model)
    dev = pick_device(device)
    net = load_model(folder, dev)
    meta = model_meta(folder)
    if model == "siamese":
        x = _load_images(images).to(dev)
        prob = torch.softmax(net(x[:1], x[1:]).float(), dim=1)[0].cpu().tolist()
        row = {"image": f"{images[0]} + {images[1]}", "a": images[0], "b": images[1],
               "probabilities": {"same": prob[0], "different": prob[1]},
               "prediction": "same" if prob[0] >= 0.5 else "different"}
        return {"model": model, "predictions": [row]}
    names = meta.get("identities") or ["class_0", "class_1"]
    x = _load_images(images).to(dev)
    probs = torch.softmax(net(x).float(), dim=1).cpu().numpy()
    rows = [{"image": p, "probabilities": {names[k]: float(pr[k]) for k in range(len(names))},
             "prediction": names[int(pr.argmax())]} for p, pr in zip(images, probs)]
    return {"model": model, "predictions": rows}
