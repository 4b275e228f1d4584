"""Tiny 2-D shape kit for the renderer: signed distances and compositing on a pixel grid.

Shapes are evaluated in *canonical* face coordinates (the aligned template
frame) at the position of every output pixel, so a head rotation or zoom is
just a different sampling grid and every edge stays anti-aliased.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def coverage(sdf: Array, px: float, soft: float = 1.0) -> Array:
    """Anti-aliased coverage (0..1) of a shape from its signed distance (canonical units; < 0 inside)."""
    return np.clip(0.5 - sdf / (px * soft), 0.0, 1.0)


def ellipse_sdf(u: Array, v: Array, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> Array:
    """Approximate signed distance to an ellipse (exact for circles, good enough for 1-px edges)."""
    du, dv = u - cx, v - cy
    if angle:
        c, s = np.cos(angle), np.sin(angle)
        du, dv = c * du + s * dv, -s * du + c * dv
    r = np.sqrt((du / rx) ** 2 + (dv / ry) ** 2)
    return (r - 1.0) * min(rx, ry)


def bump(u: Array, v: Array, cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> Array:
    """Smooth bump (1 - d²)² with *compact* support: it changes nothing outside its ellipse."""
    du, dv = u - cx, v - cy
    if angle:
        c, s = np.cos(angle), np.sin(angle)
        du, dv = c * du + s * dv, -s * du + c * dv
    d2 = (du / rx) ** 2 + (dv / ry) ** 2
    return np.where(d2 < 1.0, (1.0 - np.minimum(d2, 1.0)) ** 2, 0.0)


def stroke_sdf(u: Array, v: Array, pts: Array, r0: float, r1: float) -> Array:
    """Signed distance to a polyline stroke whose half-width tapers from r0 (first point) to r1 (last)."""
    n = len(pts) - 1
    best = np.full(u.shape, np.inf)
    for k in range(n):
        a, b = pts[k], pts[k + 1]
        ab = b - a
        t = np.clip(((u - a[0]) * ab[0] + (v - a[1]) * ab[1]) / float(ab @ ab), 0.0, 1.0)
        d = np.hypot(u - a[0] - t * ab[0], v - a[1] - t * ab[1])
        radius = r0 + (r1 - r0) * (k + t) / n
        best = np.minimum(best, d - radius)
    return best


def lens_sdf(u: Array, v: Array, left: Array, right: Array, upper: Array, lower: Array,
             smooth: bool = True) -> Array:
    """Signed distance (approx.) to the region between an upper and a lower curve joining two corners.

    Used for eyes and lips: `upper`/`lower` are the landmark points between the
    corners. In a frame along the corner line, each curve is a function s(t);
    we fit a parabola (smooth=True, eyelids) or interpolate linearly (lips).
    """
    axis = right - left
    length = float(np.hypot(*axis))
    e = axis / length
    n = np.array([-e[1], e[0]])
    du, dv = u - left[0], v - left[1]
    t = (du * e[0] + dv * e[1]) / length
    s = du * n[0] + dv * n[1]

    def curve(points: Array) -> Array:
        rel = points - left
        ts = np.concatenate([[0.0], rel @ e / length, [1.0]])
        ss = np.concatenate([[0.0], rel @ n, [0.0]])
        order = np.argsort(ts)
        tc = np.clip(t, 0.0, 1.0)
        if smooth:
            # parabola through both corners, k t (1 - t), least squares over the inner points
            w = ts[1:-1] * (1.0 - ts[1:-1])
            k = float(ss[1:-1] @ w) / max(float(w @ w), 1e-9)
            return k * tc * (1.0 - tc)
        return np.interp(tc, ts[order], ss[order])

    top, bottom = curve(upper), curve(lower)
    return np.maximum.reduce([top - s, s - bottom, -t * length, (t - 1.0) * length])


def over(canvas: Array, colour: Array | tuple[float, float, float], alpha: Array) -> None:
    """Paint `colour` (RGB or H×W×3) over `canvas` in place with per-pixel `alpha`.

    Only the bounding box of non-zero alpha is touched: most features cover a
    few hundred pixels, and this keeps a render at a few milliseconds.
    """
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero(alpha.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    a = alpha[box][..., None]
    colour = np.asarray(colour, dtype=canvas.dtype)
    if colour.ndim == 3:
        colour = colour[box]
    target = canvas[box]
    target *= 1.0 - a
    target += colour * a
