"""How the report embeds the stages' figures (issue 17: the demo's page under 3 MB with the same figures).

The pictures are drawn by the stages' own code: a Figure-5 grid of faces and pixel maps, and Figure 3's
curves. Photo-like grids must shrink to a lossy WebP that keeps the faces' detail, plots to a lossless one.
benchmarks/report_size.py measures the demo's page itself.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.contract import SPLIT
from lookalike.fakerun import make_fake_run
from lookalike.fooling.figures import PanelImages, save_grid
from lookalike.fooling.pixelmap import pixel_map
from lookalike.report.html import MAX_SIDE, data_uri
from lookalike.training.curves import plot_curves


def embedded(uri: str | None) -> tuple[str, bytes, Image.Image]:
    """The mime type, bytes and picture of a data: URI."""
    assert uri is not None
    head, payload = uri.split(",", 1)
    raw = base64.b64decode(payload)
    return head.removeprefix("data:").removesuffix(";base64"), raw, Image.open(io.BytesIO(raw))


def as_shown(path: Path, size: tuple[int, int]) -> Image.Image:
    """The original figure on white, at the size the page embeds it."""
    with Image.open(path) as im:
        rgba = im.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.split()[-1])
    return flat if flat.size == size else flat.resize(size, Image.LANCZOS)


def psnr(a: Image.Image, b: Image.Image) -> float:
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(10 * np.log10(255**2 / np.mean(d**2)))


def fooling_grid(tmp_path: Path) -> Path:
    """Figure 5's grid of 12 planted faces with a sparse change each, as the fool stage draws it."""
    run = make_fake_run(tmp_path / "run", 6, faces="planted", seed=0)
    faces = [np.asarray(Image.open(run.data / r.path).convert("RGB")) for r in SPLIT.load_records(run).value]
    rng = np.random.default_rng(0)
    panels = []
    for a in faces[:12]:
        changed = rng.random(a.shape[:2]) < 0.01
        b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape) * changed[..., None], 0, 255).astype(np.uint8)
        panels.append(PanelImages(original=a, pixel_map=pixel_map(a, b), fooled=b, before="person_a 97%",
                                  after="→ person_b 91%"))
    return save_grid(tmp_path / "grid.png", panels, "Fooling the classifier", scale_note="255 = each image's largest change")


def test_a_grid_of_faces_goes_in_as_a_small_lossy_webp_that_keeps_their_detail(tmp_path):
    grid = fooling_grid(tmp_path)
    mime, raw, shown = embedded(data_uri(grid))
    assert mime == "image/webp" and raw[12:16] == b"VP8 "  # lossy WebP
    assert max(shown.size) <= MAX_SIDE < max(Image.open(grid).size)
    assert len(raw) < 0.25 * grid.stat().st_size  # the PNG is ~830 KB, the page's copy ~95 KB
    original = as_shown(grid, shown.size)
    # brightness carries the faces' detail (quality 85 gives ~42 dB here, 70 would give ~39); colour is
    # halved in resolution by WebP, so it is held to less (~34 dB, the 256-colour PNG it replaces gets ~35)
    assert psnr(shown.convert("L"), original.convert("L")) > 40
    assert psnr(shown.convert("RGB"), original) > 32


def test_plots_go_in_as_lossless_webp_smaller_than_their_png(tmp_path):
    records = [{"epoch": e, "train_accuracy": 0.5 + e / 40, "val_accuracy": 0.5 + e / 45,
                "train_loss": 1 / (e + 1), "val_loss": 1.1 / (e + 1)} for e in range(1, 15)]
    for path in plot_curves(records, tmp_path, "classifier"):
        mime, raw, shown = embedded(data_uri(path))
        assert mime == "image/webp" and raw[12:16] == b"VP8L", path.name  # lossless WebP
        assert shown.size == Image.open(path).size
        assert len(raw) < 0.5 * path.stat().st_size, path.name
        diff = np.abs(np.asarray(shown.convert("RGB"), dtype=int) - np.asarray(as_shown(path, shown.size), dtype=int))
        assert diff.mean() < 0.1 and np.percentile(diff, 99.9) <= 8, path.name  # lines and text as drawn


def test_a_face_photo_stays_a_jpeg_at_its_size(tmp_path):
    run = make_fake_run(tmp_path / "run", 3, faces="planted", seed=1)
    face = run.data / SPLIT.load_records(run).value[0].path
    mime, raw, shown = embedded(data_uri(face, photo=True))
    assert mime == "image/jpeg" and shown.size == Image.open(face).size and len(raw) < face.stat().st_size
