"""Understand the input folder: two person folders (+ optional other/), or a synth/prepare run folder.

A wrong layout is refused up front with a message that shows the expected
one, instead of producing a data set with the wrong people in it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..contract import read_landmarks, read_names
from ..errors import InputError

OTHER_NAMES = {"other", "others"}

EXPECTED = """expected layout:
  PHOTOS/
    <person_a>/   photos of the first person (any depth of sub-folders)
    <person_b>/   photos of the second person
    other/        optional: faces of anyone else (helps the filter)
or, with --aligned, the same with aligned face crops, or a folder written by
`lookalike synth` / `lookalike prepare` (faces/<identity>/… plus landmarks.csv)."""


class LayoutError(InputError):
    """The input folder is not usable; the message says what is expected."""


@dataclass
class InputFile:
    path: Path
    source: str  # relative to the input root, '/'-separated (manifest key)
    folder: str  # identity name, "other", or "" for files outside person folders
    hidden: bool = False


@dataclass
class Layout:
    root: Path  # the folder the user gave (or its synth/ sub-folder)
    persons: list[str]  # label order
    files: list[InputFile]
    runfolder: bool = False  # input is faces/<identity>/… with landmarks.csv
    landmarks: dict[str, list[float]] = field(default_factory=dict)  # source -> 136 numbers
    masks: Path | None = None
    has_other: bool = False


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _files_under(folder: Path, root: Path, label: str) -> list[InputFile]:
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root)
            out.append(InputFile(p, rel.as_posix(), label, _is_hidden(p.relative_to(folder))))
    return out


def scan(photos: str | Path) -> Layout:
    """Find the person folders and every file in them; refuse layouts that cannot work."""
    root = Path(photos)
    if not root.exists():
        raise LayoutError(f"{root} does not exist\n{EXPECTED}")
    if not root.is_dir():
        raise LayoutError(f"{root} is a file, not a folder\n{EXPECTED}")
    if not (root / "faces").is_dir():  # a run folder: take its synth/ (or an earlier prepare's data/)
        for sub in ("synth", "data"):
            if (root / sub / "faces").is_dir() and (root / sub / "landmarks.csv").is_file():
                root = root / sub
                break
    runfolder = (root / "faces").is_dir() and (root / "landmarks.csv").is_file()
    base = root / "faces" if runfolder else root
    dirs = sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    people = [d for d in dirs if d.name.lower() not in OTHER_NAMES]
    others = [d for d in dirs if d.name.lower() in OTHER_NAMES]
    if len(people) != 2:
        found = ", ".join(d.name for d in people) or "none"
        raise LayoutError(f"{base} must contain exactly two person folders, found {len(people)} ({found})"
                          f"\n{EXPECTED}")
    persons = [d.name for d in people]
    if runfolder and (root / "identities.json").is_file():
        listed = read_names(root / "identities.json")
        if sorted(listed) == sorted(persons):
            persons = list(listed)  # keep the label order the earlier stage chose
    files: list[InputFile] = []
    for d in people + others:
        label = "other" if d in others else d.name
        found = _files_under(d, root, label)
        if d in people and not [f for f in found if not f.hidden]:
            raise LayoutError(f"person folder {d} contains no files\n{EXPECTED}")
        files.extend(found)
    loose = [p for p in sorted(base.iterdir()) if p.is_file()]
    files.extend(InputFile(p, p.relative_to(root).as_posix(), "", p.name.startswith(".")) for p in loose)
    layout = Layout(root=root, persons=persons, files=files, runfolder=runfolder, has_other=bool(others))
    if runfolder:
        given = read_landmarks(root / "landmarks.csv", dtype="float64")
        layout.landmarks = {k: v.reshape(-1).tolist() for k, v in given.items()}
        masks = root / "truth" / "masks.npz"
        layout.masks = masks if masks.is_file() else None
    return layout


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_stem(rel: str) -> str:
    """ASCII file-name stem from a relative path: later stages, URLs and CSVs never see odd characters."""
    stem = rel.rsplit(".", 1)[0] if "." in rel.rsplit("/", 1)[-1] else rel
    ascii_ = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = _SAFE.sub("_", ascii_.replace("/", "__")).strip("._") or "face"
    return slug[:80]
