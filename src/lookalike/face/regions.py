"""Named face regions on the aligned face, computed from its 68 landmarks.

The regions partition the face: every face pixel gets exactly one label,
because labels come from one ordered list of rules (the first rule that
matches wins) rather than from overlapping shapes. Rules are written in the
face's own frame (origin between the eyes, u along the eye line, v down the
face) so a slightly tilted face gets tilted regions.

The face area is the jaw outline (points 0–16) closed at the top by half an
ellipse that reaches 0.8 × the brow-to-nose-base height above the brows: the
forehead up to the hairline band (clipped by the image border); and the band
along the lower jawline on both sides of it, since the jawline is an edge.

Rules, in order: eyes (ellipse around each eye), eyebrows (a band along the
brow line), forehead (above that band, the glabella included), nose, mouth
(lips and the skin between nose and lips), chin (below the mouth, between the
widened mouth corners), jaw (a band along the jaw outline, inside and out), and the rest of
each side split at the middle of the lower nose into cheekbone (upper, from
the temple to the cheek's apple) and cheek (lower). Left and right are the
image's left and right.
"""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path as PolyPath

from .template import (
    BROW_LEFT,
    BROW_RIGHT,
    EYE_LEFT,
    EYE_RIGHT,
    JAW,
    MOUTH_OUTER,
    NOSE_BRIDGE,
    SIZE,
    TEMPLATE_68,
)

REGIONS = ["forehead", "eyebrows", "eyes", "nose", "cheekbone_left", "cheekbone_right",
           "cheek_left", "cheek_right", "mouth", "chin", "jaw"]
BACKGROUND = -1

# Plain-language features for people: left and right halves are one feature.
FEATURES: dict[str, list[str]] = {
    "forehead": ["forehead"], "eyebrows": ["eyebrows"], "eyes": ["eyes"], "nose": ["nose"],
    "cheekbones": ["cheekbone_left", "cheekbone_right"], "cheeks": ["cheek_left", "cheek_right"],
    "mouth": ["mouth"], "chin": ["chin"], "jaw": ["jaw"],
}
PLAIN = {"forehead": "the forehead", "eyebrows": "the eyebrows", "eyes": "the eyes", "nose": "the nose",
         "cheekbones": "the cheekbones", "cheeks": "the cheeks", "mouth": "the mouth", "chin": "the chin",
         "jaw": "the jawline", "cheekbone_left": "the left cheekbone", "cheekbone_right": "the right cheekbone",
         "cheek_left": "the left cheek", "cheek_right": "the right cheek"}

HAIRLINE = 0.8  # forehead height above the brows, in brow-to-nose-base heights


