"""`synth/` and `data/`: the synthetic faces and the prepared data set every later stage reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ..errors import InputError
from ..face.template import landmark_columns
from ..io import atomic_write_json, read_json
from ..runfolder import Run
from .files import Artefact, CsvFile, JsonFile, RunFile
from .records import Record, Settings, Summary, shown

Split = Literal["train", "val", "test"]
LANDMARK_COLUMNS = tuple(landmark_columns())


# synth/ ----------------------------------------------------------------------------------------------

class SynthSummary(Summary):
    """What `lookalike synth` rendered."""

    stage: str = "synth"
    folder: str | None = None
    images: int | None = shown("faces rendered")
    per_identity: dict[str, int] = {}
    regions: list[str] = shown("planted regions", "list", default_factory=list)
    strength: float | None = shown("strength of the planted difference")
    region_dropout: float | None = shown("probability a face leaves a planted region midway between the two")
    shown_fraction: dict[str, float] = {}  # per planted region: the share of faces that show it
    seed: int | None = None
    workers: int | None = None
    seconds: float | None = shown("seconds", "seconds")
    images_per_s: float | None = None
    mask_fraction_mean: dict[str, float] = {}
    mask_empty_images: dict[str, int] = {}
    files: dict[str, str] = {}
    reused: bool | None = None  # returned, never written: the faces on disk were made with the same settings


class LandmarkRow(Record):
    """One face's 68 dlib landmarks on the aligned 128×128 face: path, x0, y0, …, x67, y67 (pixels)."""

    path: str


SYNTH_LANDMARKS = CsvFile("synth/landmarks.csv", "synth", "path,x0,y0,…,x67,y67 (dlib 68-point order, pixels)",
                          row=LandmarkRow, extra_columns=LANDMARK_COLUMNS)
SYNTH_SUMMARY = JsonFile("synth/summary.json", "synth", "what was rendered: images, planted regions, mask coverage",
                         record=SynthSummary)
SYNTH_FILES: list[RunFile] = [
    Artefact("synth/faces/{identity}/{id}.png", "synth", "rendered aligned faces, 128×128"),
    SYNTH_LANDMARKS,
    Artefact("synth/truth/masks.npz", "synth", "paths, regions, masks (N×R×128×128 uint8, 1 where swapping that "
             "region to the other person changes the image before blur/noise/JPEG)"),
    Artefact("synth/truth/params.jsonl", "synth", "nuisance and identity parameters of every image"),
    Artefact("synth/contact_sheet.png", "synth", "a few faces of each person and where they differ"),
    SYNTH_SUMMARY,
]


# data/ -------------------------------------------------------------------------------------------------

class SplitPlan(Record):
    val: int
    train: int
    test: int
    message: str


class PrepareSummary(Summary):
    """What `lookalike prepare` made of the input photos."""

    stage: str = "prepare"
    input: str | None = None
    mode: str | None = shown("input", "text")
    identities: list[str] = []
    files: int | None = shown("input files")
    file_outcomes: dict[str, int] = {}
    not_read: dict[str, int] = {}  # paths under the photos folder that could not be read, by kind
    faces_found: int | None = shown("faces found")
    face_outcomes: dict[str, int] = {}
    kept: int | None = shown("faces kept")
    kept_per_person: dict[str, int] = {}
    pending_review: int = shown("faces waiting for review", default=0)
    pending_review_train_estimate: int | None = shown("training faces they would add if kept")
    review_decisions: int = 0
    duplicate_groups: dict[str, int] = {}
    split: dict[str, dict[str, int]] = {}
    split_plan: SplitPlan | None = None
    filter: dict[str, Any] = {}
    messages: list[str] = []
    seconds: float | None = shown("seconds", "seconds")
    workers: int | None = None


class SplitRow(Record):
    """One face of the data set: which person, which split, which near-duplicate group."""

    path: str  # relative to data/
    identity: str
    label: int  # 0 or 1: the position of `identity` in identities.json
    split: Split
    group: str | None = None  # near-duplicate group; never in two splits


class ManifestRow(Record):
    """One row per input file, and one per face found in it (`face` set): what happened and why."""

    source: str
    folder: str | None = None
    face: int | None = None
    outcome: str | None = None
    reason: str | None = None
    path: str | None = None
    identity: str | None = None
    own_score: float | None = None
    scores: str | None = None
    landmarks: str | None = None
    split: str | None = None
    group: str | None = None
    notes: str | None = None


