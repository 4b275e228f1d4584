"""What the study accepts from a participant's browser, in one place: request bodies, timings and pace.

Three layers, from the cheapest to the one that needs the whole session:

1. The request bodies (pydantic, strict): a timing is a finite JSON number, never a
   boolean or a string, and above 0 ms; unknown fields are refused.
2. The plausible range of each timing, from the study's design (`check_answer`,
   `check_training`): a picture cannot have been on screen for less than half its
   planned time (the browser counts painted frames), nor for more than ten minutes;
   a response comes after the pair and within an hour.
3. The pace of a whole session (`pace_problem`), measured on the server's clock, which a
   page cannot forge: training shows 2 × `train_per_person` pictures of `train_ms` each,
   and each pair stays `pair_ms` on screen before it can be answered, so a session
   that went faster than `PACE_FRACTION` of that did not see what the design shows. Such a
   session is stored (nothing is thrown away) but marked `too_fast` in trials.csv, and
   the analysis leaves it out of equation (1). Links made for `lookalike study simulate`
   are marked simulated and are not held to the pace rule.

docs/study.md states these rules for researchers; change both together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_SHOWN_MS = 600_000.0  # a stimulus on screen while the tab was hidden is kept, not refused
MAX_RESPONSE_MS = 3_600_000.0
MIN_SHOWN_FRACTION = 0.5  # of the planned display time: less means the picture was not shown as designed
PACE_FRACTION = 0.9  # of the design's minimum duration, leaving room for clock and network jitter
MAX_TRAINING_PICTURES = 1000

Milliseconds = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0.0)]


class Answer(BaseModel):
    """Body of POST /api/p/TOKEN/answer."""

    model_config = ConfigDict(extra="forbid")
    trial: Annotated[int, Field(strict=True, ge=0, le=10_000)]
    answer: Literal["same", "different"]
    response_ms: Milliseconds
    shown_ms: Milliseconds


class Training(BaseModel):
    """Body of POST /api/p/TOKEN/training: the measured display time of every training picture, in order."""

    model_config = ConfigDict(extra="forbid")
    shown_ms: list[Milliseconds] = Field(max_length=MAX_TRAINING_PICTURES)


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


def pace_problem(training_started: float | None, training_done: float | None, last_answer: float | None,
                 answers: int, pictures: int, train_ms: float, pair_ms: float) -> str | None:
    """Why a session went faster than the design allows (server clock, seconds), or None.

    `training_started` is when the participant left the consent (or hint) screen,
    `training_done` when the training times arrived, `last_answer` when the last of
    `answers` answers arrived; `pictures` is the number of training pictures.
    """
    if training_started is not None and training_done is not None:
        took, need = training_done - training_started, PACE_FRACTION * pictures * train_ms / 1000
        if took < need:
            return f"training took {took:.2f} s; showing its {pictures} pictures takes at least {need:.1f} s"
    if training_done is not None and last_answer is not None and answers:
        took, need = last_answer - training_done, PACE_FRACTION * answers * pair_ms / 1000
        if took < need:
            return f"{answers} pairs were answered in {took:.2f} s; showing them takes at least {need:.1f} s"
    return None
