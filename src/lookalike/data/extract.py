"""Per-file face extraction, run in a process pool and cached on disk file by file.

Each input file becomes one `FileResult` (its outcome plus every face found,
aligned, with landmarks, perceptual hash and embedding). The result is written
atomically to `<run>/data/cache/files/<key>.npz` as soon as it is computed, so
an interrupted `prepare` resumes where it stopped, and the key includes the
file's size, mtime and the settings so a changed photo or option is redone.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing as mp
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..face.template import SIZE
from ..io import atomic_write_bytes

CACHE_VERSION = 3


@dataclass
class Job:
    """One input file and how to treat it."""

    path: str  # absolute
    source: str  # relative to the input folder (manifest key)
    mode: str  # "photo" (detect + align) | "aligned" (resize, predict landmarks) | "given" (landmarks known)
    landmarks: list[float] | None = None  # 136 numbers, for mode "given" (in the file's own pixels)


@dataclass
class Face:
    crop: np.ndarray  # 128×128×3 uint8
    landmarks: np.ndarray  # 68×2 float32 on the crop
    landmark_source: str
    phash: str
    embedding: np.ndarray | None
    box: list[float] = field(default_factory=list)  # in the photo, for the review page


@dataclass
class FileResult:
    source: str
    outcome: str  # "ok" | "no_face" | "unreadable" | "too_large"
    reason: str
    notes: list[str]
    faces: list[Face]
    size: tuple[int, int] = (0, 0)  # width, height after EXIF rotation
    verbatim: bool = False  # the file is an RGB 128×128 PNG whose pixels are the crop: copy, don't re-encode


@dataclass(frozen=True)
class Settings:
    detector: str = "hog"
    embed: bool = True

    def key(self) -> str:
        return f"v{CACHE_VERSION}|{self.detector}|{int(self.embed)}"


def cache_key(job: Job, settings: Settings) -> str:
    """Changes when the file, its mode or the settings change, so stale results are never reused."""
    try:
        st = Path(job.path).stat()
        stamp = f"{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    given = hashlib.sha1(json.dumps(job.landmarks).encode()).hexdigest()[:8] if job.landmarks else ""
    raw = f"{job.source}|{job.mode}|{stamp}|{given}|{settings.key()}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


def _phash(crop: np.ndarray) -> str:
    import imagehash
    from PIL import Image

    return str(imagehash.phash(Image.fromarray(crop)))


def _resize_crop(rgb: np.ndarray) -> tuple[np.ndarray, float, float]:
    from PIL import Image

    h, w = rgb.shape[:2]
    if (h, w) == (SIZE, SIZE):
        return rgb, 1.0, 1.0
    out = np.asarray(Image.fromarray(rgb).resize((SIZE, SIZE), Image.BICUBIC), dtype=np.uint8)
    return out, SIZE / w, SIZE / h


def extract(job: Job, settings: Settings) -> FileResult:
    """Decode one file and return every aligned face in it (never raises for bad input)."""
    from .align import align_face, crop_landmarks, detect_faces, embed, load_models, predict_landmarks
    from .images import ImageRejected, decode_image

    try:
        decoded = decode_image(job.path)
    except ImageRejected as exc:
        return FileResult(job.source, exc.outcome, exc.reason, [], [])
    rgb, notes = decoded.rgb, decoded.notes
    size = (int(rgb.shape[1]), int(rgb.shape[0]))
    need_models = job.mode != "given" or settings.embed
    models = load_models(settings.detector, settings.embed) if need_models else None
    faces: list[Face] = []
    if job.mode == "photo":
        boxes = detect_faces(models, rgb)
        if not boxes:
            return FileResult(job.source, "no_face", "no face detected", notes, [], size)
        boxes.sort(key=lambda b: (b[0], b[1]))  # stable face order: left to right
        for box in boxes:
            pts = predict_landmarks(models, rgb, box)
            crop, aligned = align_face(rgb, pts)
            vec = embed(models, rgb, pts) if settings.embed else None
            faces.append(Face(crop, aligned, "detected", _phash(crop), vec, [float(v) for v in box]))
    else:
        crop, sx, sy = _resize_crop(rgb)
        if (sx, sy) != (1.0, 1.0):
            notes.append(f"resized {size[0]}x{size[1]} -> {SIZE}x{SIZE}")
        if job.mode == "given" and job.landmarks is not None:
            pts = np.asarray(job.landmarks, np.float32).reshape(68, 2) * np.array([sx, sy], np.float32)
            source = "given"
        else:
            pts, source = crop_landmarks(models, crop)
        vec = embed(models, crop, pts) if settings.embed else None
        faces.append(Face(crop, pts.astype(np.float32), source, _phash(crop), vec, [0.0, 0.0, float(size[0]),
                                                                                     float(size[1])]))
    verbatim = (job.mode != "photo" and size == (SIZE, SIZE) and not notes and decoded.original_mode == "RGB"
                and job.path.lower().endswith(".png"))
    return FileResult(job.source, "ok", "", notes, faces, size, verbatim)


# --- cache -----------------------------------------------------------------------------------------
def save_result(path: Path, result: FileResult) -> None:
    meta = {
        "source": result.source, "outcome": result.outcome, "reason": result.reason, "notes": result.notes,
        "size": list(result.size), "verbatim": result.verbatim,
        "faces": [{"landmark_source": f.landmark_source, "phash": f.phash, "box": f.box} for f in result.faces],
    }
    k = len(result.faces)
    crops = np.stack([f.crop for f in result.faces]) if k else np.zeros((0, SIZE, SIZE, 3), np.uint8)
    lms = np.stack([f.landmarks for f in result.faces]) if k else np.zeros((0, 68, 2), np.float32)
    has_emb = k > 0 and all(f.embedding is not None for f in result.faces)
    embs = np.stack([f.embedding for f in result.faces]) if has_emb else np.zeros((0, 128), np.float32)
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), crops=crops, landmarks=lms, embeddings=embs)
    atomic_write_bytes(path, buf.getvalue())


def load_result(path: Path) -> FileResult | None:
    """A cached result, or None when the file is absent or damaged (then it is simply recomputed)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            crops, lms, embs = z["crops"], z["landmarks"], z["embeddings"]
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
    faces = []
    for i, f in enumerate(meta["faces"]):
        vec = embs[i].astype(np.float32) if len(embs) == len(crops) and len(embs) else None
        faces.append(Face(crops[i], lms[i].astype(np.float32), f["landmark_source"], f["phash"], vec, f["box"]))
    return FileResult(meta["source"], meta["outcome"], meta["reason"], meta["notes"], faces,
                      tuple(meta.get("size", (0, 0))), bool(meta.get("verbatim", False)))


