"""Embeddings are cached per image in `models/embedding/embeddings.npz`, so retraining the head, choosing
thresholds and reruns after an interruption never pay for dlib's network twice.

An entry is reused only while the image file (size, mtime) and its landmarks are unchanged.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np

from ..data.dataset import load_landmarks
from ..errors import StageMissing
from ..face.template import SIZE as IMAGE_SIZE
from ..io import atomic_write_bytes, load_rgb
from ..runfolder import Run
from .embedder import FaceEmbedder

CACHE_NAME = "embeddings.npz"
SAVE_EVERY = 256  # images between cache writes (what an interruption can lose)


def _stamp(file: Path, landmarks: np.ndarray) -> str:
    st = file.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{zlib.crc32(np.ascontiguousarray(landmarks, np.float32).tobytes())}"


def _read(path: Path) -> dict[str, tuple[str, np.ndarray]]:
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            return {str(p): (str(s), e) for p, s, e in zip(z["paths"], z["stamps"], z["emb"])}
    except (OSError, KeyError, ValueError):
        return {}  # a damaged cache is only a cache: recompute


def _write(path: Path, table: dict[str, tuple[str, np.ndarray]]) -> None:
    keys = sorted(table)
    buf = io.BytesIO()
    np.savez(buf, paths=np.array(keys, dtype=str), stamps=np.array([table[k][0] for k in keys], dtype=str),
             emb=np.stack([table[k][1] for k in keys]).astype(np.float32) if keys else np.zeros((0, 128), np.float32))
    atomic_write_bytes(path, buf.getvalue())


def embeddings_for(run: Run, paths: list[str], cache_dir: Path, embedder: FaceEmbedder | None = None) -> dict[str, np.ndarray]:
    """path (relative to data/) → 128-d descriptor, computing only what the cache lacks."""
    cache_path = cache_dir / CACHE_NAME
    table = _read(cache_path)
    unique = list(dict.fromkeys(paths))
    landmarks = load_landmarks(run, unique)
    stamps = {}
    for p, lm in zip(unique, landmarks):
        file = run.data / p
        if not file.exists():
            raise StageMissing(f"{file} is listed in split.csv (or the Siamese test pairs) but missing: rerun `lookalike prepare`")
        stamps[p] = _stamp(file, lm)
    todo = [i for i, p in enumerate(unique) if p not in table or table[p][0] != stamps[p]]
    if todo:
        embedder = embedder or FaceEmbedder()
        from ..progress import progress

        bar = progress(total=len(todo), desc="dlib embeddings")
        for start in range(0, len(todo), SAVE_EVERY):
            chunk = todo[start:start + SAVE_EVERY]
            images = np.stack([load_rgb(run.data / unique[i], size=IMAGE_SIZE).transpose(2, 0, 1) for i in chunk])
            emb = embedder.embed(images, landmarks[chunk])
            for i, e in zip(chunk, emb):
                table[unique[i]] = (stamps[unique[i]], e)
            _write(cache_path, table)
            bar.update(len(chunk))
        bar.close()
    return {p: table[p][1] for p in unique}
