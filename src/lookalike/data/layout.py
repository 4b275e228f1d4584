"""Understand the input folder: two person folders (+ optional other/), or a synth/prepare run folder.

A wrong layout is refused up front with a message that shows the expected
one, instead of producing a data set with the wrong people in it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
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
    """One path under the input folder: a file to read, or (`unread` set) one that cannot be a photo."""

    path: Path
    source: str  # relative to the input root, '/'-separated (manifest key)
    folder: str  # identity name, "other", or "" for files outside person folders
    hidden: bool = False
    unread: str = ""  # why it is not read (symlink loop, dangling link, unreadable folder …): its manifest reason
    unread_kind: str = ""  # the short name of that reason, for counts


@dataclass
class Layout:
    root: Path  # the folder the user gave (or its synth/ sub-folder)
    persons: list[str]  # label order
    files: list[InputFile]
    runfolder: bool = False  # input is faces/<identity>/… with landmarks.csv
    landmarks: dict[str, list[float]] = field(default_factory=dict)  # source -> 136 numbers
    masks: Path | None = None
    has_other: bool = False


KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device"}


def _why_unread(entry: os.DirEntry) -> tuple[str, str]:
    """(kind, reason) when a path cannot be read as a photo or walked as a folder; ("", "") when it can.

    Links to files are followed (a photo may live elsewhere); links to folders are not,
    so a link can never make the walk loop or leave for the rest of the disk.
    """
    try:
        st = os.stat(entry.path)  # follows links
    except OSError as exc:
        if not entry.is_symlink():
            return "cannot be read", f"cannot be read ({exc.strerror})"
        target = os.readlink(entry.path)
        if exc.errno == errno.ELOOP:
            return "symlink loop", f"symlink loop (points to {target}, which leads back to itself)"
        if exc.errno == errno.ENOENT:
            return "dangling symlink", f"dangling symlink (points to {target}, which does not exist)"
        return "cannot be read", f"symlink to {target}, which cannot be read ({exc.strerror})"
    if stat.S_ISDIR(st.st_mode):
        if entry.is_symlink():
            return "link to a folder", (f"link to a folder ({os.readlink(entry.path)}): not followed; "
                                        "link the photos themselves")
        return "", ""
    if stat.S_ISREG(st.st_mode):
        return "", ""
    return "not a regular file", f"not a regular file: {KINDS.get(stat.S_IFMT(st.st_mode), 'a special file')}"


def _list(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def walk(folder: Path, root: Path, label: str, hidden: bool = False) -> Iterator[InputFile]:
    """Every path under `folder`, in name order: files to read, and a row-to-be for each one that cannot be.

    A folder that cannot be listed is one entry (its files cannot be named); nothing is skipped silently.
    """
    try:
        entries = _list(folder)
    except OSError as exc:
        yield InputFile(folder, folder.relative_to(root).as_posix(), label, hidden,
                        f"folder cannot be read ({exc.strerror}): the files in it are not listed", "unreadable folder")
        return
    for entry in entries:
        path = Path(entry.path)
        is_hidden = hidden or entry.name.startswith(".")
        kind, why = _why_unread(entry)
        if not why and entry.is_dir():
            yield from walk(path, root, label, is_hidden)
        else:
            yield InputFile(path, path.relative_to(root).as_posix(), label, is_hidden, why, kind)


def _files_under(folder: Path, root: Path, label: str) -> list[InputFile]:
    return list(walk(folder, root, label))


def _outside_person_folders(base: Path, root: Path, folders: list[Path]) -> list[InputFile]:
    """The entries beside the person folders: loose files, hidden folders, odd links, unreadable things."""
    out = []
    for entry in _list(base):
        path = Path(entry.path)
        if path in folders:
            continue
        hidden, (kind, why) = entry.name.startswith("."), _why_unread(entry)
        if not why and entry.is_dir():  # the only folders that are not person folders are hidden ones
            kind, why = "hidden folder", "hidden folder: not read"
        out.append(InputFile(path, path.relative_to(root).as_posix(), "", hidden, why, kind))
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
    try:
        dirs = sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    except OSError as exc:
        raise LayoutError(f"{base} cannot be read ({exc.strerror})\n{EXPECTED}") from None
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
        if d in people and not [f for f in found if not (f.hidden or f.unread)]:
            raise LayoutError(f"person folder {d} contains no files\n{EXPECTED}")
        files.extend(found)
    files.extend(_outside_person_folders(base, root, people + others))
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