# --- pool --------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(settings: Settings, cache_dir: str) -> None:
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER["settings"] = settings
    _WORKER["cache"] = Path(cache_dir)


def _run_job(item: tuple[Job, str]) -> FileResult:
    job, key = item
    settings: Settings = _WORKER["settings"]
    try:
        result = extract(job, settings)
    except Exception as exc:  # noqa: BLE001 - one odd file must never stop the run
        result = FileResult(job.source, "unreadable", f"failed to process: {type(exc).__name__}: {exc}"[:200],
                            [], [])
    save_result(_WORKER["cache"] / f"{key}.npz", result)
    return result


def run_jobs(jobs: list[Job], settings: Settings, cache_dir: Path, workers: int,
             desc: str = "faces") -> Iterator[FileResult]:
    """Yield a FileResult per job: cached ones first, the rest computed by `workers` processes."""
    from ..progress import progress

    cache_dir.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[Job, str]] = []
    for job in jobs:
        key = cache_key(job, settings)
        cached = load_result(cache_dir / f"{key}.npz")
        if cached is not None and cached.source == job.source:
            yield cached
        else:
            todo.append((job, key))
    if not todo:
        return
    bar = progress(total=len(todo), desc=desc, unit="file")
    try:
        if workers <= 1 or len(todo) < 4:
            _init_worker(settings, str(cache_dir))
            for item in todo:
                yield _run_job(item)
                bar.update(1)
        else:
            ctx = mp.get_context("spawn")  # fork after torch/dlib threads is unsafe; spawn is clean
            with ctx.Pool(workers, initializer=_init_worker, initargs=(settings, str(cache_dir))) as pool:
                for result in pool.imap_unordered(_run_job, todo, chunksize=4):
                    yield result
                    bar.update(1)
    finally:
        bar.close()
