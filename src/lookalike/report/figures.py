"""Pieces the report draws from the run itself: Figure 1's pair, Figures 2 and 6, the map of the faces.

Nothing here writes into a stage's folder: pictures are returned as bytes or HTML for the page.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runfolder import Run
from .read import load_csv, load_json

FIGURE1_QUESTION = ("Are these 2 images of the same person or of different people? If different, what "
                    "distinguishing features can you observe? If same, what features are most similar?")


@dataclass
class Pair:
    a: Path
    b: Path
    same: bool
    names: tuple[str, str]  # who is shown, left and right


def figure1_pair(run: Run) -> Pair | None:
    """A real pair of test faces: the first pair of two people the Siamese network was tested on, or one
    test face of each person when it has not been trained. None when the run has no test faces."""
    split = load_csv(run.split_csv).value or []
    who = {r.get("path"): r.get("identity", "?") for r in split}
    pairs = load_csv(run.model("siamese") / "test_pairs.csv").value or []
    for r in pairs:
        if str(r.get("same")) == "0" and r.get("a") in who and r.get("b") in who:
            return Pair(run.data / r["a"], run.data / r["b"], False, (who[r["a"]], who[r["b"]]))
    firsts: dict[str, str] = {}
    for r in split:
        if r.get("split") == "test":
            firsts.setdefault(r.get("label", "?"), r.get("path", ""))
    if len(firsts) < 2:
        return None
    a, b = (firsts[k] for k in sorted(firsts)[:2])
    return Pair(run.data / a, run.data / b, False, (who[a], who[b]))


def architecture_png(run: Run, kind: str) -> tuple[bytes, Any] | None:
    """Figure 2 (classifier) or 6 (Siamese) traced from the network saved in models/<kind>/, and the trace."""
    from ..models.diagram import draw_png, trace_saved

    folder = run.model(kind)
    if not (folder / "model.json").is_file():
        return None
    arch = trace_saved(folder)
    people = load_json(run.identities_json).value
    classes = tuple(map(str, people)) if kind == "classifier" and isinstance(people, list) and people else None
    return draw_png(arch, classes=classes), arch


# --- the map of the faces --------------------------------------------------------------------------

FACEMAP_CSS = """
.fm { display:grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 8px 28px; }
.fm-plot { position:relative; aspect-ratio: 1 / 1; border:1px solid var(--line); border-radius:4px;
           background:#fff; margin: 4px 0; }
.fm-plot > b { position:absolute; width:9px; height:9px; margin:-4.5px 0 0 -4.5px; border-radius:50%;
               border:1.5px solid; box-sizing:border-box; outline:none; }
.fm-plot > b.p0 { border-color:#1f77b4; } .fm-plot > b.p1 { border-color:#d95f02; }
.fm-plot > b.test.p0 { background:#1f77b4; } .fm-plot > b.test.p1 { background:#d95f02; }
.fm-plot > b.val { border-radius:1px; }
.fm-plot > b.no { box-shadow: 0 0 0 2px #000; }
.fm-plot > b > span { display:none; position:absolute; left:10px; top:-6px; z-index:3; background:#fff;
                      border:1px solid #888; border-radius:3px; padding:3px; font:400 .72rem/1.25 sans-serif;
                      color:#111; white-space:nowrap; box-shadow:0 1px 4px rgba(0,0,0,.25); }
.fm-plot > b:hover, .fm-plot > b:focus { z-index:4; transform:scale(1.5); }
.fm-plot > b:hover > span, .fm-plot > b:focus > span { display:block; }
.fm-face { display:block; width:40px; height:40px; margin-bottom:2px; }
.fm-key { font-size:.8rem; color:var(--muted); }
.fm-key i { display:inline-block; width:9px; height:9px; border-radius:50%; border:1.5px solid;
            vertical-align:-1px; margin:0 3px 0 10px; }
@media print { .fm-plot > b > span { display:none !important; } }
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _sprite_css(run: Run, thumbs: dict[str, Any]) -> str:
    """The hover pictures as one CSS background (one JPEG for every face on both maps)."""
    path = run.root / "facemap" / str(thumbs.get("file", "thumbs.jpg"))
    try:
        raw = path.read_bytes()
    except OSError:
        return ""
    if not raw.startswith(b"\xff\xd8"):  # not a JPEG: show the maps without pictures
        return ""
    uri = "data:image/jpeg;base64," + base64.b64encode(raw).decode("ascii")
    return f".fm-face {{ background-image:url({uri}); }}"


def _point(p: dict[str, str], names: list[str], size: int, columns: int) -> str:
    try:
        x, y, thumb = float(p["x"]), float(p["y"]), int(p.get("thumb") or -1)
        label = int(p["label"])
    except (KeyError, TypeError, ValueError):
        return ""
    if not (0 <= x <= 1 and 0 <= y <= 1) or label not in (0, 1):
        return ""
    split = p.get("split", "")
    ok = p.get("correct") == "1"
    person = names[label] if label < len(names) else p.get("identity", "?")
    face = ""
    if thumb >= 0:
        face = (f'<i class="fm-face" style="background-position:-{(thumb % columns) * size}px '
                f'-{(thumb // columns) * size}px"></i>')
    said = "right" if ok else f"wrong: taken for {p.get('predicted', '?')}"
    css_split = split if split in ("train", "val", "test") else "train"
    return (f'<b class="p{label} {css_split}{"" if ok else " no"}" tabindex="0" '
            f'style="left:{100 * x:.2f}%;top:{100 * (1 - y):.2f}%">'
            f"<span>{face}{_esc(person)} · {_esc(split)} · {_esc(said)}</span></b>")


def facemap_plot(run: Run, kind: str, summary: dict[str, Any]) -> str:
    """One network's map as positioned dots (hover or focus shows the face); '' when its CSV is unusable."""
    rows = load_csv(run.root / "facemap" / f"{kind}.csv").value
    if not rows:
        return ""
    thumbs = summary.get("thumbs") or {}
    size, columns = int(thumbs.get("size", 40)), max(1, int(thumbs.get("columns", 20)))
    names = [str(n) for n in summary.get("identities") or []]
    dots = "".join(_point(p, names, size, columns) for p in rows)
    return f'<div class="fm-plot" role="img" aria-label="map of the faces as the {_esc(kind)} sees them">{dots}</div>'


def facemap_key(names: list[str]) -> str:
    colours = ("#1f77b4", "#d95f02")
    people = "".join(f'<i style="border-color:{c};background:{c}"></i>{_esc(n)}' for c, n in zip(colours, names))
    return (f'<p class="fm-key">{people} · filled: test face, ring: training face, square: validation face, '
            '<i style="border-color:#999;box-shadow:0 0 0 2px #000"></i>black edge: the network gets it wrong. '
            "Point at or tab to a face to see it.</p>")


def facemap_style(run: Run, summary: dict[str, Any]) -> str:
    return f"<style>{FACEMAP_CSS}{_sprite_css(run, summary.get('thumbs') or {})}</style>"
