"""Small HTML building blocks for the report: escaping, embedded images, tables, notices.

Everything the report shows passes through here, so every piece of text from
a run folder is escaped and every picture is embedded as a data URI: the page
makes no request of its own and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
        ".gif": "image/gif", ".svg": "image/svg+xml"}
MAX_IMAGE_BYTES = 40 * 1024 * 1024  # a figure larger than this is named, not embedded
COMPACT_ABOVE_BYTES = 300 * 1024  # larger figures are re-encoded for the page (see _compact)
MAX_SIDE = 1800


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


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
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        if len(value) <= 6 and all(isinstance(v, (int, float, str, type(None))) for v in value):
            return "[" + ", ".join(fmt(v, digits) for v in value) + "]"
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    return str(value)


def pct(value: Any, digits: int = 1) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "–"
    return f"{100 * value:.{digits}f}%"


def data_uri(path: Path) -> str | None:
    """The file as a data: URI, or None when it is missing, unreadable, too large or not an image."""
    mime = MIME.get(path.suffix.lower())
    try:
        if mime is None or not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
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


def _compact(raw: bytes, mime: str) -> tuple[str, bytes]:
    """Shrink a large figure for the page: at most MAX_SIDE pixels, JPEG when that is much smaller.

    Heatmap grids and photo sheets are ~1 MB as PNG and a tenth of that as a good JPEG; a report
    with a dozen of them should still open quickly and fit in an e-mail. The run folder keeps the originals.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            if max(im.size) > MAX_SIDE:
                im.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
            if im.mode in ("RGBA", "LA", "P"):
                rgba = im.convert("RGBA")
                im = Image.new("RGB", rgba.size, "white")
                im.paste(rgba, mask=rgba.split()[-1])
            else:
                im = im.convert("RGB")
            png, jpg = io.BytesIO(), io.BytesIO()
            im.save(png, format="PNG", optimize=True)
            im.save(jpg, format="JPEG", quality=90, optimize=True)
    except (OSError, ValueError):
        return mime, raw
    best = min((("image/png", png.getvalue()), ("image/jpeg", jpg.getvalue()), (mime, raw)),
               key=lambda t: len(t[1]) * (1.0 if t[0] == "image/jpeg" else 0.6))  # prefer lossless unless 40% larger
    return best


def figure(path: Path, caption: str, alt: str | None = None, cls: str = "") -> str:
    """An embedded picture with its caption; a visible note instead when the file cannot be used."""
    uri = data_uri(path)
    if uri is None:
        return notice(f"{path.name} is missing or unreadable", kind="missing")
    return (f'<figure class="{esc(cls)}"><img src="{uri}" alt="{esc(alt or caption)}" loading="eager">'
            f"<figcaption>{caption}</figcaption></figure>")


def thumb(path: Path, caption: str) -> str:
    uri = data_uri(path)
    if uri is None:
        return ""
    return f'<figure class="thumb"><img src="{uri}" alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>'


def notice(text: str, kind: str = "missing") -> str:
    """A boxed message; `text` is escaped except for <code> spans made by `code()`."""
    return f'<p class="notice {esc(kind)}">{text}</p>'


def code(text: str) -> str:
    return f"<code>{esc(text)}</code>"


def not_run(stage_title: str, command: str) -> str:
    return notice(f"{esc(stage_title)} has not run yet for this run folder. Run {code(command)} "
                  "and then this report again.", kind="missing")


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
          headers: Mapping[str, str] | None = None, row_class: Any = None, raw: Iterable[str] = (),
          cls: str = "") -> str:
    """An HTML table; `raw` columns hold HTML already built here, all other cells are formatted and escaped."""
    if not rows:
        return notice("no rows", kind="info")
    if columns is None:
        columns = []
        for r in rows:
            columns += [k for k in r if k not in columns]
    raw = set(raw)
    headers = headers or {}
    head = "".join(f"<th>{esc(headers.get(c, c))}</th>" for c in columns)
    body = []
    for r in rows:
        rc = row_class(r) if row_class else ""
        cells = "".join(
            f"<td>{r.get(c, '')}</td>" if c in raw else f'<td class="{_cell_class(r.get(c))}">{esc(fmt(r.get(c)))}</td>'
            for c in columns)
        body.append(f'<tr class="{esc(rc or "")}">{cells}</tr>')
    return f'<div class="scroll"><table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _cell_class(value: Any) -> str:
    return "num" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


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
        elif isinstance(v, (str, int, float, bool)) or v is None:
            out[key] = v
        elif isinstance(v, (list, tuple)) and len(v) <= 6 and all(isinstance(x, (int, float, str)) for x in v):
            out[key] = v
    return out


def kv_table(d: Mapping[str, Any] | None, limit: int = 40, **kw: Any) -> str:
    """A two-column table of a summary's scalar entries (the rest is in the appendix)."""
    if not d:
        return ""
    items = list(scalars(d, **kw).items())
    rows = [{"key": k, "value": v} for k, v in items[:limit]]
    more = f'<p class="small">… and {len(items) - limit} more in the appendix.</p>' if len(items) > limit else ""
    return table(rows, ["key", "value"], {"key": "", "value": ""}, cls="kv") + more


