"""Procedural renderer of one synthetic face: `render(identity, nuisance) -> (image, landmarks)`.

Every shape is computed from the 68 canonical landmarks (the aligned template
plus expression, jitter and identity offsets) and evaluated at the canonical
position of each output pixel; the nuisance similarity transform (rotation,
scale, translation) is just the sampling grid. So the returned landmarks lie
exactly on the drawn features, and two renders that share the nuisance differ
only where the identity parameters act.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from ..face.template import SIZE, TEMPLATE_68
from .shapes import bump, coverage, ellipse_sdf, lens_sdf, over, stroke_sdf

CENTRE = np.array([SIZE / 2, SIZE / 2])
CHEEK_RX, CHEEK_RY = 10.0, 5.0
CHEEK_TILT = 0.35  # radians: the bump follows the cheekbone up towards the temple
# canonical y of the cheekbone bump: inside the regions' cheekbones, which lie between the eyes' ellipses
# (down to y ≈ 67) and the middle of the lower nose (y 77.6), so that what is planted there stays there
CHEEK_Y = 72.0
HEAD_RY = 56.0  # half height of the skull ellipse (canonical pixels)
HAIRLINE_MID = 27.0  # canonical y of the hairline centre halfway between the two people (inside the face area)
JAW_WEIGHT = np.array([0, .2, .5, .8, 1, 1, .8, .4, 0, .4, .8, 1, 1, .8, .5, .2, 0])


def similarity(nz: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Matrix M and offset t of the canonical -> image map x = M (p - c) + c + t."""
    a = np.deg2rad(nz["rotation"])
    m = nz["scale"] * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return m, np.array([nz["tx"], nz["ty"]])


def canonical_landmarks(ident: dict[str, float], nz: dict[str, Any]) -> np.ndarray:
    """The 68 points in the aligned frame: template + shape jitter + expression + identity offsets."""
    p = TEMPLATE_68.astype(np.float64).copy()
    side = np.sign(p[:, 0] - CENTRE[0])
    # jaw and face width
    p[:17, 0] += (p[:17, 0] - 64.0) / 39.0 * nz["face_width"] + side[:17] * JAW_WEIGHT * ident["jaw_width"] / 2
    p[6:11, 1] += nz["mouth_open"] * 0.35
    # eyes: position, gap, size, openness
    for eye, sgn in ((slice(36, 42), -1.0), (slice(42, 48), 1.0)):
        pts = p[eye]
        pts[:, 0] += sgn * nz["eye_gap"] / 2
        pts[:, 1] += nz["eye_dy"]
        c = pts.mean(axis=0)
        pts[:] = c + (pts - c) * (1.0 + ident["eye_size"])
        mid = (pts[0, 1] + pts[3, 1]) / 2
        pts[[1, 2, 4, 5], 1] = mid + (pts[[1, 2, 4, 5], 1] - mid) * nz["eye_open"]
    # brows follow the eyes a little and rise with expression
    p[17:27, 1] += nz["eye_dy"] * 0.5 - nz["brow_raise"]
    # nose width and length
    p[[31, 35], 0] += side[[31, 35]] * ident["nose_width"]
    p[[32, 34], 0] += side[[32, 34]] * ident["nose_width"] / 2
    p[30:36, 1] += ident["nose_length"]
    p[[28, 29], 1] += ident["nose_length"] * np.array([0.33, 0.66])
    # mouth: position, width, smile, opening
    p[48:68, 1] += nz["mouth_dy"]
    wide = np.zeros(68)
    wide[[48, 54]], wide[[49, 53, 59, 55]], wide[[60, 64]] = 0.5, 0.3, 0.4
    p[48:68, 0] += side[48:68] * wide[48:68] * (ident["mouth_width"] + nz["smile"] * 0.6)
    p[[48, 54], 1] -= nz["smile"]
    p[[60, 64], 1] -= nz["smile"] * 0.8
    p[[49, 53, 59, 55], 1] -= nz["smile"] * 0.4
    p[49:54, 1] -= ident["lip_full"]  # fuller lips: the upper lip's top up, the lower lip's bottom down
    p[55:60, 1] += ident["lip_full"]
    p[[65, 66, 67], 1] += nz["mouth_open"]
    p[55:60, 1] += nz["mouth_open"]
    return p


