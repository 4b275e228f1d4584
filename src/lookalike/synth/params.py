"""What makes the two synthetic people different, and everything that varies but must not matter.

Identity parameters are fixed per person and differ only for the *planted*
regions; nuisance parameters are drawn per image from one distribution that
is the same for both people, so the only signal that separates them is the
planted one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IDENTITIES = ("person_a", "person_b")

# region -> {parameter: (value midway between the two people, B minus A at strength 1)}
REGIONS: dict[str, dict[str, tuple[float, float]]] = {
    "forehead": {"hairline": (27.0, -6.0)},  # canonical y of the hairline centre; B's forehead is taller
    # where the cheekbones sit, how far they stand out, and how dark the skin is over them (a contour in the
    # albedo, so it shows under every light; the shading of the bump alone changes with the light's direction)
    "cheekbones": {"cheek_dx": (0.0, 2.0), "cheek_dy": (0.0, -0.75), "cheek_amp": (2.4, 2.8), "cheek_tone": (0.0, -0.4)},
    # nose, jaw and mouth were made plainer (2026-12-04). With only nose_width 1.6 / nose_length 2.0,
    # jaw_width 3.0 and mouth_width 2.6, strength 3 changed far fewer pixels than the cheekbones do (summed
    # change: nose 0.44x, jaw 0.65x, mouth 0.12x), a logistic regression on 56x56 grey pixels told the people
    # apart 75 %, 73 % and 63 % of the time (a linear model on 32x32-pooled pixels of cheekbones@3: 99.3 %),
    # and both tiny networks of benchmarks/hint_recovery.py stayed at chance in all three worlds. So the nose
    # also differs in the height of its bridge and the tone of its skin (its shape alone shows only in the
    # shading, which the light changes), the jaw by half as much again, and the mouth in width, fullness and
    # the tone of the lips; all of it stays inside the feature of the same name (tests/test_synth.py). The
    # demo's two regions are unchanged, and a face that does not plant these renders exactly as before.
    "nose": {"nose_width": (0.0, 1.6), "nose_length": (0.0, 2.0), "nose_bridge": (0.0, 0.4),
             "nose_tone": (0.0, -0.3)},
    "jaw": {"jaw_width": (0.0, 4.5)},
    "eyes": {"eye_size": (0.0, 0.14)},
    "mouth": {"mouth_width": (0.0, 4.0), "lip_full": (0.0, 0.6), "lip_tone": (0.0, -0.07)},
    "eyebrows": {"brow_thick": (0.0, 0.9)},
}
DEFAULT_REGIONS = ("forehead", "cheekbones")

SKIN_TONES = np.array([[0.96, 0.80, 0.69], [0.92, 0.72, 0.60], [0.85, 0.64, 0.50], [0.76, 0.55, 0.42],
                       [0.62, 0.43, 0.31], [0.48, 0.32, 0.23], [0.36, 0.24, 0.17]])
HAIR_COLOURS = np.array([[0.08, 0.06, 0.05], [0.20, 0.13, 0.08], [0.36, 0.23, 0.13], [0.55, 0.38, 0.20],
                         [0.80, 0.65, 0.40], [0.50, 0.20, 0.08], [0.62, 0.60, 0.58]])
IRIS_COLOURS = np.array([[0.30, 0.18, 0.08], [0.20, 0.12, 0.06], [0.25, 0.42, 0.60], [0.30, 0.45, 0.28],
                         [0.45, 0.35, 0.18]])


def check_regions(regions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate region names with a message that lists the ones we can plant."""
    regions = tuple(dict.fromkeys(r.strip() for r in regions if r.strip()))
    unknown = [r for r in regions if r not in REGIONS]
    if unknown or not regions:
        raise ValueError(f"unknown region(s) {unknown or regions!r}: choose from {', '.join(REGIONS)}")
    return regions


def identity_params(label: int, regions: tuple[str, ...], strength: float = 1.0) -> dict[str, float]:
    """Parameters of person `label` (0 = A, 1 = B): the planted regions differ, the rest is shared."""
    sign = -0.5 if label == 0 else 0.5
    params: dict[str, float] = {}
    for region, table in REGIONS.items():
        for key, (mid, delta) in table.items():
            params[key] = mid + (sign * strength * delta if region in regions else 0.0)
    return params