def json_block(obj: Any, limit: int = 30_000) -> str:
    text = json.dumps(obj, indent=2, default=str, allow_nan=True)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters in the file)"
    return f"<pre>{esc(text)}</pre>"


CSS = """
:root { --ink:#1d2329; --muted:#5b6670; --line:#dde2e6; --bg:#fbfbfa; --accent:#b3261e; --ok:#1e7b34;
        --warn:#a15c00; --card:#ffffff; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin:0; background:var(--bg); color:var(--ink);
       font-family: "Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, sans-serif; line-height:1.5; }
header.top { background:#20262c; color:#f4f4f2; padding:28px 0 22px; }
header.top h1 { margin:0 0 4px; font-size:1.7rem; font-weight:600; }
header.top p { margin:2px 0; color:#c9cfd4; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
nav.toc { background:var(--card); border-bottom:1px solid var(--line); position:sticky; top:0; z-index:2; }
nav.toc ul { list-style:none; margin:0; padding:8px 0; display:flex; flex-wrap:wrap; gap:4px 14px; }
nav.toc a { color:var(--ink); text-decoration:none; font-size:.93rem; }
nav.toc a:hover { text-decoration:underline; }
.badge { display:inline-block; font-size:.72rem; padding:1px 7px; border-radius:9px; margin-left:4px;
         vertical-align:1px; border:1px solid currentColor; }
.badge.present { color:var(--ok); } .badge.partial { color:var(--warn); } .badge.missing { color:#8a939b; }
.badge.fail { color:#fff; background:var(--accent); border-color:var(--accent); }
.badge.pass { color:var(--ok); }
section.stage { background:var(--card); border:1px solid var(--line); border-radius:8px; margin:22px 0;
                padding:6px 26px 20px; }
section.stage > h2 { font-size:1.3rem; margin:16px 0 6px; font-weight:600; }
h3 { font-size:1.05rem; margin:20px 0 6px; font-weight:600; }
p.lead { color:var(--muted); margin-top:0; }
.small { font-size:.85rem; color:var(--muted); }
.notice { border-left:4px solid #8a939b; background:#f2f4f5; padding:8px 12px; border-radius:3px; }
.notice.missing { border-color:#8a939b; } .notice.error { border-color:var(--accent); background:#fbeceb; }
.notice.info { border-color:#3b7dd8; background:#edf3fb; }
blockquote.hint { font-size:1.25rem; margin:10px 0; padding:12px 18px; border-left:5px solid var(--accent);
                  background:#fdf6f5; font-style:normal; }
table { border-collapse:collapse; margin:8px 0 4px; font-size:.92rem; }
th, td { border-bottom:1px solid var(--line); padding:4px 10px; text-align:left; vertical-align:top; }
th { background:#f3f5f6; font-weight:600; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
table.kv td:first-child { color:var(--muted); }
tr.fail td { background:#fbeceb; }
tr.fail td:first-child::after { content:"  fails sanity"; color:var(--accent); font-size:.78rem; font-weight:600; }
.scroll { overflow-x:auto; }
figure { margin:10px 0 16px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; background:#fff; }
figcaption { font-size:.88rem; color:var(--muted); margin-top:3px; }
.grid { display:grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap:8px 18px; }
.thumbs { display:flex; flex-wrap:wrap; gap:8px; }
figure.thumb { margin:0; width:104px; } figure.thumb img { width:104px; height:104px; image-rendering:auto; }
figure.thumb figcaption { font-size:.72rem; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.swatch { display:inline-block; width:22px; height:14px; border:1px solid #999; vertical-align:-2px; }
.cols { display:grid; grid-template-columns: 1fr 1fr; gap: 0 28px; }
@media (max-width: 760px) { .cols { grid-template-columns: 1fr; } section.stage { padding:4px 14px 14px; } }
.eq { font-family: Georgia, "Times New Roman", serif; font-size:1.08rem; }
.frac { display:inline-flex; flex-direction:column; vertical-align:middle; text-align:center; margin:0 4px; }
.frac > span:first-child { border-bottom:1px solid var(--ink); padding:0 4px; }
.overview td:first-child { font-weight:600; }
pre { background:#f5f6f7; padding:10px; border-radius:4px; overflow-x:auto; font-size:.8rem; max-height:420px; }
details { margin:6px 0; } summary { cursor:pointer; font-weight:600; }
footer { color:var(--muted); font-size:.85rem; padding:18px 0 40px; }
@media print {
  nav.toc { display:none; } body { background:#fff; } header.top { background:#fff; color:#000; }
  header.top p { color:#333; } section.stage { border:none; break-inside:auto; padding:0; }
  figure { break-inside: avoid; } pre { max-height:none; white-space:pre-wrap; }
  details:not([open]) > *:not(summary) { display:none; }
}
"""
