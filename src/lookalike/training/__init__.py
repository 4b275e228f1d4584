"""Training of the paper's two networks (§4.1, §4.3): presets, pairs, the loop, metrics and curves.

`train(run, model="classifier", preset="fast")` is the Python entry point; the
heavy modules are imported on first use so `import lookalike.training` is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def train(run: Any, model: str = "classifier", preset: str = "fast", overrides: dict[str, Any] | None = None,
          seed: int = 0, device: str = "auto", resume: bool = False,
          config_file: str | Path | None = None, **kwargs: Any) -> dict[str, Any]:
    """Train `model` (classifier | siamese | embedding) on `<run>/data`; returns the summary dict."""
    from .loop import train as _train

    return _train(run, model=model, preset=preset, overrides=overrides, seed=seed, device=device,
                  resume=resume, config_file=config_file, **kwargs)


__all__ = ["train"]
