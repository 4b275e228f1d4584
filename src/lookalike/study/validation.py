"""What the study accepts from a participant's browser, in one place: request bodies and timings.

Two layers, checked before anything is stored:

1. The request bodies (pydantic, strict): a timing is a finite JSON number, never a
   boolean or a string, and above 0 ms; unknown fields are refused.
2. The plausible range of each timing, from the study's design (`check_answer`,
   `check_training`): a picture cannot have been on screen for less than half its
   planned time (the browser counts painted frames), nor for more than ten minutes;
   a response comes after the pair and within an hour.

Whole sessions faster than the design allows are stored and left out of the analysis
by the `too_fast` rule of study/rules.py (server clock). docs/study.md states these
rules for researchers; change both together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_SHOWN_MS = 600_000.0  # a stimulus on screen while the tab was hidden is kept, not refused
MAX_RESPONSE_MS = 3_600_000.0
MIN_SHOWN_FRACTION = 0.5  # of the planned display time: less means the picture was not shown as designed
MAX_TRAINING_PICTURES = 1000

Milliseconds = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0.0)]


Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # ranges: store.check_display
Count = Annotated[int, Field(strict=True)]


class Answer(BaseModel):
    """Body of POST /api/p/TOKEN/answer."""

    model_config = ConfigDict(extra="forbid")
    trial: Annotated[int, Field(strict=True, ge=0, le=10_000)]
    answer: Literal["same", "different"]
    response_ms: Milliseconds
    shown_ms: Milliseconds
    frame_ms: Number | None = None


class Training(BaseModel):
    """Body of POST /api/p/TOKEN/training: the measured display time of every training picture, in order,
    and the display they were shown on."""

    model_config = ConfigDict(extra="forbid")
    shown_ms: list[Milliseconds] = Field(max_length=MAX_TRAINING_PICTURES)
    frame_ms: Number | None = None  # the frame period the browser measured before the photos
    device_pixel_ratio: Number | None = None
    window_w: Count | None = None
    window_h: Count | None = None


class TimingRefused(ValueError):
    """A timing outside what the design makes possible; the message says which and why."""


def _check(value: object, low: float, high: float, name: str, why: str) -> None:
    """`low < value <= high` for `low` 0, `low <= value <= high` otherwise; NaN, booleans and strings fail."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and \
        (low < value if low == 0 else low <= value) and value <= high
    if not ok:
        bound = "above 0" if low == 0 else f"at least {low:g}"
        raise TimingRefused(f"{name} must be a number of milliseconds {bound} and at most {high:g} ({why})")


def check_answer(response_ms: object, shown_ms: object, pair_ms: float) -> None:
    """Refuse an answer whose timings no browser running the study could have measured."""
    _check(response_ms, 0.0, MAX_RESPONSE_MS, "response_ms", "the time from the end of the pair to the answer")
    _check(shown_ms, MIN_SHOWN_FRACTION * pair_ms, MAX_SHOWN_MS, "shown_ms",
           f"the pair is planned for {pair_ms:g} ms")


def check_training(shown_ms: Sequence[object], train_ms: float) -> None:
    for value in shown_ms:
        _check(value, MIN_SHOWN_FRACTION * train_ms, MAX_SHOWN_MS, "shown_ms",
               f"each training picture is planned for {train_ms:g} ms")
