"""Reading `study/trials.csv` for the analysis: find it, export it from the database if needed, validate it.

Every bad value stops the analysis with the file and line that hold it, before
anything is written, so an earlier analysis is never replaced by a wrong one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import InputError
from ...io import read_csv
from ...runfolder import Run, StageMissing
from ..design import ANSWERS, TRIAL_COLUMNS

OPTIONAL = ("catch", "frame_ms")  # added with catch trials and frame timing; older exports lack them
COLUMNS = [c for c in TRIAL_COLUMNS if c not in OPTIONAL]


def _bad(path: Path, line: int, msg: str) -> InputError:
    return InputError(f"{path}, line {line}: {msg}")


def _number(value: str, path: Path, line: int, column: str) -> float:
    if value is None or value.strip() == "":
        return float("nan")
    try:
        return float(value)
    except ValueError:
        raise _bad(path, line, f"{column}={value!r} is not a number") from None


def _choice(row: dict[str, str], column: str, allowed: tuple[str, ...], path: Path, line: int,
            expected: str) -> str:
    """The lower-cased value of `column`, which must be one of `allowed`."""
    value = (row[column] or "").strip().lower()
    if value not in allowed:
        raise _bad(path, line, f"{column}={row[column]!r}; expected {expected}")
    return value


def _correct(row: dict[str, str], truth: str, answer: str, path: Path, line: int) -> int | None:
    """The `correct` column checked against truth and answer (None for an unanswered trial)."""
    if not answer:
        return None
    text = (row["correct"] or "").strip()
    if text not in ("0", "1"):
        raise _bad(path, line, f"correct={row['correct']!r}; expected 0 or 1")
    if int(text) != int(answer == truth):
        raise _bad(path, line, f"correct={text} contradicts truth={truth}, answer={answer}")
    return int(answer == truth)


def parse_trial(row: dict[str, str], path: Path, line: int) -> dict[str, Any]:
    """One validated trial from one CSV row."""
    group = (row["group"] or "").strip()
    if not group:
        raise _bad(path, line, "empty group")
    truth = _choice(row, "truth", ANSWERS, path, line, "same or different")
    answer = _choice(row, "answer", (*ANSWERS, ""), path, line, "same, different or empty")
    complete = _choice(row, "complete", ("0", "1"), path, line, "0 or 1")
    correct = _correct(row, truth, answer, path, line)
    try:
        trial = int(row["trial"])
    except (TypeError, ValueError):
        raise _bad(path, line, f"trial={row['trial']!r} is not an integer") from None
    catch = _choice(row, "catch", ("0", "1", ""), path, line, "0, 1 or empty") if "catch" in row else "0"
    frame = _number(row.get("frame_ms") or "", path, line, "frame_ms")
    if catch == "1" and truth != "same":
        raise _bad(path, line, "a catch trial shows one photo twice: its truth must be same")
    return {
        "participant": (row["participant"] or "").strip(), "group": group, "complete": complete == "1",
        "trial": trial, "truth": truth, "answer": answer, "correct": correct,
        "response_ms": _number(row["response_ms"], path, line, "response_ms"),
        "shown_ms": _number(row["shown_ms"], path, line, "shown_ms"), "line": line,
        "catch": catch == "1", "frame_ms": frame if frame == frame else None,
    }


def load_trials(path: Path) -> list[dict[str, Any]]:
    """Read and validate trials.csv; stop with the file and line of the first bad value."""
    path = Path(path)
    try:
        rows = read_csv(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if rows:
        missing = [c for c in COLUMNS if c not in rows[0]]
        if missing:
            raise InputError(f"{path} lacks the column(s) {', '.join(missing)}; expected: {','.join(COLUMNS)}")
    return [parse_trial(row, path, line) for line, row in enumerate(rows, start=2)]


def export_from_database(run: Run) -> None:
    """Write study/trials.csv from study.sqlite with the study app's own exporter (as `study export` does)."""
    from ..export import export_study
    from ..setup import db_path
    from ..store import Store

    store = Store(db_path(run))
    try:
        if store.initialised():
            export_study(run, store)
    finally:
        store.close()


def trials_csv(run: Run) -> Path:
    """The exported trials, exporting them from the study database first when only that exists."""
    path = run.study / "trials.csv"
    if not path.exists() and (run.study / "study.sqlite").exists():
        export_from_database(run)
    if not path.exists():
        raise StageMissing(f"{path} is missing: run the study (`lookalike study serve {run.root}` or "
                           f"`lookalike study simulate {run.root}`) and `lookalike study export {run.root}` first")
    return path
