"""Face detection, 68-point landmarks, similarity alignment and embeddings, all with dlib.

Every face is mapped by one similarity transform (rotation, uniform scale,
translation) onto `TEMPLATE_68`, so the eyes, nose and mouth of every crop sit
at the same pixels: the later region analysis depends on it. The transform is
fitted by least squares (Umeyama) on the inner-face points only; the jaw line
moves with head pose and would tilt the fit.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import NotAvailable
from ..face.template import SIZE, TEMPLATE_68

# Brows, nose, eyes and mouth (17..67): stable under head turns, unlike the jaw.
STABLE_POINTS = np.arange(17, 68)
EYE_LEFT_IDX = np.arange(36, 42)
EYE_RIGHT_IDX = np.arange(42, 48)
# The eyes count 4× in the fit: they anchor every later region, and are the most reliable landmarks.
FIT_WEIGHTS = np.where((STABLE_POINTS >= 36) & (STABLE_POINTS < 48), 4.0, 1.0)


def models_dir() -> Path:
    """The folder of dlib model files shipped by face_recognition_models (importing it breaks on new setuptools)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise NotAvailable("face_recognition_models is not installed: pip install face_recognition_models")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@dataclass
class DlibModels:
    detector: object
    predictor: object
    encoder: object | None
    kind: str


@lru_cache(maxsize=4)
def load_models(detector: str = "hog", with_encoder: bool = True) -> DlibModels:
    """Load dlib's detector, 68-point predictor and ResNet encoder once per process."""
    import dlib

    folder = models_dir()
    if detector == "cnn":
        det = dlib.cnn_face_detection_model_v1(str(folder / "mmod_human_face_detector.dat"))
    elif detector == "hog":
        det = dlib.get_frontal_face_detector()
    else:
        raise ValueError(f"detector must be 'hog' or 'cnn', not {detector!r}")
    predictor = dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat"))
    encoder = (dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
               if with_encoder else None)
    return DlibModels(det, predictor, encoder, detector)


def detect_faces(models: DlibModels, rgb: np.ndarray, max_side: int = 1600,
                 upsample: int | None = None) -> list[tuple[float, float, float, float]]:
    """Face boxes (left, top, right, bottom) in `rgb` pixels; small photos are upsampled, huge ones shrunk."""
    h, w = rgb.shape[:2]
    scale = 1.0
    work = rgb
    if max(h, w) > max_side:  # detection cost grows with pixels; faces that matter stay large enough
        scale = max_side / max(h, w)
        work = np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale)), Image.BILINEAR))
    if upsample is None:  # HOG finds faces from ~80 px: upsampling small photos finds the ~40 px ones
        upsample = 1 if max(work.shape[:2]) <= 800 else 0
    found = models.detector(work, upsample)
    boxes = []
    for d in found:
        r = d.rect if models.kind == "cnn" else d
        boxes.append((r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale))
    return boxes


def predict_landmarks(models: DlibModels, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """68 (x, y) landmarks inside `box`, in dlib's iBUG order."""
    import dlib

    rect = dlib.rectangle(*(int(round(v)) for v in box))
    shape = models.predictor(rgb, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """2×3 similarity M minimising Σ w·||M·[src,1] − dst||² (weighted Umeyama 1991, no reflection)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    s_c, d_c = src - mu_s, dst - mu_d
    cov = (d_c * w[:, None]).T @ s_c
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    var_s = (w * (s_c**2).sum(1)).sum()
    scale = (sig * d).sum() / var_s
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return (np.asarray(pts, np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def warp(rgb: np.ndarray, m: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Warp `rgb` by the similarity `m` (photo → crop) into a size×size crop, antialiased when shrinking."""
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    img = Image.fromarray(rgb)
    if scale < 0.5:  # PIL's affine warp does not filter: shrink first so small crops do not alias
        f = min(1.0, 2.0 * scale)
        img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))), Image.LANCZOS)
        pre = np.array([[f, 0, 0], [0, f, 0], [0, 0, 1]], dtype=np.float64)
        m = np.vstack([m, [0, 0, 1]]) @ np.linalg.inv(pre)
        m = m[:2]
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    out = img.transform((size, size), Image.AFFINE, data=tuple(inv.ravel()), resample=Image.BICUBIC,
                        fillcolor=(0, 0, 0))
    return np.asarray(out, dtype=np.uint8).copy()


def align_face(rgb: np.ndarray, landmarks: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Aligned size×size crop and its landmarks in crop pixels."""
    template = TEMPLATE_68 * (size / SIZE)
    m = umeyama(landmarks[STABLE_POINTS], template[STABLE_POINTS], FIT_WEIGHTS)
    return warp(rgb, m, size), apply_affine(m, landmarks)


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return landmarks[EYE_LEFT_IDX].mean(0), landmarks[EYE_RIGHT_IDX].mean(0)


def default_box(size: int = SIZE) -> tuple[float, float, float, float]:
    """Where dlib's HOG box falls on a template-aligned face: used when detection fails on a crop."""
    t = TEMPLATE_68 * (size / SIZE)
    left, right = t[:, 0].min(), t[:, 0].max()
    top, bottom = t[17:27, 1].min(), t[:, 1].max()
    return (left, top, right, bottom)


def landmarks_plausible(pts: np.ndarray, size: int) -> bool:
    """Reject landmark sets that fell off the crop or collapsed (detector failure on odd crops)."""
    if not np.isfinite(pts).all():
        return False
    inside = ((pts > -0.1 * size) & (pts < 1.1 * size)).all()
    left, right = eye_centres(pts)
    eye_dist = float(np.linalg.norm(right - left))
    return bool(inside and 0.15 * size < eye_dist < 0.7 * size and right[0] > left[0])


def crop_landmarks(models: DlibModels, crop: np.ndarray) -> tuple[np.ndarray, str]:
    """Landmarks of an already aligned crop: detector box if found, else the template box, else the template."""
    size = crop.shape[0]
    boxes = detect_faces(models, crop, upsample=0 if size >= 100 else 1)
    if boxes:
        box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        pts = predict_landmarks(models, crop, box)
        if landmarks_plausible(pts, size):
            return pts, "predicted"
    pts = predict_landmarks(models, crop, default_box(size))
    if landmarks_plausible(pts, size):
        return pts, "predicted (template box)"
    return (TEMPLATE_68 * (size / SIZE)).astype(np.float32), "template (prediction failed)"


def embed(models: DlibModels, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """128-d dlib ResNet descriptor of an aligned crop, computed from its 68 landmarks (dlib's own chip)."""
    import dlib

    if models.encoder is None:
        raise RuntimeError("models were loaded without the encoder")
    h, w = crop.shape[:2]
    pts = [dlib.point(int(round(x)), int(round(y))) for x, y in landmarks]
    shape = dlib.full_object_detection(dlib.rectangle(0, 0, w - 1, h - 1), pts)
    return np.asarray(models.encoder.compute_face_descriptor(np.ascontiguousarray(crop), shape), dtype=np.float32)
