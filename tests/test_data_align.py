"""Alignment: the similarity fit is exact, and real faces pasted into made-up photos land on the template."""

from __future__ import annotations

import numpy as np
from PIL import Image

from conftest import shared_data
from lookalike.data.align import apply_affine, umeyama
from lookalike.data.extract import Job, Settings, extract
from lookalike.face.template import EYE_LEFT, EYE_RIGHT, TEMPLATE_68


def test_umeyama_recovers_a_known_similarity():
    angle, scale, shift = np.deg2rad(23), 1.7, np.array([12.0, -40.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = TEMPLATE_68.astype(np.float64)
    dst = src @ rot.T + shift
    m = umeyama(src, dst)
    np.testing.assert_allclose(m[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(apply_affine(m, src), dst, atol=1e-3)


def _eye_error(landmarks: np.ndarray) -> float:
    return max(float(np.linalg.norm(landmarks[idx].mean(0) - TEMPLATE_68[idx].mean(0))) for idx in (EYE_LEFT, EYE_RIGHT))


def test_faces_pasted_into_a_photo_are_found_and_aligned(tmp_path):
    raw = shared_data("raw-photos")
    a = Image.open(sorted((raw / "aamir_khan").iterdir())[0]).convert("RGB")
    b = Image.open(sorted((raw / "amitabh_bachchan").iterdir())[1]).convert("RGB")
    canvas = Image.new("RGB", (900, 520), (40, 90, 60))
    canvas.paste(a.rotate(12, expand=True, fillcolor=(40, 90, 60)).resize((int(a.width * 1.6), int(a.height * 1.6))),
                 (20, 40))
    canvas.paste(b.resize((int(b.width * 0.9), int(b.height * 0.9))), (520, 90))
    path = tmp_path / "group photo.jpg"
    canvas.save(path, quality=92)
    res = extract(Job(str(path), "x/group photo.jpg", "photo"), Settings(embed=False))
    assert res.outcome == "ok" and len(res.faces) >= 2, res
    for face in res.faces:
        assert face.crop.shape == (128, 128, 3) and face.crop.dtype == np.uint8
        assert _eye_error(face.landmarks) < 4.0, "eyes must land where TEMPLATE_68 puts them"
    assert res.faces[0].box[0] < res.faces[-1].box[0], "faces are listed left to right"


def test_no_face_is_reported(tmp_path):
    path = tmp_path / "wall.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(path)
    res = extract(Job(str(path), "x/wall.png", "photo"), Settings(embed=False))
    assert res.outcome == "no_face" and res.faces == []
