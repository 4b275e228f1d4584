"""`facemap/`: the faces as each trained network sees them, laid out in 2-D (t-SNE)."""

from __future__ import annotations

from .files import Artefact, CsvFile, JsonFile, RunFile
from .records import Record, Summary, shown


class MapPoint(Record):
    """One face on one network's map (one row of facemap/<kind>.csv); x, y in 0–1."""

    path: str  # relative to data/
    identity: str
    label: int
    split: str
    x: float
    y: float
    predicted: str  # the person the network takes the face for
    correct: int  # 1 when that is the face's person
    thumb: int = -1  # cell of thumbs.jpg with this face, -1 for none


class Thumbs(Record):
    file: str = "thumbs.jpg"
    size: int = 40  # pixels per cell
    columns: int = 20
    count: int = 0


class NetworkMap(Record):
    """One network's map: what its embedding is, how a mistake is decided, and how well the map keeps neighbours."""

    embedding: str
    mistake: str
    faces: dict[str, int] = {}  # per split
    mistakes: dict[str, int] = {}  # per split
    test_accuracy: float | None = None
    trustworthiness: float | None = None
    weight_layers: int | None = None
    csv: str = ""
    figure: str = ""


class FacemapSummary(Summary):
    """`lookalike facemap`: one map per trained network."""

    method: str = shown("layout", "text", default="t-SNE (scikit-learn)")
    perplexity_asked: float | None = None
    perplexity: float | None = shown("t-SNE perplexity")
    thumbs: Thumbs = Thumbs()
    identities: list[str] = []
    networks: dict[str, NetworkMap] = {}
    skipped: list[str] = []


FACEMAP_SUMMARY = JsonFile("facemap/summary.json", "facemap", "per network: embedding, faces and mistakes per "
                           "split, trustworthiness of the map; the thumbnail sprite", record=FacemapSummary)
FACEMAP_POINTS = CsvFile("facemap/{kind}.csv", "facemap", "path,identity,label,split,x,y,predicted,correct,thumb "
                         "(x, y in 0–1; correct = the network's answer is the face's person; thumb = cell of "
                         "thumbs.jpg or -1)", row=MapPoint)
FACEMAP_FILES: list[RunFile] = [
    FACEMAP_POINTS,
    Artefact("facemap/{kind}.png", "facemap", "the map as a picture (colour = person, marker = split, ring = mistake)"),
    Artefact("facemap/thumbs.jpg", "facemap", "one small picture per face on the maps (the report's hover)"),
    FACEMAP_SUMMARY,
]
