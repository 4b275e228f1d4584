"""Defensive readers: a report must render whatever state the run folder is in.

Each stage may be missing, half-run or written by an older version, so every
read returns either the content or a message to show, never an exception.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Loaded:
    value: Any = None
    error: str | None = None  # set when the file exists but cannot be used

    @property
    def ok(self) -> bool:
        return self.value is not None


def load_json(path: Path) -> Loaded:
    if not path.is_file():
        return Loaded()
    try:
        return Loaded(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return Loaded(error=f"{path.name} could not be read: {exc}")


def load_csv(path: Path, limit: int | None = None) -> Loaded:
    if not path.is_file():
        return Loaded()
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = []
            for i, row in enumerate(csv.DictReader(fh)):
                if limit is not None and i >= limit:
                    break
                rows.append(row)
        return Loaded(rows)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return Loaded(error=f"{path.name} could not be read: {exc}")


def load_text(path: Path, limit: int = 4000) -> Loaded:
    if not path.is_file():
        return Loaded()
    try:
        return Loaded(path.read_text(encoding="utf-8", errors="replace")[:limit].strip())
    except OSError as exc:
        return Loaded(error=f"{path.name} could not be read: {exc}")


def pick(d: Any, *paths: str) -> Any:
    """The first of several dotted key paths that exists in `d` (stages name things differently)."""
    for p in paths:
        cur = d
        for part in p.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                cur = None
                break
        if cur is not None:
            return cur
    return None


def number(value: Any) -> float | None:
    """A finite float from a JSON or CSV value, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


FAIL_KEYS_FALSE = ("pass", "passed", "passes", "passes_sanity", "sanity_pass", "sanity_passed", "trusted", "ok")
FAIL_KEYS_TRUE = ("fail", "fails", "failed", "fails_sanity", "sanity_failed")


def fails(row: dict[str, Any]) -> bool:
    """Whether a sanity-check record says the method failed, whatever the key is called."""
    for k in FAIL_KEYS_TRUE:
        if row.get(k) in (True, 1, "true", "True", "yes"):
            return True
    for k in FAIL_KEYS_FALSE:
        if k in row and row[k] in (False, 0, "false", "False", "no"):
            return True
    verdict = str(row.get("verdict", row.get("status", ""))).lower()
    return verdict.startswith("fail")


@dataclass
class Records:
    rows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # scalar entries next to the per-method records


def method_records(obj: Any, key_name: str = "method") -> Records:
    """Per-method rows from the shapes a JSON table tends to take.

    Accepts a list of dicts, a dict of dicts ({method: {...}}), or either of
    those under a key such as "methods" / "results"; nested dicts inside a
    record are flattened one level with dotted names, long lists are dropped.
    """
    if isinstance(obj, dict):
        for key in ("methods", "results", "rows", "records", "per_method"):
            if key in obj and isinstance(obj[key], (list, dict)):
                inner = method_records(obj[key], key_name)
                inner.extra.update({k: v for k, v in obj.items() if k != key and _scalar(v) and k != "info"})
                return inner
        dict_items = {k: v for k, v in obj.items() if isinstance(v, dict) and k != "info"}
        if dict_items:
            rows = [{key_name: k, **_flat(v)} for k, v in dict_items.items()]
            extra = {k: v for k, v in obj.items() if _scalar(v)}
            return Records(rows, extra)
        return Records([], {k: v for k, v in obj.items() if _scalar(v)})
    if isinstance(obj, list):
        return Records([_flat(r) for r in obj if isinstance(r, dict)])
    return Records()


def _scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool)) or v is None


def _flat(d: dict[str, Any], prefix: str = "", depth: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and depth > 0:
            out.update(_flat(v, f"{prefix}{k}.", depth - 1))
        elif _scalar(v):
            out[f"{prefix}{k}"] = v
        elif isinstance(v, (list, tuple)) and len(v) <= 4 and all(_scalar(x) for x in v):
            out[f"{prefix}{k}"] = list(v)
    return out
