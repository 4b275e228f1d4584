"""Typed records: what one JSON file (or one CSV row) of a run folder holds.

Records are pydantic models. They validate what a stage writes, and they
read like the JSON they are written as (`summary["test"]["n"]` works as well
as `summary.test.n`). A file keeps only the fields its stage set, so a field
that does not apply is absent rather than null; fields a newer version adds
are kept when an older one reads and rewrites a record.

A field marked with `shown(...)` appears in the report's "key numbers" table
of its stage, with its label and format: declare a field that way in the
contract, fill it in the stage, and the report shows it.
"""

from __future__ import annotations

import datetime as _dt
import math
import platform
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

FORMATS = ("number", "percent", "text", "seconds", "list")


def shown(label: str, format: str = "number", **field: Any) -> Any:
    """A field the report lists among its stage's key numbers (`format`: number | percent | text | seconds | list)."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    if "default_factory" not in field:
        field.setdefault("default", None)
    extra = {"report": label, "format": format}
    return Field(json_schema_extra=extra, **field)


class Record(BaseModel):
    """Base of every record: unknown fields are kept, and the record reads like a mapping."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    # mapping-style reading -----------------------------------------------------
    def _present(self) -> list[str]:
        return [*(k for k in type(self).model_fields if k in self.model_fields_set), *(self.model_extra or {})]

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields or key in (self.model_extra or {}):
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._present()

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None) if key in self._present() else None
        return default if value is None else value

    # JSON -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The record as the JSON object a stage writes: every field that has a value, and unknown ones.

        A field left at None by its stage is absent (it does not apply), not null."""
        out: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None and name not in self.model_fields_set:
                continue
            out[info.alias or name] = _jsonable(value)
        for name, value in (self.model_extra or {}).items():
            out[name] = _jsonable(value)
        return out

    @classmethod
    def shown_fields(cls) -> list[tuple[str, str, str]]:
        """(field, label, format) of every field the report shows, in declaration order."""
        out = []
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if "report" in extra:
                out.append((name, str(extra["report"]), str(extra.get("format", "number"))))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    return to_jsonable_python(value)


class Provenance(Record):
    """Who wrote a summary and when: enough to reproduce it."""

    lookalike_version: str
    python: str
    platform: str
    finished_at: str

    @classmethod
    def now(cls) -> Provenance:
        from .. import __version__

        return cls(lookalike_version=__version__, python=sys.version.split()[0], platform=platform.platform(),
                   finished_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))


class Summary(Record):
    """What a stage did, its key numbers, and `info` (versions and time), in `<stage>/summary.json`."""

    info: Provenance | None = None


class Settings(Record):
    """The exact settings a stage ran with (`config.json`): free-form, one key per setting."""


def finite(value: Any) -> Any:
    """Undefined numbers (nan, inf) become None, so a file is strict JSON any reader can parse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
