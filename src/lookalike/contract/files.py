"""Run-folder files: where each one lives, who writes it, and its one writer and one reader.

A `RunFile` names a file by a pattern relative to the run folder (with
`{placeholders}`, e.g. `models/{kind}/summary.json`). `write` validates and
writes atomically; `read` returns the typed content or raises (`StageMissing`
when the file is absent, `InputError` when it is unusable); `load` never
raises and is what the report uses: it returns the content or the message to
show instead.
"""

from __future__ import annotations

import csv
import io
import json
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import InputError, StageMissing
from ..io import atomic_write_csv, atomic_write_json, atomic_write_text, to_json
from ..runfolder import Run
from .records import Provenance, Record, Summary

T = TypeVar("T", bound=Record)
R = TypeVar("R", bound=Record)


@dataclass
class Loaded(Generic[T]):
    """What a reader that must not fail (the report) gets: the content, or why there is none."""

    value: Any = None
    error: str | None = None  # set when the file exists but cannot be used

    @property
    def ok(self) -> bool:
        return self.value is not None


def _as_run(run: Run | str | Path) -> Run:
    return run if isinstance(run, Run) else Run(run)


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the top level"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _loaded(path: Path, read: Any) -> Loaded[Any]:
    """`read(path)` for a reader that must not fail: nothing when absent, the message when unusable."""
    if not path.is_file():
        return Loaded()
    try:
        return Loaded(read(path))
    except InputError as exc:
        return Loaded(error=f"{path.name} could not be read: {exc}")


@dataclass(frozen=True)
class RunFile:
    """A file of the run folder: `pattern` relative to the run, the command that writes it, what it holds."""

    pattern: str
    writer: str
    about: str
    readers: tuple[str, ...] = field(default=())
    private: bool = False  # owner-only (0600): the file holds secrets (links, tokens)

    @property
    def placeholders(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.pattern) if name]

    def path(self, run: Run | str | Path, **parts: str) -> Path:
        missing = [p for p in self.placeholders if p not in parts]
        if missing:
            raise TypeError(f"{self.pattern} needs {', '.join(missing)}")
        return _as_run(run).root / self.pattern.format(**parts)

    def exists(self, run: Run | str | Path, **parts: str) -> bool:
        return self.path(run, **parts).is_file()

    def require(self, run: Run | str | Path, **parts: str) -> Path:
        """The path, or StageMissing naming the command that writes it."""
        path = self.path(run, **parts)
        if not path.is_file():
            raise StageMissing(f"{path} is missing: run `lookalike {self.writer} {_as_run(run).root}` first")
        return path


@dataclass(frozen=True)
class JsonFile(RunFile, Generic[T]):
    """A JSON object described by a record type."""

    record: type[T] = Record  # type: ignore[assignment]

    def write(self, run: Run | str | Path, value: T | Mapping[str, Any], **parts: str) -> T:
        """Validate `value` as the record, add provenance to a summary, write it atomically; returns the record."""
        return self.write_at(self.path(run, **parts), value)

    def write_at(self, path: Path, value: T | Mapping[str, Any]) -> T:
        """`write` to an explicit path (a stage folder outside a run, e.g. `lookalike synth OUT`)."""
        record = self.validate(value)
        if isinstance(record, Summary) and record.info is None:
            record.info = Provenance.now()
        atomic_write_json(path, record.to_json(), private=self.private)
        return record

    def validate(self, value: T | Mapping[str, Any]) -> T:
        if isinstance(value, self.record):
            return value
        if isinstance(value, BaseModel):
            value = value.to_json() if isinstance(value, Record) else value.model_dump(mode="json")
        try:
            return self.record.model_validate(value)
        except ValidationError as exc:  # a stage wrote something its contract does not allow: a bug
            raise TypeError(f"{self.pattern} would not match its record {self.record.__name__}: "
                            f"{_problem(exc)}") from exc

    def read(self, run: Run | str | Path, **parts: str) -> T:
        return self.read_at(self.require(run, **parts))

    def read_at(self, path: Path) -> T:
        if not path.is_file():
            raise StageMissing(f"{path} is missing: run `lookalike {self.writer}` first")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{path} cannot be read: {exc}") from None
        try:
            return self.record.model_validate(raw)
        except ValidationError as exc:
            raise InputError(f"{path} does not hold a {self.record.__name__}: {_problem(exc)}") from None

    def load(self, run: Run | str | Path, **parts: str) -> Loaded[T]:
        """The record, or the error to show; nothing when the file is absent."""
        return self.load_at(self.path(run, **parts))

    def load_at(self, path: Path) -> Loaded[T]:
        return _loaded(path, self.read_at)