def _face_sdf(u: np.ndarray, v: np.ndarray, jaw: np.ndarray, ry: float) -> np.ndarray:
    """Head outline: an ellipse above the jaw's first point, the jaw landmarks below it."""
    top_y = (jaw[0, 1] + jaw[16, 1]) / 2
    rx = (jaw[16, 0] - jaw[0, 0]) / 2
    cx = (jaw[16, 0] + jaw[0, 0]) / 2
    upper = ellipse_sdf(u, v, cx, top_y, rx, ry)
    left = np.interp(v, jaw[:9, 1], jaw[:9, 0])
    right = np.interp(v, jaw[8:][::-1, 1], jaw[8:][::-1, 0])
    chin = np.interp(u, jaw[5:12, 0], jaw[5:12, 1])
    lower = np.maximum.reduce([left - u, u - right, v - chin])
    return np.where(v < top_y, upper, lower)


def _shading(height: np.ndarray, nz: dict[str, Any], gloss: float) -> np.ndarray:
    """Lambert + a little Phong from a height field sampled on the image grid (H×W → H×W×3)."""
    gy, gx = np.gradient(height)
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    az, el = np.deg2rad(nz["light_azimuth"]), np.deg2rad(nz["light_elevation"])
    lx, ly, lz = np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)
    diffuse = np.clip((-gx * lx - gy * ly + lz) / norm, 0.0, None)
    hx, hy, hz = lx, ly, lz + 1.0
    hn = np.sqrt(hx * hx + hy * hy + hz * hz)
    spec = np.clip((-gx * hx - gy * hy + hz) / (norm * hn), 0.0, None)
    spec2 = spec * spec
    spec8 = (spec2 * spec2) ** 2
    spec = spec8 * spec8 * spec8  # ** 24 by multiplication: pow() is slow
    amb = nz["ambient"]
    shade = amb + (1.0 - amb) * diffuse / lz
    return shade[..., None] * np.asarray(nz["light_colour"]) + gloss * spec[..., None]


def _background(nz: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A gradient wall with random clutter (boxes, discs, bars), out of focus by a random amount."""
    rng = np.random.default_rng(nz["seed"])
    base = np.asarray(nz["background"])
    img = base * (0.75 + 0.5 * (y / SIZE))[..., None] * np.ones(3)
    for _ in range(nz["clutter"]):
        col = rng.uniform(0.05, 0.95, 3)
        alpha = rng.uniform(0.5, 1.0)
        kind = rng.integers(3)
        cx, cy = rng.uniform(-10, SIZE + 10, 2)
        if kind == 0:
            w, h = rng.uniform(6, 45, 2)
            sdf = np.maximum(np.abs(x - cx) - w / 2, np.abs(y - cy) - h / 2)
        elif kind == 1:
            sdf = ellipse_sdf(x, y, cx, cy, *rng.uniform(4, 25, 2))
        else:
            end = np.array([cx, cy]) + rng.normal(0, 40, 2)
            sdf = stroke_sdf(x, y, np.array([[cx, cy], end]), *([rng.uniform(0.7, 4)] * 2))
        over(img, col, alpha * coverage(sdf, 1.0))
    if nz["background_blur"] > 0.05:
        img = gaussian_filter(img, sigma=(nz["background_blur"], nz["background_blur"], 0))
    return img


def _nonzero_box(alpha: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Rows and columns around the non-zero part of `alpha`, widened by `margin` pixels."""
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    h, w = alpha.shape
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, h)),
            slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, w)))


def _grid(nz: dict[str, Any], size: int) -> tuple[np.ndarray, ...]:
    """Image pixel coordinates x, y and their canonical positions u, v under the nuisance pose."""
    a, scale = np.deg2rad(nz["rotation"]), nz["scale"]
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    rel_x, rel_y = x - CENTRE[0] - nz["tx"], y - CENTRE[1] - nz["ty"]
    u = (np.cos(a) * rel_x + np.sin(a) * rel_y) / scale + CENTRE[0]
    v = (-np.sin(a) * rel_x + np.cos(a) * rel_y) / scale + CENTRE[1]
    return x, y, u, v


