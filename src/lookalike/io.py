"""Atomic file writes and image reading shared by every stage.

Every file a stage writes goes through here, so an interrupted run never
leaves a half-written file behind: we write to a temporary file in the same
folder, fsync it and `os.replace` it into place (atomic on POSIX). Files get
the mode `open()` would give (umask), except those that hold secrets, which
are owner-only. tests/test_io.py keeps other modules from writing files themselves.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone makes files owner-only


PRIVATE_MODE = 0o600  # files that hold secrets (the study's admin token, participants' links): owner only


def _atomic(path: str | Path, write: Callable[[BinaryIO], None], private: bool) -> Path:
    """Write through `write` into a temporary file beside `path`, fsync it, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, PRIVATE_MODE if private else _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes, private: bool = False) -> Path:
    """`path` holds `data` or its old content, never a mix; `private` makes it owner-only (0600)."""
    return _atomic(path, lambda fh: fh.write(data), private)


def atomic_copy(src: str | Path, dst: str | Path) -> Path:
    """Copy a file into place as atomically as a write (streamed: a big file is never held in memory)."""
    with open(src, "rb") as fin:
        return _atomic(dst, lambda fh: shutil.copyfileobj(fin, fh, 1 << 20), private=False)


def atomic_write_text(path: str | Path, text: str, private: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), private)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if callable(getattr(obj, "to_json", None)):  # a contract record
        return obj.to_json()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, default=_json_default, allow_nan=True)


def atomic_write_json(path: str | Path, obj: Any, private: bool = False) -> Path:
    return atomic_write_text(path, to_json(obj) + "\n", private)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def atomic_write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]], fieldnames: list[str]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fieldnames, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return atomic_write_text(path, buf.getvalue())


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def save_png(path: str | Path, image: np.ndarray | Image.Image) -> Path:
    """Save an RGB/gray uint8 array (H×W[×C]) or PIL image losslessly as PNG, atomically."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def save_figure(path: str | Path, fig: Any, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def load_rgb(path: str | Path, size: int | None = None) -> np.ndarray:
    """Read an image as H×W×3 uint8 RGB, optionally resized to size×size."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None and im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        return np.asarray(im, dtype=np.uint8).copy()
