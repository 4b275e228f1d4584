"""`prepare` on a photos folder with every path that cannot be followed: each one gets a manifest row."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.data import layout as layout_mod
from lookalike.io import read_csv


def odd_photos(root: Path) -> tuple[Path, Path]:
    """Two people of noise crops, plus loops, dangling links, a FIFO, a linked folder and a locked folder."""
    photos, rng = root / "photos", np.random.default_rng(0)
    for person in ("ann", "bea"):
        (photos / person).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)).save(photos / person / f"{i}.png")
    ann = photos / "ann"
    (root / "elsewhere").mkdir()
    Image.fromarray(rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)).save(root / "elsewhere" / "far.png")
    (ann / "far.png").symlink_to(root / "elsewhere" / "far.png")  # a link to a photo: read
    (ann / "loop_a").symlink_to("loop_b")
    (ann / "loop_b").symlink_to("loop_a")
    (ann / "self").symlink_to("self")
    (ann / "gone.jpg").symlink_to("nowhere/missing.jpg")
    (ann / "to_bea").symlink_to("../bea")  # a link to a folder: not followed
    (ann / "up").symlink_to("..")  # would loop forever if followed
    os.mkfifo(ann / "pipe.jpg")  # opening it would block prepare forever
    locked = ann / "locked"
    (locked / "deep").mkdir(parents=True)
    Image.new("RGB", (112, 112)).save(locked / "deep" / "hidden_from_us.png")
    (photos / ".git" / "objects").mkdir(parents=True)
    (photos / ".git" / "objects" / "ab").write_bytes(b"x")
    (photos / "dangling_top").symlink_to("missing-folder")
    (photos / "notes.txt").write_text("a loose file")
    return photos, locked


def test_every_path_under_the_photos_folder_has_a_manifest_row(tmp_path, monkeypatch, capsys):
    """Regression: symlink loops, dangling symlinks and files in unreadable folders had no row, and prepare still
    said that every file was explained."""
    photos, locked = odd_photos(tmp_path)
    os.chmod(locked, 0)
    if os.geteuid() == 0:  # root reads any folder: make the listing fail as it does for everyone else
        real = layout_mod._list

        def denied(folder: Path):
            if folder == locked:
                raise PermissionError(13, "Permission denied", str(folder))
            return real(folder)

        monkeypatch.setattr(layout_mod, "_list", denied)
    try:
        assert main(["prepare", str(photos), "--out", str(tmp_path / "run"), "--aligned", "--no-filter",
                     "--workers", "1"]) == 0
    finally:
        os.chmod(locked, 0o755)
    said = capsys.readouterr().err
    rows = {r["source"]: r for r in read_csv(tmp_path / "run" / "data" / "manifest.csv") if r["face"] == ""}

    unfollowed = {s for s, r in rows.items() if r["outcome"] == "not_read"}
    for folder, dirs, files in os.walk(photos):  # every path, links not followed
        for name in dirs + files:
            path = Path(folder) / name
            source = path.relative_to(photos).as_posix()
            if path.is_dir() and not path.is_symlink():
                continue  # a folder is explained by the rows of what is in it
            covered = source in rows or any(source.startswith(u + "/") for u in unfollowed)
            assert covered, f"{source} has no row in manifest.csv"
    why = {s: rows[s]["reason"] for s in unfollowed}
    assert why["ann/loop_a"].startswith("symlink loop") and why["ann/self"].startswith("symlink loop")
    assert why["ann/gone.jpg"].startswith("dangling symlink (points to nowhere/missing.jpg")
    assert why["ann/to_bea"].startswith("link to a folder") and why["ann/up"].startswith("link to a folder")
    assert why["ann/pipe.jpg"] == "not a regular file: a named pipe (FIFO)"
    assert why["ann/locked"].startswith("folder cannot be read")
    assert why[".git"] == "hidden folder: not read" and why["dangling_top"].startswith("dangling symlink")
    assert rows["ann/far.png"]["outcome"] == "kept"  # a link to a photo is followed
    assert rows["notes.txt"]["reason"] == "not inside a person folder"
    assert "not read: " in said and "3 symlink loop" in said and "every path under the photos folder" in said


def test_a_person_folder_of_nothing_but_dangling_links_is_refused(tmp_path):
    photos = tmp_path / "photos"
    for person in ("ann", "bea"):
        (photos / person).mkdir(parents=True)
    Image.new("RGB", (112, 112)).save(photos / "bea" / "0.png")
    (photos / "ann" / "a.jpg").symlink_to("missing.jpg")
    with pytest.raises(layout_mod.LayoutError, match="contains no files"):
        layout_mod.scan(photos)
