"""Every kind of bad or unusual input file: decoded correctly, or refused with a reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lookalike.data.images import ImageRejected, decode_image


def _save(path, im: Image.Image, **kw) -> str:
    im.save(path, **kw)
    return str(path)


def _png_rgb16(pixels: np.ndarray) -> bytes:
    import struct
    import zlib

    h, w, _ = pixels.shape

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_zero_byte_truncated_and_non_image_are_unreadable(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 120, 30)).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (tmp_path / "notes.jpg").write_text("this is not a picture")
    reasons = {}
    for name in ("empty.jpg", "cut.jpg", "notes.jpg"):
        with pytest.raises(ImageRejected) as err:
            decode_image(tmp_path / name)
        assert err.value.outcome == "unreadable"
        reasons[name] = err.value.reason
    assert "empty" in reasons["empty.jpg"]
    assert "truncated" in reasons["cut.jpg"]
    assert "not an image" in reasons["notes.jpg"]


def test_decompression_bomb_is_refused(tmp_path):
    bomb = _save(tmp_path / "bomb.png", Image.new("1", (9000, 9000)))  # 81 MP, a few kB on disk
    with pytest.raises(ImageRejected) as err:
        decode_image(bomb)
    assert err.value.outcome == "too_large"
    small = _save(tmp_path / "small.png", Image.new("RGB", (300, 300)))
    with pytest.raises(ImageRejected):  # PIL's own bomb warning is also turned into a refusal
        decode_image(small, max_pixels=50_000)


def test_modes_become_rgb_without_losing_content(tmp_path):
    cmyk = _save(tmp_path / "cmyk.jpg", Image.new("CMYK", (40, 40), (0, 255, 255, 0)))  # red in CMYK
    out = decode_image(cmyk)
    assert out.rgb.shape == (40, 40, 3) and out.rgb[..., 0].mean() > 200 and out.rgb[..., 1].mean() < 60

    sixteen = np.full((32, 32), 32768, np.uint16)  # mid-gray in 16 bits
    path16 = _save(tmp_path / "g16.png", Image.fromarray(sixteen))
    out = decode_image(path16)
    assert 110 < out.rgb.mean() < 145, "16-bit data must be rescaled, not clipped to white"

    path48 = tmp_path / "rgb48.png"  # 16 bits per channel RGB, which PIL cannot write: built by hand
    path48.write_bytes(_png_rgb16(np.full((20, 30, 3), 40000, ">u2")))
    out = decode_image(path48)
    assert abs(out.rgb.mean() - 40000 / 257) < 2

    rgba = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    out = decode_image(_save(tmp_path / "alpha.png", rgba))
    assert out.rgb.min() == 255, "transparent pixels are composited on white"

    out = decode_image(_save(tmp_path / "gray.png", Image.new("L", (30, 30), 77)))
    assert out.rgb.shape == (30, 30, 3) and (out.rgb == 77).all()


def test_exif_rotation_is_honoured(tmp_path):
    im = Image.new("RGB", (60, 40), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 30, 40))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(tmp_path / "phone.jpg", im, exif=exif.tobytes(), quality=95)
    out = decode_image(path)
    assert out.rgb.shape == (60, 40, 3), "portrait after rotation"
    assert out.rgb[5, 20, 0] > 200 and out.rgb[-5, 20, 2] > 200  # red now on top, blue at the bottom
    assert any("EXIF" in n for n in out.notes)