def _inside(poly: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    path = PolyPath(poly)
    return path.contains_points(np.stack([u.ravel(), v.ravel()], 1), radius=1e-9).reshape(u.shape)


def _polyline_distance(pts: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Distance of every (u, v) to a polyline through `pts` (K×2)."""
    best = np.full(u.shape, np.inf, dtype=np.float64)
    for p, q in zip(pts[:-1], pts[1:]):
        d = q - p
        t = np.clip(((u - p[0]) * d[0] + (v - p[1]) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
        best = np.minimum(best, np.hypot(u - p[0] - t * d[0], v - p[1] - t * d[1]))
    return best


def _ellipse(u, v, cu, cv, a, b):
    return ((u - cu) / a) ** 2 + ((v - cv) / b) ** 2 <= 1.0


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin (between the eye centres) and unit axes u (along the eyes) and v (down the face)."""
    left, right = landmarks[EYE_LEFT].mean(0), landmarks[EYE_RIGHT].mean(0)
    ex = right - left
    norm = float(np.hypot(*ex))
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError("landmarks have both eyes in one place; cannot place face regions")
    ex = ex / norm
    ey = np.array([-ex[1], ex[0]])
    return (left + right) / 2, ex, ey


def region_labels(landmarks: np.ndarray, size: int = SIZE) -> np.ndarray:
    """size×size int8 label image: index into REGIONS, or -1 outside the face."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise ValueError(f"need 68 finite (x, y) landmarks, got shape {lm.shape}")
    origin, ex, ey = face_frame(lm)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    u = (xx - origin[0]) * ex[0] + (yy - origin[1]) * ex[1]
    v = (xx - origin[0]) * ey[0] + (yy - origin[1]) * ey[1]
    P = np.stack([(lm - origin) @ ex, (lm - origin) @ ey], 1)  # landmarks in the face frame

    brows = P[BROW_LEFT + BROW_RIGHT]
    brows = brows[np.argsort(brows[:, 0])]
    brow_v = np.interp(u, brows[:, 0], brows[:, 1])  # flat beyond the outer ends
    eye_v = P[EYE_LEFT + EYE_RIGHT, 1].mean()
    nose_base = P[33]
    brow_height = max(eye_v - brows[:, 1].mean(), 1.0)
    t_brow = 0.35 * brow_height
    mid_u = P[NOSE_BRIDGE, 0].mean()

    # face area: the jaw outline closed by half an ellipse up to the hairline band
    jaw = P[JAW]
    centre = (jaw[0] + jaw[-1]) / 2
    half_w = np.hypot(*(jaw[-1] - jaw[0])) / 2
    hair_v = brows[:, 1].mean() - HAIRLINE * max(nose_base[1] - brows[:, 1].mean(), 1.0)
    theta = np.linspace(0, np.pi, 33)
    arc = np.stack([centre[0] + half_w * np.cos(theta), centre[1] - (centre[1] - hair_v) * np.sin(theta)], 1)
    face = _inside(np.concatenate([jaw, arc[1:-1]]), u, v)
    # the jawline is an edge: a narrower or wider jaw changes the pixels on both sides of it, so its band
    # reaches beyond the outline as well (without it, 94 % of a planted jaw difference fell outside every region)
    t_jaw = 0.12 * 2 * half_w
    jaw_band = _polyline_distance(jaw[3:14], u, v) <= t_jaw
    face |= jaw_band

    label = np.full((size, size), BACKGROUND, dtype=np.int8)
    free = face.copy()

    def claim(name: str, mask: np.ndarray) -> None:
        nonlocal free
        take = free & mask
        label[take] = REGIONS.index(name)
        free &= ~take

    eyes = np.zeros_like(face)
    for idx in (EYE_LEFT, EYE_RIGHT):
        pts = P[idx]
        width = np.hypot(*(pts[3] - pts[0]))
        height = pts[:, 1].max() - pts[:, 1].min()
        c = pts.mean(0)
        eyes |= _ellipse(u, v, c[0], c[1], 0.7 * width, max(0.45 * width, 0.8 * height))
    claim("eyes", eyes)

    near_brow = np.abs(v - brow_v) <= t_brow
    on_brow = np.zeros_like(face)
    for idx in (BROW_LEFT, BROW_RIGHT):
        lo, hi = P[idx, 0].min() - t_brow, P[idx, 0].max() + t_brow
        on_brow |= (u >= lo) & (u <= hi)
    claim("eyebrows", near_brow & on_brow)
    claim("forehead", v < brow_v + t_brow)

    # nose: from the brow band down to just below the nostrils, widening to the nose wings
    wing = 0.15 * (P[35, 0] - P[31, 0])
    below = nose_base[1] + 0.25 * max(P[MOUTH_OUTER, 1].min() - nose_base[1], 1.0)
    top = brows[:, 1].mean() + t_brow
    bridge = 0.25 * (P[42, 0] - P[39, 0])
    nose_poly = np.array([[mid_u - bridge, top], [mid_u + bridge, top], [P[35, 0] + wing, P[35, 1]],
                          [P[35, 0] + wing, below], [P[31, 0] - wing, below], [P[31, 0] - wing, P[31, 1]]])
    claim("nose", _inside(nose_poly, u, v))

    # mouth: the lips (outer outline widened by 30 %) and the skin between nose and lips
    lips = P[MOUTH_OUTER]
    mc = lips.mean(0)
    mouth = _inside(mc + 1.3 * (lips - mc), u, v)
    mouth |= (np.abs(u - mc[0]) <= 0.5 * (P[35, 0] - P[31, 0]) + wing) & (v >= below) & (v <= mc[1])
    claim("mouth", mouth)

    margin = 0.15 * (P[54, 0] - P[48, 0])
    chin_u = (u >= P[48, 0] - margin) & (u <= P[54, 0] + margin)
    claim("chin", chin_u & (v > mc[1]))

    claim("jaw", jaw_band)

    split = (P[29, 1] + P[30, 1]) / 2
    left = u < mid_u
    claim("cheekbone_left", left & (v <= split))
    claim("cheekbone_right", ~left & (v <= split))
    claim("cheek_left", left)
    claim("cheek_right", ~left)
    return label


def region_masks(landmarks: np.ndarray, size: int = SIZE) -> np.ndarray:
    """R×size×size bool masks in REGIONS order (disjoint; their union is the face)."""
    label = region_labels(landmarks, size)
    return np.stack([label == k for k in range(len(REGIONS))])


def template_labels(size: int = SIZE) -> np.ndarray:
    """Region labels of the template face (used for the fooling aggregate and the mean face)."""
    return region_labels(TEMPLATE_68 * (size / SIZE), size)


class LabelCache:
    """Region labels per landmark set, computed once (many maps share the same images)."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._cache: dict[bytes, np.ndarray] = {}

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        key = np.asarray(landmarks, np.float32).tobytes()
        if key not in self._cache:
            self._cache[key] = region_labels(landmarks, self.size)
        return self._cache[key]
