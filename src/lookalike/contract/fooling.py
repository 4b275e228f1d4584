"""`fooling/` (classifier) and `fooling/siamese/` (Siamese pairs): fooling images and where they changed (§4.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..runfolder import Run
from .files import Artefact, CsvFile, JsonFile, RunFile
from .records import Record, Summary, shown

TABLE1_AMENDMENT = ("Table 1 amended: the paper's ranges (151 < I ≤ 180, 181 < I ≤ 200, 201 < I ≤ 225, "
                    "226 < I ≤ 255) give no colour to 151, 181, 201 and 226; here each range starts one above "
                    "the previous bound.")


def scale_sentence(scale: str, epsilon: float) -> str:
    """What intensity 255 of the pixel maps in `scale` (a FoolingSummary's map_scale) means, and what compares."""
    if scale == "budget":
        return (f"Intensity 255 is the full budget ε = {epsilon:g} for every image, so colours compare across "
                "images: red is a grey change of at least 89% of ε.")
    return ("Each map is scaled to its own image's largest change (stated under it), so the strongest change "
            "of every image is red: colours compare within one map, not between maps.")


class Spread(Record):
    mean: float | None = None
    median: float | None = None
    max: float | None = None


class Direction(Record):
    n: int
    fooled: int


class FoolingSummary(Summary):
    """`lookalike fool`: how many test images were fooled, in how many steps, by how much."""

    model: str
    n: int = shown("images attacked", default=...)
    n_requested: int | None = None
    n_fooled: int = shown("fooled", default=...)
    success_rate: float | None = shown("success rate", "percent")
    n_initially_correct: int | None = None
    success_rate_initially_correct: float | None = shown("success rate on images it got right", "percent")
    n_already_fooled: int | None = None
    n_gave_up: int | None = shown("gave up")
    budget_used: float | None = shown("largest pixel change, share of the budget ε", "percent")
    directions: dict[str, Direction] = {}
    steps: Spread = Spread()
    confidence: Spread = Spread()
    linf: Spread = Spread()
    l2: Spread = Spread()
    n_in_aggregate: int | None = None
    map_scale: str | None = None  # of panels/ and grid.png: "image" (255 = its largest change) or "budget" (255 = ε)
    grids: dict[str, str] = {}  # the same grid in each scale: {"image": "grid.png", "budget": "grid_budget.png"}
    seconds: float | None = shown("seconds", "seconds")
    images_per_second: float | None = None
    settings: dict[str, Any] = {}
    outputs: list[str] = []


class FoolResult(Record):
    """One attack (one row of results.csv); paths relative to data/."""

    id: str
    path: str
    partner: str | None = None  # Siamese: the fixed first image of the pair
    source: str
    target: str
    steps: int
    p_target_start: float
    p_target_end: float
    p_target_saved: float  # re-scored from the saved PNG
    linf: float
    l2: float
    success: int  # p_target_saved ≥ confidence
    gave_up: int


FOOLING_SUMMARY = JsonFile("fooling/summary.json", "fool", "success rate, steps, confidence and size of the changes",
                           record=FoolingSummary)
RESULTS = CsvFile("fooling/results.csv", "fool", "id,path,partner,source,target,steps,p_target_start,p_target_end,"
                  "p_target_saved,linf,l2,success,gave_up (path/partner relative to data/; p_target_saved is "
                  "re-scored from the PNG; success = p_target_saved ≥ confidence)", row=FoolResult)
FOOLING_FILES: list[RunFile] = [
    Artefact("fooling/fooled/{id}.png", "fool", 'fooled images (lossless); <id> = data path without faces/ and .png, '
             '"/" → "__" (Siamese: pair<k>__<id>)'),
    Artefact("fooling/panels/{id}.png", "fool", "Figure-5 panel: original | pixel map | fooled (Siamese: partner "
             "first)"),
    Artefact("fooling/grid.png", "fool", "many panels in the asked scale, grid_<other scale>.png the same panels in "
             "the other one (aggregate.png: mean |change| over the mean face)"),
    Artefact("fooling/aggregate.npy", "fool", "128×128 float32 mean absolute change, 0–1 pixel scale, over the images "
             "that were fooled with ≥ 1 step (for regions)"),
    RESULTS, FOOLING_SUMMARY,
]


def fooling_folder(run: Run, model: str) -> Path:
    """Where `lookalike fool --model MODEL` writes: fooling/ for the classifier, fooling/siamese/ for pairs."""
    return run.fooling if model == "classifier" else run.fooling / "siamese"
