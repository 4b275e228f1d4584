"""docs/run-folder.md, written from the contract: `python -m lookalike.contract.docs > docs/run-folder.md`.

A test checks that the file in the repository is what this writes, so the
documentation cannot drift from what the stages write. The page lists every
file; the fields of each record are in its contract module (typed and
commented), and `python -m lookalike.contract.docs --fields` prints them all.
"""

from __future__ import annotations

import textwrap
import types
import typing
from typing import Any

from pydantic import BaseModel

from . import FILES
from .files import CsvFile, JsonFile, JsonlFile, RunFile
from .records import Record

INTRO = """\
# The run folder: the contract between stages

<!-- Written by `python -m lookalike.contract.docs` from src/lookalike/contract/; edit those files, not this one. -->

Every stage reads files that earlier stages wrote in one run folder and writes
only inside its own sub-folder. Any stage can be rerun, inspected or replaced
on its own. Each stage ends by writing `<stage>/summary.json` (what it did,
its key numbers, and an `info` block with versions and time) and saves the
exact settings it ran with in `<stage>/config.json`. All files are written
atomically (temporary file + rename), so an interrupted stage never leaves a
half-written file; long stages resume from what is already on disk.

Images are 128×128 RGB PNG. Pixel values enter networks as float32 in
[0, 1]; networks normalise internally. Label 0 and 1 are the two people in the
order of `data/identities.json`.

Every file below is defined once, in `lookalike.contract`, with its one writer
and its one reader: stages write through it (`FOOLING_SUMMARY.write(run, summary)`),
and the report, the benchmarks and the tests read through it
(`FOOLING_SUMMARY.read(run)`, or `.load(run)` where a reader must not fail).
A JSON file holds only the fields its stage set. The fields of every record, with
their types, are in `src/lookalike/contract/<stage>.py`; `python -m lookalike.contract.docs
--fields` prints them (fields marked ★ are listed among the report's key numbers).
"""

FOLDER_TITLES = {
    "synth": "lookalike synth (demo data only)", "data": "lookalike prepare [--aligned]",
    "models": "lookalike train --model classifier|siamese|embedding",
    "fooling": "lookalike fool (--model siamese: the same in fooling/siamese/)", "explain": "lookalike explain",
    "regions": "lookalike regions", "study": "lookalike study …",
}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def _entry(indent: int, name: str, about: str, width: int = 112) -> list[str]:
    """One line of the tree (name, then what it holds), wrapped under the description column."""
    name = name.replace("{", "<").replace("}", ">")
    column = 32
    head = " " * indent + name
    head = head + " " * (column - len(head)) if len(head) < column - 1 else head + "\n" + " " * column
    body = textwrap.wrap(about, width - column, break_long_words=False, break_on_hyphens=False) or [""]
    first, *rest = (head + body[0]).split("\n")
    return [first, *rest[:-1], *([rest[-1]] if rest else []), *(" " * column + b for b in body[1:])]


def tree() -> str:
    """The folder tree: every file with what it holds."""
    lines = ["```", "runs/<name>/"]
    folder = None
    for f in FILES:
        top, _, rest = f.pattern.partition("/")
        if not rest:  # a file at the top of the run folder
            lines += _entry(2, f.pattern, f.about)
            continue
        if top != folder:
            folder = top
            lines += _entry(2, top.replace("{stage}", "<stage>") + "/", FOLDER_TITLES.get(top, ""))
        lines += _entry(4, rest, f.about)
    lines.append("```")
    return "\n".join(lines)


def _record_table(record: type[BaseModel], seen: set[str]) -> list[str]:
    out = [f"#### {record.__name__}", ""]
    if record.__doc__ and record.__doc__ is not Record.__doc__:
        out += [" ".join(record.__doc__.split()), ""]
    out += ["| field | type |", "|---|---|"]
    nested = []
    for name, info in record.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        star = " ★" if "report" in extra else ""
        out.append(f"| `{name}`{star} | {_type_name(info.annotation)}{'' if info.is_required() else ' (optional)'} |")
        nested += [t for t in _records_in(info.annotation) if t.__name__ not in seen]
    out.append("")
    for sub in nested:
        if sub.__name__ not in seen:
            seen.add(sub.__name__)
            out += _record_table(sub, seen)
    return out


def _records_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, Record) and annotation.model_fields:
        return [annotation]
    return [t for a in typing.get_args(annotation) for t in _records_in(a)]


def records() -> str:
    """Every JSON file's and CSV file's record, with its fields."""
    out = ["## What each file holds", ""]
    seen = {"Provenance", "Record", "Settings"}
    for f in FILES:
        record = _file_record(f)
        if record is None or not record.model_fields:
            continue
        out += [f"### `{f.pattern}` (written by `lookalike {f.writer}`)", ""]
        if record.__name__ in seen:
            out += [f"Rows or content: {record.__name__}, as above.", ""]
            continue
        seen.add(record.__name__)
        out += _record_table(record, seen)
    return "\n".join(out).rstrip() + "\n"


def _file_record(f: RunFile) -> type[BaseModel] | None:
    if isinstance(f, JsonFile):
        return f.record
    if isinstance(f, CsvFile | JsonlFile):
        return f.row
    return None


def render() -> str:
    return INTRO + "\n" + tree() + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(records() if "--fields" in sys.argv[1:] else render(), end="")
