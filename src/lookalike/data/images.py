"""Read any photo a user might have into RGB uint8, or say precisely why not.

Web photos come as CMYK JPEGs, 16-bit PNGs, images with alpha, grayscale scans,
phone pictures that rely on the EXIF orientation tag, and sometimes as
zero-byte, truncated or fake files and decompression bombs. Each must either
become a correct upright RGB array or a short reason for the manifest; none
may stop the run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# 40 megapixels: larger than any camera photo a user would feed a face pipeline,
# far below what would exhaust memory. PIL's own bomb check is set to the same limit.
MAX_PIXELS = 40_000_000


class ImageRejected(Exception):
    """An input file that cannot be used; `outcome` is a manifest outcome, the message its reason."""

    def __init__(self, outcome: str, reason: str):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass
class Decoded:
    rgb: np.ndarray  # H×W×3 uint8, upright
    original_mode: str
    notes: list[str]


def _to_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB without clipping 16-bit data or leaving alpha black."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        hi = arr.max() if arr.size else 0.0
        if hi > 255:  # 16-bit data: rescale instead of clipping everything to white
            arr = arr * (255.0 / (65535.0 if hi > 4095 else 4095.0))
            notes.append("16-bit rescaled to 8-bit")
        gray = np.clip(arr, 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([gray] * 3, axis=-1), "RGB")
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        notes.append("alpha composited on white")
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        notes.append("CMYK converted")
    elif mode in ("L", "1"):
        notes.append("grayscale")
    return im.convert("RGB")


def decode_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Decoded:
    """Decode `path` into an upright RGB array; raise ImageRejected with a manifest reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageRejected("unreadable", f"cannot stat file: {exc.strerror or exc}") from exc
    if size == 0:
        raise ImageRejected("unreadable", "empty file (0 bytes)")
    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageRejected("too_large", f"{w}x{h} pixels exceeds the limit of {max_pixels:,}")
                mode = im.mode
                im.load()
                orientation = im.getexif().get(0x0112, 1)
                upright = ImageOps.exif_transpose(im) or im
                if orientation not in (1, None):
                    notes.append(f"EXIF orientation {orientation} applied")
                rgb = _to_rgb(upright, notes)
                arr = np.asarray(rgb, dtype=np.uint8).copy()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_large", f"decompression bomb refused: {exc}") from exc
    except PermissionError as exc:
        raise ImageRejected("unreadable", "cannot read file: permission denied") from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("unreadable", "not an image file (format not recognised)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        text = str(exc)
        reason = "truncated image" if "truncated" in text.lower() else f"corrupt image: {text[:120]}"
        raise ImageRejected("unreadable", reason) from exc
    except MemoryError as exc:  # pragma: no cover - depends on the machine
        raise ImageRejected("too_large", "not enough memory to decode") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    if arr.ndim != 3 or arr.shape[0] < 8 or arr.shape[1] < 8:
        raise ImageRejected("unreadable", f"image too small ({arr.shape[1]}x{arr.shape[0]} pixels)")
    return Decoded(rgb=arr, original_mode=mode, notes=notes)