@dataclass(frozen=True)
class CsvFile(RunFile, Generic[R]):
    """A CSV table, one record per row; the columns are the row record's fields, in order."""

    row: type[R] = Record  # type: ignore[assignment]
    extra_columns: tuple[str, ...] = ()  # columns beyond the row's fields (e.g. x0…y67 of landmarks)

    @property
    def columns(self) -> list[str]:
        return [*self.row.model_fields, *self.extra_columns]

    def write(self, run: Run | str | Path, rows: Iterable[R | Mapping[str, Any]], **parts: str) -> Path:
        return self.write_at(self.path(run, **parts), rows)

    def write_at(self, path: Path, rows: Iterable[R | Mapping[str, Any]]) -> Path:
        out = [r.model_dump(mode="json") if isinstance(r, Record) else dict(r) for r in rows]
        return atomic_write_csv(path, out, self.columns)

    def text(self, rows: Iterable[R | Mapping[str, Any]]) -> str:
        """The table as CSV text (e.g. for a download), in the same columns as the file."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow(r.model_dump(mode="json") if isinstance(r, Record) else r)
        return buf.getvalue()

    def read_rows(self, run: Run | str | Path, **parts: str) -> list[dict[str, str]]:
        """The raw rows (strings), for readers that report bad values with their line."""
        path = self.require(run, **parts)
        return read_table(path)

    def read(self, run: Run | str | Path, **parts: str) -> list[R]:
        return self.read_at(self.require(run, **parts))

    def read_at(self, path: Path) -> list[R]:
        if not path.is_file():
            raise StageMissing(f"{path} is missing: run `lookalike {self.writer}` first")
        out = []
        for line, row in enumerate(read_table(path), start=2):
            try:
                out.append(self.row.model_validate({k: (v if v != "" else None) for k, v in row.items()}))
            except ValidationError as exc:
                raise InputError(f"{path}, line {line}: {_problem(exc)}") from None
        return out

    def load(self, run: Run | str | Path, limit: int | None = None, **parts: str) -> Loaded[R]:
        """The raw rows (at most `limit`), or the error to show; nothing when the file is absent."""
        return self.load_at(self.path(run, **parts), limit)

    def load_records(self, run: Run | str | Path, **parts: str) -> Loaded[R]:
        """The typed rows, or the error to show (unreadable file or a bad value); nothing when absent."""
        return _loaded(self.path(run, **parts), self.read_at)

    def load_at(self, path: Path, limit: int | None = None) -> Loaded[R]:
        return _loaded(path, lambda p: read_table(p, limit))


@dataclass(frozen=True)
class JsonlFile(RunFile, Generic[R]):
    """One JSON object per line (e.g. one per training epoch)."""

    row: type[R] = Record  # type: ignore[assignment]

    def write(self, run: Run | str | Path, rows: Iterable[R | Mapping[str, Any]], **parts: str) -> Path:
        lines = [json.dumps(r.to_json() if isinstance(r, Record) else dict(r)) + "\n" for r in rows]
        return atomic_write_text(self.path(run, **parts), "".join(lines))

    def read(self, run: Run | str | Path, **parts: str) -> list[R]:
        path = self.path(run, **parts)
        if not path.is_file():
            return []
        try:
            return [self.row.model_validate(json.loads(line))
                    for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (ValueError, ValidationError) as exc:
            raise InputError(f"{path} cannot be read: {exc}") from None


@dataclass(frozen=True)
class TextFile(RunFile):
    """Plain UTF-8 text (e.g. the hint)."""

    def write(self, run: Run | str | Path, text: str, **parts: str) -> Path:
        return atomic_write_text(self.path(run, **parts), text if text.endswith("\n") else text + "\n")

    def read(self, run: Run | str | Path, **parts: str) -> str:
        path = self.require(run, **parts)
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path} cannot be read: {exc}") from None

    def load(self, run: Run | str | Path, limit: int = 4000, **parts: str) -> Loaded[Any]:
        path = self.path(run, **parts)
        if not path.is_file():
            return Loaded()
        try:
            return Loaded(path.read_text(encoding="utf-8", errors="replace")[:limit].strip())
        except OSError as exc:
            return Loaded(error=f"{path.name} could not be read: {exc}")


@dataclass(frozen=True)
class Artefact(RunFile):
    """A file with its own format (PNG figures, NumPy arrays, weights, SQLite): named here, read by its module."""


def read_table(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    """The rows of a CSV file as strings; InputError when it cannot be decoded."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = []
            for i, row in enumerate(csv.DictReader(fh)):
                if limit is not None and i >= limit:
                    break
                rows.append(row)
        return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(str(exc)) from None


def json_text(record: Record) -> str:
    """A record as indented JSON text (what `--json` prints)."""
    return to_json(record.to_json())


def write_config(folder: str | Path, settings: Mapping[str, Any]) -> Path:
    """`<folder>/config.json`: the exact settings a stage ran with, saved next to its results."""
    return atomic_write_json(Path(folder) / "config.json", dict(settings))
