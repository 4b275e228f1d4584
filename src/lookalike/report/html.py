"""What the report's templates show values as: numbers people read, embedded pictures, table rows.

Every picture is embedded as a data URI, so the page makes no request of its
own and can be mailed as one file. Escaping is the templates' job (Jinja2
autoescapes everything), so nothing here builds HTML.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
        ".gif": "image/gif", ".svg": "image/svg+xml"}
MAX_IMAGE_BYTES = 40 * 1024 * 1024  # a figure larger than this is named, not embedded
COMPACT_ABOVE_BYTES = 8 * 1024  # larger figures are re-encoded for the page (see _compact)
MAX_SIDE = 1000  # pixels: the page shows a figure at most ~1070 px wide, most in two columns
LOSSY_QUALITY = 85  # of a figure embedded as lossy WebP (heatmaps and faces keep their detail)
LOSSY_BELOW = 0.7  # lossy only under 70% of the lossless bytes (the demo: plots 0.8-0.9, photo sheets 0.5-0.6)


def fmt(value: Any, digits: int = 4) -> str:
    """A number as a person reads it: no float noise, nan as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ") if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.{digits - 1}e}"
        if abs(value) < 0.01:  # 0.0015, not 0.001534: at most four decimals
            return f"{value:.{min(digits, 2)}g}"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        if len(value) <= 6 and all(isinstance(v, (int, float, str, type(None))) for v in value):
            return "[" + ", ".join(fmt(v, digits) for v in value) + "]"
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    return str(value)


def number(value: Any) -> float | None:
    """A finite float from a JSON or CSV value, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def pct(value: Any, digits: int = 1) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    return f"{100 * value:.{digits}f}%"


def data_uri(path: Path, photo: bool = False, side: int = 0, quality: int = LOSSY_QUALITY) -> str | None:
    """The file as a data: URI, or None when it is missing, unreadable, too large or not an image.

    `photo`: a face photo, embedded as a good JPEG at any size (a 128×128 PNG face is ~30 KB, its JPEG ~5 KB).
    `side`: at most this many pixels wide or high (a figure the page shows in a column), re-encoded to fit.
    `quality`: of the lossy WebP a photo sheet or heatmap grid may become (see _compact)."""
    mime = MIME.get(path.suffix.lower())
    try:
        if mime is None or not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    if not raw or not _decodes(raw):
        return None
    if photo and mime == "image/png":
        mime, raw = _as_jpeg(raw)
    elif (len(raw) > COMPACT_ABOVE_BYTES or side) and mime in ("image/png", "image/jpeg", "image/webp"):
        mime, raw = _compact(raw, mime, side or MAX_SIDE, quality)
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _as_jpeg(raw: bytes, quality: int = 90) -> tuple[str, bytes]:
    """A photo as JPEG when that is smaller (it nearly always is); the PNG otherwise."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            out = io.BytesIO()
            im.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    except (OSError, ValueError):
        return "image/png", raw
    return ("image/jpeg", out.getvalue()) if out.tell() < len(raw) else ("image/png", raw)


