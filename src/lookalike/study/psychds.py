"""The study's data as a Psych-DS dataset, and a checker for the Psych-DS rules it must follow.

Psych-DS (https://psych-ds.github.io/, schema 1.5.0) is a community standard for behavioural
data: a `dataset_description.json` (schema.org JSON-LD, `@type` Dataset, with `name`,
`description` and a `variableMeasured` entry for every column), and CSV files under `data/`
whose names are keyword-value pairs ending in `_data.csv`. The checker implements the
schema's error-level rules (files, file names, CSV shape, metadata keys, every column
described) and its warnings for recommended files, so an export is checked without the
network or the JavaScript validator. Platform ids are personal data and are left out.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..io import atomic_write_csv, atomic_write_json, atomic_write_text
from .design import SESSION_COLUMNS, TRAINING_COLUMNS, TRIAL_COLUMNS

SCHEMA_VERSION = "1.5.0"
STUDY_KEY = "lookalike"
# From the Psych-DS schema 1.5.0: rules/files/tabular_data/data.yaml and meta/context.yaml.
DATAFILE_REGEX = re.compile(r"([a-z]+-[a-zA-Z0-9]+)(_[a-z]+-[a-zA-Z0-9]+)*_data\.csv")
OFFICIAL_KEYWORDS = ("study", "site", "subject", "session", "task", "condition", "trial", "stimulus", "description")
REQUIRED_KEYS = ("name", "description", "variableMeasured")
RECOMMENDED_KEYS = ("author", "citation", "license", "funder", "url", "identifier", "privacyPolicy", "keywords")
RECOMMENDED_FILES = {"README": (".md", ".txt"), "CHANGES": (".md", ".txt")}
RECOMMENDED_DIRS = ("analysis", "results", "materials", "documentation")
SCHEMA_ORG = ("https://schema.org/", "http://schema.org/", "https://schema.org", "http://schema.org")

# What every exported column means; the Psych-DS `variableMeasured` is built from this.
VARIABLES: dict[str, tuple[str, str | None]] = {
    "participant": ("Participant code in this study (p0001, ...); no platform id", None),
    "group": ("Group the study server ran: pre (novice, no hint), post (novice, shown the hint), expert "
              "(knows both people, no hint) or unclassified (familiarity fits neither rule, no hint)", None),
    "complete": ("1 when the participant answered every pair", None),
    "trial": ("Position of the pair in the participant's test, from 0", None),
    "image_a": ("Left photo, as a path in the run's aligned data set", None),
    "image_b": ("Right photo, as a path in the run's aligned data set", None),
    "truth": ("same when both photos show one person, otherwise different", None),
    "answer": ("The participant's answer: same or different", None),
    "correct": ("1 when the answer equals the truth", None),
    "response_ms": ("Time from the end of the pair's display to the answer", "ms"),
    "shown_ms": ("Time the photo(s) were on screen, measured by the browser from the first frame that showed "
                 "them to the first that did not", "ms"),
    "catch": ("1 for a catch trial (the same photo on both sides: an attention check, not in equation 1)", None),
    "frame_ms": ("The browser's frame period, measured before the phase (mean of the intervals near the median of 60 frames)", "ms"),
    "position": ("Position of the training photo in the participant's training sequence, from 0", None),
    "image": ("Training photo, as a path in the run's aligned data set", None),
    "label": ("Person shown: 0 or 1 (names in the description)", None),
    "link_group": ("How the participant arrived: public (the one study link), random, or a link made for a "
                   "group (pre, post, expert)", None),
    "simulated": ("1 when the participant was simulated by `lookalike study simulate`, not a person", None),
    "platform": ("Recruitment platform that sent the participant (prolific, generic) or empty", None),
    "familiarity_a": ("How well the participant knows person 0: never (never seen), seen (has seen them), "
                      "well (knows them well)", None),
    "familiarity_b": ("How well the participant knows person 1: never, seen or well", None),
    "age_band": ("Optional age band given by the participant", "years"),
    "country": ("Optional country the participant lives in, as they wrote it", None),
    "hint_seen": ("1 when the participant was shown the hint", None),
    "device_pixel_ratio": ("Screen pixels per CSS pixel (window.devicePixelRatio)", None),
    "window_w": ("Browser window width", "CSS pixels"),
    "window_h": ("Browser window height", "CSS pixels"),
    "duration_s": ("Server-clock time from the end of the questions (or the hint) to the last answer", "s"),
}
PRIVATE = ("platform_pid", "study_id", "session_id", "started_at")  # identifying: kept out of the shared dataset


@dataclass(frozen=True)
class Problem:
    code: str
    level: str  # "error" or "warning"
    path: str
    message: str


def datafile_name(description: str) -> str:
    return f"study-{STUDY_KEY}_description-{description}_data.csv"


def write_psychds(folder: Path, trials: list[dict[str, Any]], training: list[dict[str, Any]],
                  sessions: list[dict[str, Any]], store: Any) -> dict[str, Any]:
    """Write the dataset (three data files, metadata, README) and check it; returns where and what was found."""
    session_columns = [c for c in SESSION_COLUMNS if c not in PRIVATE]
    tables = {"trials": (trials, TRIAL_COLUMNS), "training": (training, TRAINING_COLUMNS),
              "sessions": (sessions, session_columns)}
    for name, (rows, columns) in tables.items():
        atomic_write_csv(folder / "data" / datafile_name(name), rows, columns)
    columns = list(dict.fromkeys(c for _, cols in tables.values() for c in cols))
    names = store.names()
    simulated = sum(int(s.get("simulated") or 0) for s in sessions)
    description = (
        f"Answers of a face-matching study made with lookalike: participants learned two look-alike people "
        f"(0 = {names[0]}, 1 = {names[1]}) from named photos, then judged pairs of briefly shown photos as the "
        f"same person or not (after Paper §6, equation 1). Groups: novices without the hint (pre), novices "
        f"with the hint from the networks (post), experts who know both people (expert). Files: trials "
        f"(one row per answered pair), training (display time of each training photo), sessions (one row "
        f"per participant: questionnaire, display, timing). Design: {store.design().__dict__}. "
        + (f"{simulated} of the {len(sessions)} participants were SIMULATED by code, not people. " if simulated
           else "")
        + "Platform ids are left out.")
    meta = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": f"lookalike face-matching study: {names[0]} and {names[1]}",
        "description": description,
        "schemaVersion": SCHEMA_VERSION,
        "keywords": ["face recognition", "look-alike faces", "explainable AI", "same-different task"],
        "variableMeasured": [_property(c) for c in columns],
    }
    atomic_write_json(folder / "dataset_description.json", meta)
    atomic_write_text(folder / "README.md",
                      "# lookalike face-matching study\n\n" + description + "\n\nColumns are described in "
                      "dataset_description.json (variableMeasured). Written by `lookalike study export`.\n")
    problems = validate(folder)
    return {"folder": "study/psychds", "files": [f"data/{datafile_name(n)}" for n in tables],
            "errors": [p.__dict__ for p in problems if p.level == "error"],
            "warnings": len([p for p in problems if p.level == "warning"])}


def _property(column: str) -> dict[str, Any]:
    text, unit = VARIABLES.get(column, (column, None))
    out = {"@type": "PropertyValue", "name": column, "description": text}
    if unit:
        out["unitText"] = unit
    return out


# the checker ---------------------------------------------------------------------------
def validate(folder: str | Path) -> list[Problem]:
    """Every Psych-DS problem of the dataset in `folder` (errors and warnings), as the schema names them."""
    root = Path(folder)
    problems: list[Problem] = []
    meta = _check_description(root, problems)
    for stem, extensions in RECOMMENDED_FILES.items():
        if not any((root / f"{stem}{ext}").is_file() for ext in extensions):
            problems.append(Problem(f"MISSING_{stem}_DOC", "warning", stem, f"a {stem}.md or {stem}.txt is recommended"))
    for name in RECOMMENDED_DIRS:
        if not (root / name).is_dir():
            problems.append(Problem(f"MISSING_{name.upper()}_DIRECTORY", "warning", name,
                                    f"a subdirectory '{name}' is recommended"))
    data = root / "data"
    if not data.is_dir():
        problems.append(Problem("MISSING_DATA_DIRECTORY", "error", "data", "a subdirectory named 'data' is required"))
        return problems
    measured = _measured_names(meta) if meta is not None else None
    datafiles = 0
    for path in sorted(data.rglob("*.csv")):
        rel = path.relative_to(root).as_posix()
        if not DATAFILE_REGEX.fullmatch(path.name):
            problems.append(Problem("FILENAME_KEYWORD_FORMATTING_ERROR", "error", rel,
                                    "data file names must be keyword-value pairs ending in _data.csv"))
            continue
        for key in (pair.split("-", 1)[0] for pair in path.name[: -len("_data.csv")].split("_")):
            if key not in OFFICIAL_KEYWORDS:
                problems.append(Problem("FILENAME_UNOFFICIAL_KEYWORD_WARNING", "warning", rel,
                                        f"keyword {key!r} is not one of Psych-DS's"))
        header = _check_csv(path, rel, problems)
        if header is None:
            continue
        datafiles += 1
        if measured is not None:
            missing = [c for c in header if c not in measured]
            if missing:
                problems.append(Problem("CSV_COLUMN_MISSING_FROM_METADATA", "error", rel,
                                        f"columns not in variableMeasured: {', '.join(missing)}"))
    if datafiles == 0:
        problems.append(Problem("MISSING_DATAFILE", "error", "data", "no valid CSV data file under data/"))
    return problems


def _check_description(root: Path, problems: list[Problem]) -> dict[str, Any] | None:
    path = root / "dataset_description.json"
    if not path.is_file():
        problems.append(Problem("MISSING_DATASET_DESCRIPTION", "error", path.name,
                                "a dataset_description.json in the base directory is required"))
        return None
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        problems.append(Problem("JSON_ENCODING_ERROR", "error", path.name, "metadata must be UTF-8"))
        return None
    except json.JSONDecodeError as exc:
        problems.append(Problem("INVALID_JSON_FORMATTING", "error", path.name, f"not valid JSON: {exc}"))
        return None
    if not isinstance(meta, dict):
        problems.append(Problem("INVALID_JSON_FORMATTING", "error", path.name, "metadata must be a JSON object"))
        return None
    context = meta.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if not any(c in SCHEMA_ORG for c in contexts if isinstance(c, str)):
        problems.append(Problem("UNKNOWN_NAMESPACE", "error", path.name, "@context must be https://schema.org/"))
    kind = meta.get("@type", meta.get("type"))
    if kind is None:
        problems.append(Problem("MISSING_DATASET_TYPE", "error", path.name, "@type is required"))
    elif kind not in ("Dataset", "https://schema.org/Dataset", "http://schema.org/Dataset"):
        problems.append(Problem("INCORRECT_DATASET_TYPE", "error", path.name, f"@type must be Dataset, not {kind!r}"))
    for key in REQUIRED_KEYS:
        if key not in meta:
            problems.append(Problem("JSON_KEY_REQUIRED", "error", path.name, f"required key {key!r} is missing"))
    for key in RECOMMENDED_KEYS:
        if key not in meta:
            problems.append(Problem("JSON_KEY_RECOMMENDED", "warning", path.name, f"recommended key {key!r} is missing"))
    if "variableMeasured" in meta and not isinstance(meta["variableMeasured"], list):
        problems.append(Problem("INVALID_OBJECT_TYPE", "error", path.name, "variableMeasured must be a list"))
    return meta


def _measured_names(meta: dict[str, Any]) -> set[str]:
    out = set()
    for entry in meta.get("variableMeasured") or []:
        if isinstance(entry, str):
            out.add(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            out.add(entry["name"])
    return out


def _check_csv(path: Path, rel: str, problems: list[Problem]) -> list[str] | None:
    """The header of a well-formed data file, or None after recording why it is not one."""
    raw = path.read_bytes()
    if not raw.strip():
        problems.append(Problem("FILE_EMPTY", "error", rel, "the file is empty"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem("CSV_FORMATTING_ERROR", "error", rel, "not UTF-8 text"))
        return None
    lines = text.splitlines()
    if any(not line.strip() for line in lines):
        problems.append(Problem("CSV_FORMATTING_ERROR", "error", rel, "empty lines are not allowed"))
        return None
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        problems.append(Problem("CSV_FORMATTING_ERROR", "error", rel, f"not valid CSV: {exc}"))
        return None
    header = rows[0]
    if not header or any(not h.strip() for h in header):
        problems.append(Problem("CSV_HEADER_MISSING", "error", rel, "the first row must name every column"))
        return None
    if len(set(header)) != len(header):
        problems.append(Problem("CSV_HEADER_REPEATED", "error", rel, "a column name appears twice"))
    if any(len(row) != len(header) for row in rows[1:]):
        problems.append(Problem("CSV_HEADER_LENGTH_MISMATCH", "error", rel, "rows must have as many cells as the header"))
    if "row_id" in header:
        ids = [row[header.index("row_id")] for row in rows[1:] if len(row) == len(header)]
        if len(set(ids)) != len(ids):
            problems.append(Problem("ROWID_VALUES_NOT_UNIQUE", "error", rel, "row_id values must be unique"))
    return header
