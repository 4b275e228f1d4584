"""The pixel map of Table 1: where and how strongly the attack changed the face.

Intensity scale (the paper does not define one, so we do, to give Figure-5-like
pictures): take |fooled − original| per channel, convert it to grey with the
ITU-R 601 luma weights (0.299 R + 0.587 G + 0.114 B) and map it to 0–255:

* `scale="image"` (default): 255 is the largest grey change *in that image*, so
  every map shows its own strongest changes in red and anything below 59 %
  (150/255) of it in black – a sparse picture like the paper's, whatever ε.
* `scale="budget"`: 255 is the full budget ε, so maps are comparable across images
  (a red pixel moved by ≥ 89 % of ε); weak attacks then look mostly black.

Colours (Table 1, integer intensities): ≤150 black, 151–180 gray, 181–200 yellow,
201–225 orange, 226–255 red. The paper's Table 1 writes its ranges as 151 < I ≤ 180,
181 < I ≤ 200, 201 < I ≤ 225 and 226 < I ≤ 255, which leaves 151, 181, 201 and 226
without a colour; here each range starts one above the previous bound (`AMENDMENT`).
Each pixel above 150 also paints its 8 neighbours with its colour, the stronger colour
winning where two meet (a 3×3 max filter over the colour level), "to enlarge these
changes" as the paper says.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter

from ..contract.fooling import TABLE1_AMENDMENT, scale_sentence

__all__ = ["AMENDMENT", "scale_sentence"]  # the pixel maps' own words, defined with the summary they describe

# upper bound (inclusive) of each level's intensity range, and its colour
BOUNDS = (150, 180, 200, 225, 255)
NAMES = ("black", "gray", "yellow", "orange", "red")
COLOURS = np.array([[0, 0, 0], [128, 128, 128], [255, 255, 0], [255, 165, 0], [255, 0, 0]], dtype=np.uint8)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)
SCALES = ("image", "budget")
AMENDMENT = TABLE1_AMENDMENT


def reference(original: np.ndarray, fooled: np.ndarray, scale: str = "image", epsilon: float = 0.15) -> float:
    """The grey change (0–1 pixel scale) that maps to intensity 255: the image's largest, or ε."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if scale == "budget":
        return float(epsilon)
    return float(_grey_change(original, fooled).max())


def scale_caption(scale: str, ref: float) -> str:
    """What 255 means on one map, for the line under it ("255 = its largest change, 0.071")."""
    if scale == "budget":
        return f"255 = budget ε = {ref:.2g}"
    return f"255 = its largest change, {ref:.2g}"


def legend() -> list[tuple[str, str, tuple[int, int, int]]]:
    """(range label, colour name, RGB) rows of Table 1, for figure legends."""
    lows = (0,) + tuple(b + 1 for b in BOUNDS[:-1])
    return [(f"{lo}–{hi}" if lo else f"≤ {hi}", name, tuple(int(c) for c in rgb))
            for lo, hi, name, rgb in zip(lows, BOUNDS, NAMES, COLOURS)]


def intensity(original: np.ndarray, fooled: np.ndarray, scale: str = "image", epsilon: float = 0.15) -> np.ndarray:
    """Grey intensity (H×W uint8, 0–255) of the change between two H×W×3 uint8 images; see module doc."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    grey = _grey_change(original, fooled)
    ref = float(epsilon) if scale == "budget" else float(grey.max())
    if ref <= 0:
        return np.zeros(grey.shape, dtype=np.uint8)
    return np.clip(np.round(grey / ref * 255.0), 0, 255).astype(np.uint8)


def _grey_change(original: np.ndarray, fooled: np.ndarray) -> np.ndarray:
    """|fooled − original| in grey (luma weights), 0–1 pixel scale."""
    if original.shape != fooled.shape or original.ndim != 3 or original.shape[-1] != 3:
        raise ValueError(f"need two H×W×3 images of one shape, got {original.shape} and {fooled.shape}")
    return (np.abs(fooled.astype(np.float64) - original.astype(np.float64)) / 255.0) @ LUMA


def levels(intensity_map: np.ndarray) -> np.ndarray:
    """Table-1 level (0 black … 4 red) of each integer intensity."""
    values = np.asarray(intensity_map)
    if values.min(initial=0) < 0 or values.max(initial=0) > 255:
        raise ValueError("intensities must lie in 0–255")
    return np.searchsorted(np.array(BOUNDS), values, side="left").astype(np.uint8)


def colourise(intensity_map: np.ndarray, spread: bool = True) -> np.ndarray:
    """H×W×3 uint8 Table-1 picture; with `spread`, pixels above 150 also colour their 8 neighbours."""
    lv = levels(intensity_map)
    if spread:
        lv = maximum_filter(lv, size=3, mode="constant", cval=0)
    return COLOURS[lv]


def pixel_map(original: np.ndarray, fooled: np.ndarray, scale: str = "image", epsilon: float = 0.15,
              spread: bool = True) -> np.ndarray:
    """The Figure-5 middle picture for two H×W×3 uint8 images."""
    return colourise(intensity(original, fooled, scale, epsilon), spread=spread)
