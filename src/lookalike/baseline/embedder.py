"""dlib's 128-d ResNet face embedding (the model `face_recognition_models` ships), on our aligned faces.

dlib's network expects a 150×150 "face chip" cut the way `dlib.get_face_chip` cuts it from 68 landmarks
(padding 0.25). Our faces are already aligned to 128×128, so we cut that chip from each aligned face using
its landmarks (data/landmarks.csv, or the template where none was found). Everything the black-box
explainer masks is masked in the 128×128 picture *before* the chip is cut, so maps live in the same pixel
space as the white-box ones. Note that the chip (padding 0.25) ends about at the eyebrows: the forehead
above them is outside what this model sees.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import NotAvailable
from ..progress import progress

CHIP_SIZE = 150
CHIP_PADDING = 0.25
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
BACKBONE = "dlib_face_recognition_resnet_model_v1"


def models_folder() -> Path:
    """Where face_recognition_models keeps its .dat files (found without importing it: its
    __init__ imports pkg_resources, which new setuptools no longer has)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise NotAvailable("the package face_recognition_models is not installed: pip install face_recognition_models")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not (folder / MODEL_FILE).exists():
        raise NotAvailable(f"{folder / MODEL_FILE} is missing: reinstall face_recognition_models")
    return folder


@lru_cache(maxsize=1)
def _network():  # -> dlib.face_recognition_model_v1
    import dlib

    return dlib.face_recognition_model_v1(str(models_folder() / MODEL_FILE))


def _detection(landmarks: np.ndarray, size: int):  # -> dlib.full_object_detection
    import dlib

    pts = [dlib.point(int(round(float(x))), int(round(float(y)))) for x, y in landmarks]
    return dlib.full_object_detection(dlib.rectangle(0, 0, size - 1, size - 1), pts)


def to_hwc_uint8(images: np.ndarray) -> np.ndarray:
    """N×3×H×W (uint8, or float in [0, 1]) → contiguous N×H×W×3 uint8, the layout dlib wants."""
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[1] != 3:
        raise ValueError(f"expected images shaped N×3×H×W, got {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr.transpose(0, 2, 3, 1))


class FaceEmbedder:
    """Cut chips and run dlib's ResNet in batches. `landmarks` (N×68×2) say where each face's points are."""

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self.net = _network()

    def chips(self, images: np.ndarray, landmarks: np.ndarray) -> list[np.ndarray]:
        """150×150×3 uint8 chips, one per image, cut like dlib.get_face_chip."""
        import dlib

        hwc = to_hwc_uint8(images)
        if len(landmarks) != len(hwc):
            raise ValueError(f"{len(hwc)} images but {len(landmarks)} landmark sets")
        size = hwc.shape[1]
        return [dlib.get_face_chip(img, _detection(lm, size), CHIP_SIZE, CHIP_PADDING)
                for img, lm in zip(hwc, landmarks)]

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, 128), np.float32)
        return np.asarray(self.net.compute_face_descriptor(list(chips)), dtype=np.float32)

    def embed(self, images: np.ndarray, landmarks: np.ndarray, desc: str | None = None) -> np.ndarray:
        """N×128 float32 descriptors (dlib's own distance threshold for 'same person' is 0.6)."""
        out = np.zeros((len(images), 128), np.float32)
        starts = range(0, len(images), self.batch_size)
        bar = progress(starts, desc=desc, total=len(starts)) if desc else starts
        for start in bar:
            stop = start + self.batch_size
            out[start:stop] = self.embed_chips(self.chips(images[start:stop], landmarks[start:stop]))
        return out
