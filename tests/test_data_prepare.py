"""`lookalike prepare` end to end on a small folder of real web photos plus every kind of junk file."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import shared_data
from lookalike import contract as c
from lookalike.data import extract as extract_mod
from lookalike.data.dataset import load_landmarks, load_split
from lookalike.data.prepare import PrepareOptions, prepare
from lookalike.errors import LookalikeError
from lookalike.io import atomic_write_json, read_csv, read_json
from lookalike.runfolder import Run

PEOPLE = ("aamir_khan", "amitabh_bachchan")
PER_PERSON = 7


def _build_photos(root: Path) -> Path:
    """Two people from raw-photos, a few 'other' faces, and one file of every awkward kind."""
    raw = shared_data("raw-photos")
    photos = root / "photos"
    for person in PEOPLE:
        (photos / person).mkdir(parents=True)
        for f in sorted((raw / person).iterdir())[:PER_PERSON]:
            shutil.copy(f, photos / person / f.name)
    (photos / "other").mkdir()
    for f in sorted((raw / "anushka_shetty").iterdir())[:4]:
        shutil.copy(f, photos / "other" / f.name)
    a = photos / PEOPLE[0]
    first = sorted((raw / PEOPLE[0]).iterdir())[0]
    face = Image.open(first).convert("RGB")
    (a / "empty.jpg").write_bytes(b"")
    (a / "readme.jpg").write_text("not an image")
    buf = io.BytesIO()
    face.save(buf, "JPEG")
    (a / "truncated.jpg").write_bytes(buf.getvalue()[:600])
    face.convert("CMYK").save(a / "cmyk.jpg")
    face.convert("L").save(a / "gray.png")
    face.convert("RGBA").save(a / "alpha.png")
    exif = Image.Exif()
    exif[0x0112] = 8  # stored rotated: must be turned upright to be detected
    face.transpose(Image.Transpose.ROTATE_270).save(a / "rotated.jpg", exif=exif.tobytes())
    (a / "nested" / "deeper").mkdir(parents=True)
    face.save(a / "nested" / "deeper" / "Ålborg café 写真.jpg")
    Image.new("1", (9000, 9000)).save(a / "bomb.png")
    (a / ".DS_Store").write_bytes(b"\x00\x01junk")
    (photos / "notes.txt").write_text("a loose file next to the person folders")
    return photos


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep")
    photos = _build_photos(root)
    run = root / "run"
    summary = prepare(PrepareOptions(str(photos), str(run), workers=2))
    return photos, Run(run), summary


def test_every_input_file_is_in_the_manifest_with_a_reason(prepared):
    photos, run, summary = prepared
    rows = read_csv(run.manifest_csv)
    file_rows = {r["source"]: r for r in rows if r["face"] == ""}
    on_disk = {p.relative_to(photos).as_posix() for p in photos.rglob("*") if p.is_file()}
    assert set(file_rows) == on_disk
    assert all(r["outcome"] and r["reason"] for r in file_rows.values())
    a = PEOPLE[0]
    expect = {"empty.jpg": "unreadable", "readme.jpg": "unreadable", "truncated.jpg": "unreadable",
              "bomb.png": "too_large", ".DS_Store": "ignored"}
    for name, outcome in expect.items():
        assert file_rows[f"{a}/{name}"]["outcome"] == outcome, file_rows[f"{a}/{name}"]
    assert file_rows["notes.txt"]["outcome"] == "ignored"
    for name in ("cmyk.jpg", "gray.png", "alpha.png", "rotated.jpg", "nested/deeper/Ålborg café 写真.jpg"):
        row = file_rows[f"{a}/{name}"]
        assert row["outcome"] in ("kept", "duplicate", "review"), row  # a face was found and aligned
    assert "EXIF" in file_rows[f"{a}/rotated.jpg"]["notes"]
    face_rows = [r for r in rows if r["face"] != ""]
    assert len(face_rows) == summary["faces_found"]
    assert {r["outcome"] for r in face_rows} <= {"kept", "review", "dropped", "duplicate", "other"}


def test_copies_of_one_photo_are_dropped_or_share_a_group(prepared):
    _, run, _ = prepared
    rows = read_csv(run.manifest_csv)
    a = PEOPLE[0]
    copies = [f"{a}/{n}" for n in ("cmyk.jpg", "alpha.png", "rotated.jpg", "nested/deeper/Ålborg café 写真.jpg")]
    dup = [r for r in rows if r["face"] != "" and r["source"] in copies]
    assert sum(r["outcome"] == "duplicate" for r in dup) >= 2  # alpha/unicode copies are pixel-identical


def test_output_is_readable_by_load_split_and_leak_free(prepared):
    _, run, summary = prepared
    assert read_json(run.identities_json) == list(PEOPLE)
    split = read_csv(run.split_csv)
    assert len(split) == summary["kept"] > 0
    group_split: dict[str, set[str]] = {}
    for r in split:
        group_split.setdefault(r["group"], set()).add(r["split"])
        assert r["path"].startswith(f"faces/{r['identity']}/") and (run.data / r["path"]).is_file()
        assert int(r["label"]) == PEOPLE.index(r["identity"])
        assert r["path"].isascii()
    assert all(len(s) == 1 for s in group_split.values()), "a near-duplicate group straddles splits"
    total = 0
    for name in ("train", "val", "test"):
        fs = load_split(run, name)
        total += len(fs)
        assert fs.images.shape[1:] == (3, 128, 128) and fs.images.dtype.is_floating_point is False
    assert total == len(split)
    assert (run.data / "summary.json").is_file() and (run.data / "config.json").is_file()
    assert Image.open(run.data / "overview.png").size[0] > 600
    kept_files = {p.relative_to(run.data).as_posix() for p in (run.data / "faces").rglob("*.png")}
    assert kept_files == {r["path"] for r in split}


def test_landmarks_put_the_eyes_where_the_template_says(prepared):
    from lookalike.face.template import EYE_LEFT, EYE_RIGHT, TEMPLATE_68

    _, run, _ = prepared
    paths = [r["path"] for r in read_csv(run.split_csv)]
    lm = load_landmarks(run, paths)
    assert len(read_csv(run.landmarks_csv)) == len(paths)
    for idx in (EYE_LEFT, EYE_RIGHT):
        err = np.linalg.norm(lm[:, idx].mean(1) - TEMPLATE_68[idx].mean(0), axis=1)
        assert np.median(err) < 3.0 and err.max() < 8.0, err


def test_rerun_resumes_from_cache_and_keeps_review_decisions(prepared, monkeypatch, tmp_path):
    photos, run, summary = prepared
    work = tmp_path / "run"
    shutil.copytree(run.root, work)
    queue = read_json(work / "data" / "review_queue.json")["items"]
    kept = [r["path"] for r in read_csv(work / "data" / "split.csv")]
    key_of = {r["path"]: f"{r['source']}#{r['face']}" for r in read_csv(work / "data" / "manifest.csv") if r["path"]}
    decisions = {key_of[kept[0]]: {"decision": "drop", "at": "t"}}
    if queue:
        decisions[queue[0]["id"]] = {"decision": "keep", "at": "t"}
    atomic_write_json(work / "data" / "review.json", {"decisions": decisions})
    before = (work / "data" / "review.json").read_bytes()

    def no_work(*a, **k):
        raise AssertionError("a finished file was processed again")

    monkeypatch.setattr(extract_mod, "extract", no_work)
    again = prepare(PrepareOptions(str(photos), str(work), workers=1))
    assert (work / "data" / "review.json").read_bytes() == before, "prepare must never rewrite review.json"
    rows = {r["path"]: r for r in read_csv(work / "data" / "split.csv")}
    assert kept[0] not in rows and not (work / "data" / kept[0]).exists()
    manifest = read_csv(work / "data" / "manifest.csv")
    assert any(r["outcome"] == "dropped" and "dropped in review" in r["reason"] for r in manifest)
    if queue:
        assert queue[0]["id"].startswith(queue[0]["source"] + "#")
        assert queue[0]["path"] in rows
        assert again["kept"] == summary["kept"]
        assert again["pending_review"] == summary["pending_review"] - 1


@pytest.mark.parametrize("layout", ["one", "four", "empty", "empty_person"])
def test_wrong_layout_is_refused_with_the_expected_layout(tmp_path, layout):
    photos = tmp_path / "photos"
    photos.mkdir()
    names = {"one": ["a"], "four": ["a", "b", "c", "d"], "empty": [], "empty_person": ["a", "b"]}[layout]
    for n in names:
        (photos / n).mkdir()
        if layout != "empty_person" or n == "a":
            Image.new("RGB", (20, 20)).save(photos / n / "x.png")
    with pytest.raises(LookalikeError) as err:
        prepare(PrepareOptions(str(photos), str(tmp_path / "run"), workers=1))
    text = str(err.value)
    assert "expected layout" in text
    assert ("contains no files" in text) if layout == "empty_person" else ("exactly two person folders" in text)
    assert not (tmp_path / "run" / "data" / "split.csv").exists()


def test_apply_button_rebuilds_the_data_set_with_the_decisions(prepared, tmp_path):
    from fastapi.testclient import TestClient

    from lookalike.data.review import make_app

    _, run, summary = prepared
    if not summary["pending_review"]:
        pytest.skip("the filter accepted every face of this sample: nothing to review")
    work = tmp_path / "run"
    shutil.copytree(run.root, work)
    client = TestClient(make_app(work, secret="s"), base_url="http://127.0.0.1/s/")
    first = client.get("api/queue").json()["items"][0]
    assert client.post("api/decision", json={"id": first["id"], "decision": "keep"}).status_code == 200
    applied = client.post("api/apply").json()
    assert applied["kept"] == summary["kept"] + 1
    assert applied["pending_review"] == summary["pending_review"] - 1
    assert first["path"] in {r["path"] for r in read_csv(work / "data" / "split.csv")}
    assert c.DATA_SUMMARY.read(run).kept == summary.kept, "the original run is untouched"


def test_people_without_faces_stop_with_a_manifest_and_leave_earlier_results(tmp_path):
    photos = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for person in ("ann", "bea"):
        (photos / person).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(photos / person / f"{i}.png")
    (photos / "bea" / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    run = Run(tmp_path / "run")
    run.data.mkdir(parents=True)
    run.split_csv.write_text("path,identity,label,split,group\nfaces/ann/old.png,ann,0,train,g0\n")
    before = run.split_csv.read_bytes()
    with pytest.raises(LookalikeError) as err:
        prepare(PrepareOptions(str(photos), str(run.root), workers=1))
    assert "no face was found in the photos of ann and bea" in str(err.value)
    rows = {r["source"]: r for r in read_csv(run.manifest_csv) if r["face"] == ""}
    assert set(rows) == {"ann/0.png", "ann/1.png", "bea/0.png", "bea/1.png", "bea/broken.jpg"}
    assert rows["ann/0.png"]["outcome"] == "no_face" and rows["bea/broken.jpg"]["outcome"] == "unreadable"
    assert run.split_csv.read_bytes() == before, "a failed run must not touch the earlier data set"