def _base_layers(nz: dict[str, Any], x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                 jaw: np.ndarray, background: np.ndarray | None, px: float) -> tuple[np.ndarray, ...]:
    """Everything behind the face (background, hair, neck, ears) and the face's outline and head shape.

    These depend on the nuisance and the jaw only, so the renders of one image share them.
    """
    s = nz["scale"]
    skin = np.asarray(nz["skin"])
    hair = np.asarray(nz["hair"])
    top_y = (jaw[0, 1] + jaw[16, 1]) / 2
    head_rx, head_ry = (jaw[16, 0] - jaw[0, 0]) / 2, HEAD_RY
    img = _background(nz, x, y) if background is None else background.copy()
    # hair silhouette behind the head (volume, width and length are style nuisances)
    length_y = {"short": 58.0, "medium": 94.0, "long": 400.0}[nz["hair_length"]]
    hw, hv = nz["hair_width"], nz["hair_volume"]
    hair_h = 30.0 * np.sqrt(np.clip(1 - ((u - 64) / (head_rx + hw + 3)) ** 2 - ((v - 60) / (head_ry + hv + 3)) ** 2,
                                    0.0, None))
    hair_light = _shading(hair_h * s, nz, 0.25)
    strands = 1.0 + 0.10 * np.sin(0.9 * (u * np.cos(nz["hair_angle"]) + v * np.sin(nz["hair_angle"]))
                                  + nz["hair_phase"]) + 0.05 * np.sin(2.3 * u + 1.7 * nz["hair_phase"])
    hair_rgb = hair * hair_light * strands[..., None]
    sil = np.minimum(np.minimum(ellipse_sdf(u, v, 64, top_y, head_rx + hw, head_ry + hv),
                                np.maximum(np.abs(u - 64) - head_rx - hw, top_y - v)), v - length_y)
    hair_alpha = coverage(sil, px)
    over(img, hair_rgb, hair_alpha)

    # neck, clothes, ears
    neck = coverage(np.maximum(np.abs(u - 64) - 19.0, 92.0 - v), px)
    over(img, skin * 0.62 * np.asarray(nz["light_colour"]), neck)
    over(img, np.asarray(nz["clothes"]), coverage(ellipse_sdf(u, v, 64, 172, 72, 52), px))
    for corner, sgn in ((jaw[0], -1.0), (jaw[16], 1.0)):
        ear = coverage(ellipse_sdf(u, v, corner[0] + sgn * 2.0, corner[1] + 7.0, 4.5, 9.5, sgn * 0.15), px)
        over(img, skin * 0.85, ear)
        over(img, skin * 0.6, ear * coverage(ellipse_sdf(u, v, corner[0] + sgn * 2.5, corner[1] + 7.0, 2, 6), px))
    if nz["hair_length"] != "short":  # longer hair falls over the ears
        over(img, hair_rgb, hair_alpha * coverage(34.0 - np.abs(u - 64), px))

    face_alpha = coverage(_face_sdf(u, v, jaw, head_ry), px)
    head_height = 26.0 * np.sqrt(np.clip(1 - ((u - 64) / (head_rx + 5)) ** 2 - ((v - 70) / (head_ry + 10)) ** 2,
                                         0, None))
    return img, hair_rgb, hair_alpha, face_alpha, head_height


def _paint_eyes(albedo: np.ndarray, lm: np.ndarray, eye_c: list[np.ndarray], fbox: Any, uf: np.ndarray,
                vf: np.ndarray, nz: dict[str, Any], px: float) -> None:
    """Eye whites, irises (looking where the nuisance gaze says), pupils and lid lines, into the face albedo."""
    for (lo, hi), c in zip(((36, 42), (42, 48)), eye_c):
        e = lm[lo:hi]
        b = fbox(e, 2.5)
        ub, vb, ab = uf[b], vf[b], albedo[b]
        white = coverage(lens_sdf(ub, vb, e[0], e[3], e[1:3], e[4:6]), px)
        over(ab, (0.88, 0.86, 0.84), white)
        width = float(np.hypot(*(e[3] - e[0])))
        ic = c + np.array([nz["gaze_x"], nz["gaze_y"]])
        over(ab, np.asarray(nz["iris"]), white * coverage(ellipse_sdf(ub, vb, *ic, 0.21 * width, 0.21 * width), px))
        over(ab, (0.03, 0.02, 0.02), white * coverage(ellipse_sdf(ub, vb, *ic, 0.09 * width, 0.09 * width), px))
        over(ab, (0.1, 0.07, 0.06), 0.9 * coverage(stroke_sdf(ub, vb, e[[0, 1, 2, 3]], 0.45, 0.55), px))


