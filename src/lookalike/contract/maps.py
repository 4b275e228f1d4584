"""`explain/maps/<model>-<method>.npz`: the activation maps, their one writer and one reader.

Required arrays (docs/run-folder.md): `maps` N×128×128 float32 ≥ 0, `paths`
(image paths relative to `<run>/data/`), `model`, `method`, `target`. We add,
per row: `pair` and `side` (0/1) for Siamese pairs (rows 2k and 2k+1 are the
two images of pair k; -1 for single images), `label` (the person shown) and
`prob` (the network's probability for the target on that pair or image).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_write_bytes
from .explain import map_name, split_map_name


@dataclass
class MapFile:
    maps: np.ndarray  # N×H×W float32 ≥ 0
    paths: list[str]
    model: str
    method: str
    target: np.ndarray  # N ints (class index explained)
    pair: np.ndarray  # N ints, -1 for single images
    side: np.ndarray  # N ints, 0 = first image of a pair
    label: np.ndarray  # N ints, -1 when unknown
    prob: np.ndarray  # N floats, NaN when unknown

    @property
    def name(self) -> str:
        return map_name(self.model, self.method)

    @property
    def is_pairs(self) -> bool:
        return bool((self.pair >= 0).any())


def map_path(explain_dir: Path, model: str, method: str) -> Path:
    return Path(explain_dir) / "maps" / f"{map_name(model, method)}.npz"


def save_maps(path: str | Path, mf: MapFile) -> Path:
    maps = np.asarray(mf.maps, dtype=np.float32)
    if maps.ndim != 3 or len(maps) != len(mf.paths):
        raise ValueError(f"maps must be N×H×W with one path per map; got {maps.shape} and {len(mf.paths)} paths")
    if not np.isfinite(maps).all() or (maps < 0).any():
        raise ValueError("maps must be finite and ≥ 0")
    buf = io.BytesIO()
    np.savez_compressed(buf, maps=maps, paths=np.array(mf.paths, dtype=str), model=np.array(mf.model),
                        method=np.array(mf.method), target=np.asarray(mf.target, np.int64),
                        pair=np.asarray(mf.pair, np.int64), side=np.asarray(mf.side, np.int64),
                        label=np.asarray(mf.label, np.int64), prob=np.asarray(mf.prob, np.float32))
    return atomic_write_bytes(path, buf.getvalue())


def load_maps(path: str | Path) -> MapFile:
    """Read a map file; optional arrays written by other producers get neutral defaults."""
    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the map file {path}: {exc}") from exc
    with z:
        if "maps" not in z or "paths" not in z:
            raise InputError(f"{path} lacks the arrays `maps` and `paths` (see docs/run-folder.md)")
        maps = z["maps"].astype(np.float32)
        n = len(maps)
        network, method_name = split_map_name(path.stem)

        def get(key: str, default: np.ndarray) -> np.ndarray:
            if key not in z:
                return default
            value = z[key]
            return np.full(n, value.item()) if value.ndim == 0 else value

        model = str(z["model"]) if "model" in z else network
        method = str(z["method"]) if "method" in z else method_name
        return MapFile(
            maps=maps, paths=[str(p) for p in z["paths"]], model=model, method=method,
            target=get("target", np.full(n, -1)).astype(np.int64),
            pair=get("pair", np.full(n, -1)).astype(np.int64),
            side=get("side", np.zeros(n)).astype(np.int64),
            label=get("label", np.full(n, -1)).astype(np.int64),
            prob=get("prob", np.full(n, np.nan)).astype(np.float32),
        )
