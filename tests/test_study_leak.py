"""Nothing a participant's browser receives or sends tells the answer before it is given."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lookalike.fakerun import IDENTITIES as FAKE_IDENTITIES
from lookalike.fakerun import make_fake_run
from lookalike.study.app import STATIC, create_app
from lookalike.study.setup import open_study

IDENTITIES = FAKE_IDENTITIES["plain"]

RANDOM_PATH = re.compile(r"/api/p/[A-Za-z0-9_-]+/img/[A-Za-z0-9_-]+")
FORBIDDEN = [*IDENTITIES, "faces/", "truth", "label", "identity", "same", "different", ".png"]


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunks.append(data[pos + 4:pos + 8].decode("ascii"))
        pos += 12 + length
    return chunks


@pytest.fixture()
def sessions(tmp_path):
    """Ten participants brought to the test screen; what each one's browser saw."""
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run)
    client = TestClient(create_app(run, store))
    seen = []
    for token in store.create_links("pre", 10):
        api = f"/api/p/{token}"
        texts = [client.get(f"/p/{token}").text, client.get(f"{api}/state").text]
        client.post(f"{api}/consent")
        client.post(f"{api}/questionnaire", json={"familiarity_a": "never", "familiarity_b": "never"})
        training = client.get(f"{api}/state").json()["training"]
        client.post(f"{api}/training", json={"shown_ms": [400.0] * len(training)})
        state_text = client.get(f"{api}/state").text
        texts.append(state_text)
        seen.append({"token": token, "texts": texts, "training": training, "test": json.loads(state_text)["test"],
                     "truth": store.truth_of(token)})
    yield run, store, client, seen
    client.close()
    store.close()


def test_pages_scripts_and_state_carry_no_answer(sessions):
    _, _, _, seen = sessions
    for name in ("study.html", "study.js", "study.css", "home.html"):
        text = (STATIC / name).read_text()
        assert not any(w in text for w in [*IDENTITIES, "faces/", "truth"]), name
    for s in seen:
        for text in s["texts"][:1] + s["texts"][2:]:  # the page and the test-phase state
            # random link and image tokens are taken out first: read case-blind, one of their 16 letters in
            # a row can spell a forbidden word by chance (it failed a CI run once), which leaks nothing
            words = RANDOM_PATH.sub("/api/p/<token>/img/<id>", text).replace(s["token"], "<token>").lower()
            assert not any(w in words for w in FORBIDDEN), text[:300]
        for pair in s["test"]:
            assert set(pair) == {"trial", "a", "b"}


def test_image_ids_are_opaque_and_never_reused(sessions):
    _, _, _, seen = sessions
    all_urls = []
    for s in seen:
        urls = [t["img"] for t in s["training"]] + [u for p in s["test"] for u in (p["a"], p["b"])]
        assert len(set(urls)) == len(urls)  # a picture is never shown under the same id twice
        assert len({len(Path(u).name) for u in urls}) == 1  # every id looks alike
        all_urls += urls
    assert len(set(all_urls)) == len(all_urls)  # and ids are never shared between participants
    # the order of the pairs does not follow the answer: it differs between participants
    truths = [tuple(s["truth"]) for s in seen]
    assert len(set(truths)) == len(truths)
    assert all({t[i] for t in truths} == {"same", "different"} for i in range(3))


def test_images_carry_no_metadata_and_no_named_picture_comes_back(sessions):
    _, _, client, seen = sessions
    s = seen[0]
    training = set()
    for item in s["training"]:
        res = client.get(item["img"])
        assert set(png_chunks(res.content)) <= {"IHDR", "IDAT", "IEND"}
        training.add(res.content)
    for pair in s["test"]:
        for url in (pair["a"], pair["b"]):
            res = client.get(url)
            assert set(png_chunks(res.content)) <= {"IHDR", "IDAT", "IEND"}
            assert not {"content-disposition", "etag", "last-modified"} & set(res.headers)
            assert res.content not in training


def test_the_answer_reply_does_not_say_whether_it_was_right(sessions):
    _, _, client, seen = sessions
    s = seen[1]
    api = f"/api/p/{s['token']}"
    replies = []
    for trial in range(2):
        wrong = "different" if s["truth"][trial] == "same" else "same"
        value = s["truth"][trial] if trial == 0 else wrong
        res = client.post(f"{api}/answer", json={"trial": trial, "answer": value, "response_ms": 900.0,
                                                 "shown_ms": 1200.0})
        replies.append({k: v for k, v in res.json().items() if k != "next_trial"})
    assert replies[0] == replies[1]
    after = client.get(f"{api}/state").text.lower()
    assert not any(w in after for w in FORBIDDEN)