def bytes_uri(raw: bytes | None, mime: str = "image/png") -> str | None:
    """A picture made for the page (e.g. Figure 2 drawn from the network) as a data: URI, compacted like files."""
    if not raw or not _decodes(raw):
        return None
    if len(raw) > COMPACT_ABOVE_BYTES and mime in ("image/png", "image/jpeg", "image/webp"):
        mime, raw = _compact(raw, mime)
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _decodes(raw: bytes) -> bool:
    """Whether the bytes are an image a browser can show (a truncated PNG would be a broken picture)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
        return True
    except Exception:  # noqa: BLE001 - PIL raises many kinds for bad files
        return False


def _compact(raw: bytes, mime: str, side: int = MAX_SIDE, quality: int = LOSSY_QUALITY) -> tuple[str, bytes]:
    """Shrink a figure for the page: at most `side` pixels, then the smaller of a lossless 256-colour WebP and
    a good lossy WebP, lossless unless the lossy one is under LOSSY_BELOW of its size (the file as it is also
    competes when it needs no resizing).

    Plots, diagrams and Table-1 pixel maps have few colours: the palette keeps them exact to the eye, and WebP
    stores it in 10-25% fewer bytes than a PNG. Photo sheets and heatmap grids take half the bytes of their
    256-colour PNG and two thirds of a JPEG of the same quality as lossy WebP, with no more error than either
    (benchmarks/report_size.py). A report with a few dozen figures should open quickly and fit in an e-mail;
    the run folder keeps the originals. Every current browser, and Chromium's print to PDF, shows WebP.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            resized = max(im.size) > side
            if resized:
                im.thumbnail((side, side), Image.LANCZOS)
            im = _on_white(im)
            palette = im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
            lossless = [("image/webp", _webp(palette, lossless=True))]
            lossy = [("image/webp", _webp(im, quality=quality))]
    except (OSError, ValueError):
        return mime, raw
    if not resized:
        (lossless if mime == "image/png" else lossy).append((mime, raw))
    best_lossless = min(lossless, key=lambda t: len(t[1]))
    best_lossy = min(lossy, key=lambda t: len(t[1]))
    return best_lossy if len(best_lossy[1]) < LOSSY_BELOW * len(best_lossless[1]) else best_lossless


def _on_white(im: Any) -> Any:
    """RGB, transparent parts on white (the page is white, and a palette has no room for alpha)."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "P", "PA"):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.split()[-1])
        return flat
    return im.convert("RGB")


def _webp(im: Any, **options: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, format="WEBP", **options)
    return out.getvalue()


@dataclass(frozen=True)
class Cell:
    """A table cell with a second, smaller line (e.g. a score and its interval)."""

    value: Any
    note: str | None = None


def cell_class(value: Any) -> str:
    return "num" if isinstance(value, int | float) and not isinstance(value, bool) else ""


def columns_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every key of the rows, in order of first appearance (keys starting with _ are for the template)."""
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns and not k.startswith("_")]
    return columns


def scalars(d: Mapping[str, Any], skip: Iterable[str] = ("info",), prefix: str = "", depth: int = 1) -> dict[str, Any]:
    """The readable key → value pairs of a summary (nested dicts flattened once with dotted keys)."""
    out: dict[str, Any] = {}
    skip = set(skip)
    for k, v in d.items():
        if k in skip:
            continue
        key = f"{prefix}{k}"
        if isinstance(v, dict) and depth > 0:
            out.update(scalars(v, skip, f"{key}.", depth - 1))
        elif isinstance(v, str | int | float | bool) or v is None:
            out[key] = v
        elif isinstance(v, list | tuple) and len(v) <= 6 and all(isinstance(x, int | float | str) for x in v):
            out[key] = v
    return out


def kv_rows(d: Mapping[str, Any] | None, limit: int = 40) -> tuple[list[dict[str, Any]], int]:
    """Two-column rows of a summary's scalar entries, and how many more there are."""
    if not d:
        return [], 0
    items = list(scalars(d).items())
    return [{"key": k, "value": v} for k, v in items[:limit]], max(0, len(items) - limit)


def shown_value(value: Any, format: str) -> str:
    """A key number as its contract field says to show it."""
    if format == "percent":
        return pct(value)
    if format == "seconds":
        return "–" if value is None else f"{fmt(value, 3)} s"
    if format == "list":
        return ", ".join(map(str, value)) if value else "–"
    return fmt(value)


def key_numbers(record: Any) -> list[dict[str, str]]:
    """The fields of a stage's summary that its contract marks as shown (`shown(...)`), with their labels."""
    if record is None or not hasattr(record, "shown_fields"):
        return []
    return [{"key": label, "value": shown_value(getattr(record, name), format)}
            for name, label, format in record.shown_fields() if getattr(record, name) not in (None, [], {})]


def json_text(obj: Any, limit: int = 30_000) -> str:
    import json

    text = json.dumps(obj, indent=2, default=str, allow_nan=True)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters in the file)"
    return text