def _draw_glasses(img: np.ndarray, nz: dict[str, Any], eye_c: list[np.ndarray], jaw: np.ndarray, box: Any,
                  u: np.ndarray, v: np.ndarray, px: float) -> None:
    """Spectacles over both eyes: rims, bridge and arms (a nuisance both people share)."""
    frame = np.asarray(nz["glasses_colour"])
    p = 2.0 + 3.0 * (1.0 - nz["glasses_round"])
    for c in eye_c:
        b = box(c, 11)
        du_, dv_ = np.abs(u[b] - c[0]) / 9.5, np.abs(v[b] - c[1] - 0.5) / 6.8
        ring = ((du_ ** p + dv_ ** p) ** (1 / p) - 1.0) * 6.8
        over(img[b], np.ones(3), 0.06 * coverage(ring, px))
        over(img[b], frame, coverage(np.abs(ring) - 0.7, px))
    bridge = np.array([[eye_c[0][0] + 9.3, eye_c[0][1] - 1], [64, eye_c[0][1] - 2.5],
                       [eye_c[1][0] - 9.3, eye_c[1][1] - 1]])
    arms = [np.array([[c[0] + sgn * 9.4, c[1] - 1.0], [corner[0] + sgn * 1.0, corner[1] - 1.5]])
            for c, corner, sgn in ((eye_c[0], jaw[0], -1), (eye_c[1], jaw[16], 1))]
    for pts in [bridge, *arms]:
        b = box(pts, 2)
        over(img[b], frame, coverage(stroke_sdf(u[b], v[b], pts, 0.65, 0.65), px))


def _cheek_contour(albedo: np.ndarray, cheek: list[tuple[float, float]], ident: dict[str, float], fbox: Any,
                   uf: np.ndarray, vf: np.ndarray) -> None:
    """Planted: the skin over the cheekbones darker or lighter (`cheek_tone`), over the bump's own ellipse."""
    cy = CHEEK_Y + ident["cheek_dy"]
    for cx, ang in cheek:
        b = fbox([cx, cy], max(CHEEK_RX, CHEEK_RY))
        albedo[b] *= 1.0 + ident["cheek_tone"] * bump(uf[b], vf[b], cx, cy, CHEEK_RX, CHEEK_RY, ang)[..., None]


def _nose_tone(albedo: np.ndarray, bumps: list[tuple[float, float, float, float]], tone: float, fbox: Any,
               uf: np.ndarray, vf: np.ndarray) -> None:
    """Planted: the skin of the nose's bridge and tip darker or lighter (`nose_tone`), over their own bumps."""
    if not tone:  # midway between the two people: the face renders exactly as before the tone was planted
        return
    for cx, cy, rx, ry in bumps:
        b = fbox([cx, cy], max(rx, ry))
        albedo[b] *= 1.0 + tone * bump(uf[b], vf[b], cx, cy, rx, ry)[..., None]