class ReviewDecision(Record):
    decision: Literal["keep", "drop"]
    at: str | None = None


class ReviewDecisions(Record):
    """`lookalike review`'s decisions by face key (`<source photo>#<face>`); prepare reads, never writes it."""

    decisions: dict[str, ReviewDecision | str] = {}


class ReviewItem(Record):
    id: str
    path: str
    crop: str
    identity: str
    source: str
    box: list[float] = []
    size: list[int] = []
    reason: str | None = None
    own_score: float | None = None
    decision: str | None = None


class ReviewQueue(Record):
    """The faces the filter did not accept, as the review page shows them."""

    photos: str
    identities: list[str]
    items: list[ReviewItem] = []


DATA_SUMMARY = JsonFile("data/summary.json", "prepare PHOTOS --out", "counts of files, faces, outcomes, the split "
                        "and the filter", record=PrepareSummary)
SPLIT = CsvFile("data/split.csv", "prepare PHOTOS --out", "path,identity,label,split,group (split ∈ train|val|test; "
                "group = near-duplicate group, never in two splits)", row=SplitRow)
MANIFEST = CsvFile("data/manifest.csv", "prepare PHOTOS --out", "one row per path under PHOTOS (and per face found "
                   "in it): outcome, reason; outcome not_read for what cannot be read as a photo, with why: symlink "
                   "loop, dangling symlink, link to a folder (not followed), not a regular file (FIFO, device), a "
                   "folder that cannot be listed, a hidden folder", row=ManifestRow)
LANDMARKS = CsvFile("data/landmarks.csv", "prepare PHOTOS --out", "path,x0,y0,…,x67,y67 on the aligned face",
                    row=LandmarkRow, extra_columns=LANDMARK_COLUMNS)
IDENTITIES = Artefact("data/identities.json", "prepare PHOTOS --out", '["person_a", "person_b"] (label order)')
REVIEW = JsonFile("data/review.json", "review", '{"decisions": {"<source photo>#<face>": {"decision": "keep"|"drop", '
                  '"at": …}}}; never overwritten by prepare', record=ReviewDecisions)
REVIEW_QUEUE = JsonFile("data/review_queue.json", "prepare PHOTOS --out", "faces the filter did not accept (what the "
                        "review page shows), with crops in review/<identity>/<id>.png", record=ReviewQueue)
DATA_FILES: list[RunFile] = [
    Artefact("data/faces/{identity}/{id}.png", "prepare PHOTOS --out", "aligned 128×128 crops that were kept"),
    IDENTITIES, MANIFEST, SPLIT, LANDMARKS, REVIEW, REVIEW_QUEUE,
    Artefact("data/truth/masks.npz", "prepare PHOTOS --out", "copied from synth when the input carries it"),
    Artefact("data/overview.png", "prepare PHOTOS --out", "sample faces per person and the mean aligned face with "
             "the template on top"),
    Artefact("data/cache/", "prepare PHOTOS --out", "per-input-file results and filter scores (resume; safe to "
             "delete)"),
    DATA_SUMMARY,
]

CONFIG = JsonFile("{stage}/config.json", "every stage", "the exact settings the stage ran with", record=Settings)


def read_identities(run: Run) -> list[str]:
    """The two people in label order (label 0, label 1), from data/identities.json."""
    return read_names(IDENTITIES.require(run))


def read_names(path: Path) -> list[str]:
    """A JSON list of two names (data/identities.json, or the same file of an input run folder)."""
    try:
        names = read_json(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read: {exc}") from None
    if not isinstance(names, list) or len(names) != 2 or not all(isinstance(n, str) for n in names):
        raise InputError(f"{path} should hold a JSON list of the two people's names, e.g. [\"ann\", \"bea\"]")
    return names


def write_identities(run: Run, names: list[str]) -> Path:
    return atomic_write_json(IDENTITIES.path(run), list(names))


def read_landmarks(path: Path, dtype: str = "float32") -> dict[str, Any]:
    """path → 68×2 landmarks from a landmarks.csv; rows with missing or non-finite numbers are left out."""
    import numpy as np

    from .files import read_table

    table: dict[str, Any] = {}
    for row in read_table(path):
        try:
            xy = np.array([float(row[c]) for c in LANDMARK_COLUMNS], dtype=dtype)
        except (KeyError, ValueError, TypeError):
            continue
        if np.isfinite(xy).all():
            table[row["path"]] = xy.reshape(68, 2)
    return table
