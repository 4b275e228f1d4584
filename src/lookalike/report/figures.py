"""What the report draws from the run itself: Figure 1's pair, Figures 2 and 6, the map of the faces.

Nothing here writes into a stage's folder: Figures 2 and 6 are traced from the saved networks and
embedded as bytes; the map of the faces is a list of dots for its template.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract import FACEMAP_POINTS, SPLIT, TEST_PAIRS, FacemapSummary, MapPoint
from ..errors import InputError
from ..runfolder import Run
from .words import network_name

FIGURE1_QUESTION = ("Are these 2 images of the same person or of different people? If different, what "
                    "distinguishing features can you observe? If same, what features are most similar?")
MAP_COLOURS = ("#1f77b4", "#d95f02")  # person 0, person 1 (as facemap/<kind>.png)
MAX_DOTS = 500  # per map: test faces first, the rest spread (the page stays small; the CSV has every face)
THUMBS_QUALITY = 70  # of the hover faces' sprite in the page: 40 px faces, shown one at a time
MARGIN = 3.0  # percent of the plot kept free on each side, so no dot sits on its frame


@dataclass
class Pair:
    a: Path
    b: Path
    names: tuple[str, str]  # who is shown, left and right


def figure1_pair(run: Run) -> Pair | None:
    """A real pair of test faces: the first two-person pair the Siamese network was tested on, or the first
    test face of each person when it has not been trained. None when the run has no test faces of both."""
    split = SPLIT.load_records(run).value or []
    who = {r.path: r.identity for r in split}
    for p in TEST_PAIRS.load_records(run).value or []:
        if not p.same and p.a in who and p.b in who:
            return Pair(run.data / p.a, run.data / p.b, (who[p.a], who[p.b]))
    firsts: dict[int, str] = {}
    for r in split:
        if r.split == "test":
            firsts.setdefault(int(r.label), r.path)
    if len(firsts) < 2:
        return None
    a, b = firsts[0], firsts[1]
    return Pair(run.data / a, run.data / b, (who[a], who[b]))


@dataclass
class Drawing:
    png: bytes
    caption: str


def architecture(run: Run, kind: str, people: list[str]) -> Drawing | None:
    """Figure 2 (classifier) or 6 (Siamese) traced from the network saved in models/<kind>/."""
    from ..models.diagram import draw_png, trace_saved

    folder = run.model(kind)
    if not (folder / "model.json").is_file():
        return None
    try:
        arch = trace_saved(folder)
    except (InputError, OSError, ValueError, KeyError, RuntimeError):
        return None
    classes = tuple(people) if kind == "classifier" and people else None
    shape = "×".join(map(str, arch.working_shape[-2:]))
    if kind == "classifier":
        text = (f"Figure 2. The classifier as built by this run: {arch.weight_layers} weight layers "
                f"({arch.convolutions} convolutions), {arch.parameters:,} parameters, the face seen at {shape}; "
                "the paper's variant of VGG has 21 layers at 128×128. Traced from the saved network.")
    else:
        text = (f"Figure 6. The Siamese network as built by this run: each face goes through the same branch of "
                f"{arch.convolutions} convolutions at {shape}, the two are joined in the dense layers, "
                f"{arch.parameters:,} parameters in all; the paper's has 10 weight layers per branch. Traced from "
                "the saved network.")
    return Drawing(draw_png(arch, classes=classes), text)


# --- the map of the faces --------------------------------------------------------------------------

@dataclass
class Dot:
    left: float  # percent
    top: float  # percent
    css: str  # p0|p1, train|val|test, "no" for a mistake
    person: str
    split: str
    said: str
    thumb: tuple[int, int] | None  # background offset of its picture in thumbs.jpg


def _dot(p: MapPoint, names: list[str], size: int, columns: int) -> Dot | None:
    if not (0 <= p.x <= 1 and 0 <= p.y <= 1) or p.label not in (0, 1):
        return None
    split = p.split if p.split in ("train", "val", "test") else "train"
    said = "right" if p.correct else f"wrong: taken for {p.predicted}"
    thumb = ((p.thumb % columns) * size, (p.thumb // columns) * size) if p.thumb >= 0 else None
    return Dot(round(MARGIN + (100 - 2 * MARGIN) * p.x, 2), round(MARGIN + (100 - 2 * MARGIN) * (1 - p.y), 2), f"p{p.label} {split}{'' if p.correct else ' no'}",
               names[p.label] if p.label < len(names) else p.identity, split, said, thumb)


def _spread(points: list[MapPoint], n: int) -> list[MapPoint]:
    """Every test face, then the other faces spread evenly, `n` in all."""
    test = [p for p in points if p.split == "test"][:n]
    rest = [p for p in points if p.split != "test"]
    room = n - len(test)
    if len(rest) > room:
        rest = [rest[int(k * len(rest) / room)] for k in range(room)] if room > 0 else []
    return test + rest


def facemap_networks(run: Run, summary: FacemapSummary) -> list[dict[str, Any]]:
    """Each mapped network's dots and numbers for the template (a network whose CSV is unusable is left out)."""
    size, columns = summary.thumbs.size, max(1, summary.thumbs.columns)
    out = []
    for kind, entry in summary.networks.items():
        points = FACEMAP_POINTS.load_records(run, kind=kind)
        if not points.ok:
            continue
        dots = [d for d in (_dot(p, summary.identities, size, columns) for p in _spread(points.value, MAX_DOTS))
                if d is not None]
        test_faces, test_wrong = entry.faces.get("test", 0), entry.mistakes.get("test", 0)
        out.append({"kind": kind, "name": network_name(kind), "dots": dots, "entry": entry,
                    "test_faces": test_faces, "test_wrong": test_wrong, "figure": run.root / entry.figure})
    return out