def render_clean(ident: dict[str, float], nz: dict[str, Any], size: int = SIZE,
                 background: np.ndarray | None = None, cache: dict[Any, Any] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Float RGB image (H×W×3 in [0,1], before camera degradations) and image-space landmarks (68×2).

    `background` (from `_background`) and `cache` (a dict) can be passed in to share the layers
    that do not depend on the identity between renders of one nuisance: same pixels, less time.
    """
    cache = {} if cache is None else cache
    m, t = similarity(nz)
    if "grid" not in cache:
        cache["grid"] = _grid(nz, size)
    x, y, u, v = cache["grid"]
    px = 1.0 / nz["scale"]  # canonical units per pixel
    s = nz["scale"]

    lm = canonical_landmarks(ident, nz)
    jaw = lm[:17]
    skin = np.asarray(nz["skin"])
    hair = np.asarray(nz["hair"])

    def box(points: Any, margin: float) -> tuple[slice, slice]:
        """Image rows/cols that cover canonical `points` ± margin: features are drawn only there."""
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        lo, hi = pts.min(axis=0) - margin - 1, pts.max(axis=0) + margin + 1
        corners = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])
        img_pts = (m @ (corners - CENTRE).T).T + CENTRE + t
        x0, y0 = np.clip(np.floor(img_pts.min(axis=0)).astype(int), 0, size)
        x1, y1 = np.clip(np.ceil(img_pts.max(axis=0)).astype(int) + 1, 0, size)
        return slice(y0, y1), slice(x0, x1)

    key = ("base", jaw.tobytes())
    if key not in cache:
        cache[key] = _base_layers(nz, x, y, u, v, jaw, background, px)
    base, hair_rgb, hair_alpha, face_alpha, head_height = cache[key]
    img = base.copy()

    # face: height field -> shading; albedo with the features painted in
    eye_c = [lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)]
    brow_c = [lm[17:22].mean(axis=0), lm[22:27].mean(axis=0)]
    mouth_c = lm[48:60].mean(axis=0)
    # the face is drawn inside its own bounding box only (about half of the image)
    fb = cache.setdefault(("face_box", jaw.tobytes()), _nonzero_box(face_alpha, 1))
    uf, vf = u[fb], v[fb]

    def fbox(points: Any, margin: float) -> tuple[slice, slice]:
        rows, cols = box(points, margin)
        r0, r1, c0, c1 = fb[0].start, fb[0].stop, fb[1].start, fb[1].stop
        return (slice(min(max(rows.start, r0), r1) - r0, min(max(rows.stop, r0), r1) - r0),
                slice(min(max(cols.start, c0), c1) - c0, min(max(cols.stop, c0), c1) - c0))

    height = head_height[fb].copy()

    def add_bump(amp: float, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> None:
        b = fbox([cx, cy], max(rx, ry))
        height[b] += amp * bump(uf[b], vf[b], cx, cy, rx, ry, angle)

    nose_mid = (lm[27, 1] + lm[30, 1]) / 2
    nose_ry = (lm[30, 1] - lm[27, 1]) / 2 + 2
    nose_bumps = [(lm[27:31, 0].mean(), nose_mid, 4.5, nose_ry), (lm[30, 0], lm[30, 1] + 2.0, 5.0, 4.0)]  # bridge, tip
    b = fbox(nose_bumps[0][:2], nose_ry)
    nose_t = np.clip((vf[b] - lm[27, 1]) / (lm[30, 1] - lm[27, 1]), 0.0, 1.0)
    bridge = (1.5 + 3.5 * nose_t) * (1.0 + ident["nose_bridge"])  # planted: how high the bridge stands
    height[b] += bridge * bump(uf[b], vf[b], *nose_bumps[0])
    add_bump(3.0, *nose_bumps[1])
    for k in (31, 35):
        add_bump(1.8, lm[k, 0], lm[k, 1] - 1.0, 3.5, 3.0)
    for c in brow_c:
        add_bump(2.0, c[0], c[1] + 1.5, 12.0, 5.0)
    for c in eye_c:
        add_bump(-3.0, c[0], c[1], 10.0, 7.0)
    add_bump(1.8, mouth_c[0], mouth_c[1], 16.0, 7.0)
    add_bump(2.5, lm[8, 0], lm[8, 1] - 6.0, 10.0, 6.0)
    # planted: cheekbone position and prominence (a compact bump: shading changes only there)
    cheek = [(38.5 - ident["cheek_dx"] - nz["face_width"] * 0.5, -CHEEK_TILT),
             (89.5 + ident["cheek_dx"] + nz["face_width"] * 0.5, CHEEK_TILT)]
    for cx, ang in cheek:
        add_bump(ident["cheek_amp"], cx, CHEEK_Y + ident["cheek_dy"], CHEEK_RX, CHEEK_RY, ang)
    light = _shading(height * s, nz, 0.18)

    albedo = np.ones(uf.shape + (3,)) * skin
    _cheek_contour(albedo, cheek, ident, fbox, uf, vf)
    _nose_tone(albedo, nose_bumps, ident["nose_tone"], fbox, uf, vf)
    for side in (-1, 1):  # blush (nuisance): placed from the face width, never from the planted cheekbones
        bx = 64 + side * (22.5 + nz["face_width"] * 0.5)
        b = fbox([bx, 86], 8)
        over(albedo[b], skin * np.array([1.04, 0.78, 0.78]), nz["blush"] * bump(uf[b], vf[b], bx, 86, 8, 5))
    brow_col = hair * 0.8 + 0.05
    bt = ident["brow_thick"]
    for pts, r0, r1 in ((lm[17:22], 0.9, 1.7), (lm[22:27], 1.7, 0.9)):
        b = fbox(pts, 3 + bt)
        over(albedo[b], brow_col, 0.92 * coverage(stroke_sdf(uf[b], vf[b], pts, r0 + bt / 2, r1 + bt / 2), px))
    lip_col = (skin * np.array([0.80, 0.50, 0.52]) + np.array([0.12, 0.02, 0.04])) * (1.0 + ident["lip_tone"])
    b = fbox(lm[48:68], 2)
    ub, vb = uf[b], vf[b]
    over(albedo[b], lip_col, coverage(lens_sdf(ub, vb, lm[48], lm[54], lm[49:54], lm[55:60], smooth=False), px))
    if nz["mouth_open"] > 0.3:
        gap = coverage(lens_sdf(ub, vb, lm[60], lm[64], lm[61:64], lm[65:68], smooth=False), px)
        over(albedo[b], (0.16, 0.05, 0.05), gap)
        over(albedo[b], (0.88, 0.86, 0.8), gap * coverage(vb - (lm[62, 1] + 1.6), px))
    for k in (32, 34):
        b = fbox(lm[k], 3)
        over(albedo[b], skin * 0.3, coverage(ellipse_sdf(uf[b], vf[b], lm[k, 0], lm[k, 1] - 1.0, 1.8, 1.0), px))
    _paint_eyes(albedo, lm, eye_c, fbox, uf, vf, nz, px)
    face_rgb = albedo * light
    over(img[fb], face_rgb, face_alpha[fb])

    # hair in front: above the hairline (the planted forehead edge), sideburns at the temples.
    du = np.abs(u - 64)
    # the identity moves the hairline over the forehead only; the temples are the same for both people
    shift = (ident["hairline"] - HAIRLINE_MID) * np.clip((32.0 - du) / 10.0, 0.0, 1.0)
    line = HAIRLINE_MID + shift + nz["hairline_arch"] * np.minimum(du / 26, 1) ** 2 + 0.35 * np.maximum(du - 26, 0) ** 2
    line = np.minimum(line, nz["sideburn"]) + nz["hairline_jag"] * (
        0.6 * np.sin(1.7 * u + nz["hair_phase"]) + 0.4 * np.sin(0.9 * u + 2 * nz["hair_phase"]))
    cap = coverage(v - line, px, soft=1.6) * np.maximum(face_alpha, hair_alpha)
    over(img, hair_rgb, cap)

    if nz["glasses"]:
        _draw_glasses(img, nz, eye_c, jaw, box, u, v, px)

    img = (img * nz["exposure"] - 0.5) * nz["contrast"] + 0.5
    landmarks = (m @ (lm - CENTRE).T).T + CENTRE + t
    return np.clip(img, 0.0, 1.0), landmarks


def degrade(img: np.ndarray, nz: dict[str, Any]) -> np.ndarray:
    """Camera: defocus blur, sensor noise, 8-bit quantisation and JPEG; returns uint8 H×W×3."""
    if nz["blur"] > 0.05:
        img = gaussian_filter(img, sigma=(nz["blur"], nz["blur"], 0))
    if nz["noise"] > 0:
        img = img + np.random.default_rng(nz["seed"] + 1).normal(0.0, nz["noise"] / 255.0, img.shape)
    out = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    if nz["jpeg"]:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="JPEG", quality=int(nz["jpeg"]))
        buf.seek(0)
        out = np.asarray(Image.open(buf).convert("RGB"), dtype=np.uint8).copy()
    return out


def background(nz: dict[str, Any], size: int = SIZE) -> np.ndarray:
    """The background of an image (it does not depend on identity, so renders of one nuisance share it)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    return _background(nz, x, y)


def render(ident: dict[str, float], nz: dict[str, Any], size: int = SIZE,
           bg: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The final uint8 image (H×W×3) and its 68 landmarks (68×2, image pixels, dlib order)."""
    img, landmarks = render_clean(ident, nz, size, bg)
    return degrade(img, nz), landmarks