def shown_regions(rng: np.random.Generator, regions: tuple[str, ...], dropout: float) -> tuple[str, ...]:
    """The planted regions one face shows: each is left at the midway value (neither person's) with
    probability `dropout`, but at least one stays, so no single region tells every face apart and a network
    that is right on every face must have learnt all of them."""
    if dropout <= 0 or len(regions) < 2:
        return regions
    kept = tuple(r for r in regions if rng.random() >= dropout)
    return kept or (regions[int(rng.integers(len(regions)))],)


def swap_region(params: dict[str, float], other: dict[str, float], region: str) -> dict[str, float]:
    """`params` with the parameters of one region taken from the other person."""
    out = dict(params)
    for key in REGIONS[region]:
        out[key] = other[key]
    return out


def _pick(rng: np.random.Generator, palette: np.ndarray, jitter: float) -> list[float]:
    base = palette[rng.integers(len(palette))]
    return np.clip(base * (1.0 + rng.normal(0.0, jitter, 3)), 0.0, 1.0).round(4).tolist()


def sample_nuisance(rng: np.random.Generator) -> dict[str, Any]:
    """One image's nuisance: pose, light, skin, hair, expression, gaze, glasses, background, camera."""
    u = rng.uniform
    return {
        # pose: similarity transform of the aligned face (degrees, factor, pixels)
        "rotation": float(u(-9.0, 9.0)), "scale": float(u(0.92, 1.08)),
        "tx": float(u(-4.0, 4.0)), "ty": float(u(-4.0, 4.0)),
        # small face-shape jitter that is not identity (pixels)
        "eye_dy": float(u(-1.0, 1.0)), "eye_gap": float(u(-1.0, 1.0)), "mouth_dy": float(u(-1.2, 1.2)),
        "face_width": float(u(-1.5, 1.5)),
        # light: direction, colour, strength
        "light_azimuth": float(u(0.0, 360.0)), "light_elevation": float(u(35.0, 75.0)),
        "light_colour": np.clip(1.0 + rng.normal(0, 0.07, 3), 0.8, 1.15).round(4).tolist(),
        "ambient": float(u(0.35, 0.6)), "exposure": float(u(0.8, 1.15)), "contrast": float(u(0.85, 1.15)),
        "skin": _pick(rng, SKIN_TONES, 0.04), "blush": float(u(0.0, 0.12)),
        # hair never covers the forehead band: styles vary volume, length, sideburns, texture
        "hair": _pick(rng, HAIR_COLOURS, 0.08), "hair_volume": float(u(1.0, 9.0)),
        "hair_width": float(u(1.0, 7.0)), "hair_length": str(rng.choice(["short", "medium", "long"])),
        "hairline_arch": float(u(1.5, 6.0)), "hairline_jag": float(u(0.3, 1.2)),
        "hair_phase": float(u(0.0, 6.283)), "hair_angle": float(u(-0.6, 0.6)), "sideburn": float(u(56.0, 72.0)),
        # expression and gaze
        "mouth_open": float(u(0.0, 5.0) if rng.random() < 0.45 else 0.0), "smile": float(u(-0.8, 2.2)),
        "brow_raise": float(u(-1.0, 1.5)), "eye_open": float(u(0.65, 1.15)),
        "gaze_x": float(u(-1.5, 1.5)), "gaze_y": float(u(-0.7, 0.7)), "iris": _pick(rng, IRIS_COLOURS, 0.1),
        "glasses": bool(rng.random() < 0.25), "glasses_colour": _pick(rng, HAIR_COLOURS[[0, 1, 6]], 0.2),
        "glasses_round": float(u(0.0, 1.0)),
        # background and clothes
        "background": np.clip(rng.uniform(0.1, 0.95, 3), 0, 1).round(4).tolist(),
        "background_blur": float(u(0.0, 2.0)), "clutter": int(rng.integers(2, 9)),
        "clothes": np.clip(rng.uniform(0.05, 0.9, 3), 0, 1).round(4).tolist(),
        # camera
        "blur": float(u(0.0, 1.0)), "noise": float(u(0.5, 5.0)),
        "jpeg": int(rng.integers(35, 93)) if rng.random() < 0.7 else 0,
        "seed": int(rng.integers(0, 2**31 - 1)),  # clutter layout and sensor noise
    }


def clean(nuisance: dict[str, Any]) -> dict[str, Any]:
    """The same image without camera degradations (blur, noise, JPEG): for exact pixel checks."""
    return {**nuisance, "blur": 0.0, "noise": 0.0, "jpeg": 0}
