"""The study server tried as an attacker would (issue 18): forged timings, echoing error bodies, pace, secrets
on disk, durability, and the group commit that keeps it fast without giving durability up."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import time

import pytest
from fastapi.testclient import TestClient

from lookalike.cli import main
from lookalike.fakerun import make_fake_run
from lookalike.study.analysis import analyze
from lookalike.study.app import create_app
from lookalike.study.export import export_study
from lookalike.study.setup import db_path, open_study
from lookalike.study.store import GroupCommit, Refused

GOOD = {"trial": 0, "answer": "same", "response_ms": 800.0, "shown_ms": 1200.0}


class Clock:
    """The store's clock: each reading is 2 s after the last (a pair takes at least 1.2 s), and `advance`
    moves it on, so a session here takes as long as a person's would, without the wait."""

    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 2.0
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def study(tmp_path):
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run, seed=3)
    store.clock = Clock()
    client = TestClient(create_app(run, store))
    yield run, store, client
    client.close()
    store.close()


def raw_post(client, url, text):
    return client.post(url, content=text, headers={"Content-Type": "application/json"})


def to_training(client, token):
    api = f"/api/p/{token}"
    assert client.post(f"{api}/consent").status_code == 200
    res = client.post(f"{api}/questionnaire", json={"familiarity_a": "never", "familiarity_b": "never"})
    assert res.status_code == 200, res.text
    return api


def to_test(client, store, clock_advance=20):
    token = store.create_links("pre", 1)[0]
    api = to_training(client, token)
    store.clock.advance(clock_advance)  # the 40 training pictures take 16 s
    assert client.post(f"{api}/training", json={"shown_ms": [400.0] * 40}).status_code == 200
    return token, api


@pytest.mark.parametrize("forged", [
    '"shown_ms": true', '"response_ms": "12"', '"shown_ms": "1200"', '"response_ms": 0', '"shown_ms": 0',
    '"response_ms": NaN', '"shown_ms": Infinity', '"response_ms": -1', '"shown_ms": 12.5', '"trial": true',
    '"response_ms": null', '"shown_ms": [1200]', '"response_ms": 1e400',
])
def test_forged_timings_are_refused_and_nothing_is_stored(study, forged):
    """Regression: `shown_ms: true` was stored as 1.0, `response_ms: "12"` as 12.0, and 0 ms was accepted."""
    _, store, client = study
    _, api = to_test(client, store)
    key = forged.split(":")[0].strip('"')
    body = json.dumps({k: v for k, v in GOOD.items() if k != key})[:-1] + ", " + forged + "}"
    res = raw_post(client, f"{api}/answer", body)
    assert res.status_code == 422, res.text
    assert store.trial_rows() == []
    assert client.post(f"{api}/answer", json=GOOD).status_code == 200  # the honest answer still goes in


@pytest.mark.parametrize("values", [[True] * 40, ["400"] * 40, [0] * 40, [400.0] * 39 + [float("nan")],
                                    [150.0] * 40, [400.0] * 39 + [1e9]])
def test_forged_training_times_are_refused(study, values):
    _, store, client = study
    api = to_training(client, store.create_links("pre", 1)[0])
    res = raw_post(client, f"{api}/training", json.dumps({"shown_ms": values}))
    assert res.status_code == 422, res.text
    assert client.get(f"{api}/state").json()["phase"] == "training" and store.training_rows() == []


def test_error_bodies_echo_only_a_short_prefix(study):
    """Regression: a 1 MB string field came back whole in the 422 body."""
    _, store, client = study
    _, api = to_test(client, store)
    big = "x" * 60_000  # under the body limit: refused by validation
    for body in ({**GOOD, "answer": big}, {**GOOD, big: 1}, {**GOOD, "trial": big}):
        res = client.post(f"{api}/answer", json=body)
        assert res.status_code == 422 and len(res.content) < 2_000 and "x" * 200 not in res.text, res.text[:300]
    res = raw_post(client, f"{api}/answer", '{"answer": "' + big)  # not even JSON
    assert res.status_code == 422 and len(res.content) < 2_000
    res = client.post(f"{api}/answer", json={**GOOD, "answer": "x" * 1_000_000})  # over the limit: not read
    assert res.status_code == 413 and len(res.content) < 500
    res = client.post("/api/admin/links", json={"group": big}, headers={"Authorization": f"Bearer {store.admin_token()}"})
    assert res.status_code == 422 and len(res.content) < 2_000


def test_the_link_is_checked_before_the_body_is_read(study):
    _, store, client = study
    token, api = to_test(client, store)
    garbage = "{" * 50_000  # would take the JSON parser some work
    assert raw_post(client, "/api/p/not-a-link/answer", garbage).json()["detail"] == "unknown participant link"
    assert raw_post(client, "/api/admin/links", garbage).status_code == 401
    res = client.post(f"{api}/answer", content=b"x" * 70_000, headers={"Content-Type": "application/json"})
    assert res.status_code == 413
    res = client.post(f"{api}/answer", content=iter([b"x" * 30_000] * 4), headers={"Content-Type": "application/json"})
    assert res.status_code == 413  # no Content-Length (chunked): cut off at the limit all the same
    assert client.post(f"{api}/answer", json=GOOD).json()["stored"] is True


def test_a_script_faster_than_the_design_is_stored_and_left_out_of_equation_1(study):
    """Regression: training and 20 answers in 0.06 s counted as a complete participant in equation (1)."""
    run, store, client = study
    admin = {"Authorization": f"Bearer {store.admin_token()}"}
    honest, _ = to_test(client, store)  # on the test's clock: as long as a person takes
    pairs = len(client.get(f"/api/p/{honest}/state").json()["test"])
    for trial in range(pairs):
        assert client.post(f"/api/p/{honest}/answer", json={**GOOD, "trial": trial}).status_code == 200
    store.clock = time.time  # from here on the real clock: the script and the simulation run at machine speed
    script = store.create_links("pre", 1)[0]
    simulated = client.post("/api/admin/links", json={"group": "pre", "n": 1, "simulated": True},
                            headers=admin).json()["tokens"][0]
    for token in (script, simulated):
        api = to_training(client, token)
        assert client.post(f"{api}/training", json={"shown_ms": [400.0] * 40}).status_code == 200
        for trial in range(pairs):
            assert client.post(f"{api}/answer", json={**GOOD, "trial": trial}).status_code == 200
    export_study(run, store)
    ids = {link["token"]: link["participant"] for link in store.links()}
    rules = {r["id"]: r["participants"] for r in analyze(run, n_boot=100, n_permutations=100)["exclusions"]["rules"]}
    assert rules["too_fast"] == [ids[script]]  # stored, but not in equation (1); the simulated link is exempt
    assert len(store.trial_rows()) == 3 * pairs


def test_the_database_runs_the_durability_the_docs_promise(tmp_path):
    """Regression: store.py promised synchronous=FULL and ran NORMAL."""
    store = open_study(make_fake_run(tmp_path / "run", 48, faces="plain"))
    assert store.pragma("synchronous") == 2  # FULL: every COMMIT is on disk before it is acknowledged
    assert store.pragma("journal_mode") == "wal"
    assert store.query("PRAGMA synchronous")[0][0] == 2  # the reading connections too
    store.close()


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_files_that_hold_secrets_are_owner_only(tmp_path):
    """Regression: study.sqlite (admin token) and links.json (every link) were readable by every local user."""
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run)
    store.create_links("pre", 2)
    db = db_path(run)
    assert {p.name: mode(p) for p in db.parent.glob("study.sqlite*")} == {
        "study.sqlite": 0o600, "study.sqlite-wal": 0o600, "study.sqlite-shm": 0o600}
    store.close()
    os.chmod(db, 0o644)  # a database from an earlier version
    open_study(run).close()
    assert mode(db) == 0o600
    assert main(["study", "links", str(run.root), "--group", "pre", "--n", "1"]) == 0
    assert mode(run.study / "links.json") == 0o600
    export_study(run, s := open_study(run))
    s.close()
    assert mode(run.study / "trials.csv") != 0o600  # what holds no secret keeps the usual mode


def test_group_commit_batches_writes_and_refuses_one_alone(tmp_path):
    store = open_study(make_fake_run(tmp_path / "run", 48, faces="plain"))
    tokens = store.create_links("expert", 40)
    commits = GroupCommit(store)
    seen: list[bool] = []

    async def together():
        writes = [commits.run(store.mark_op, t, "consent", "consent") for t in tokens]
        writes.append(commits.run(store.mark_op, "not-a-link", "consent", "consent"))
        writes.append(commits.run(lambda db: seen.append(db.in_transaction) or "looked"))
        return await asyncio.gather(*writes, return_exceptions=True)

    results = asyncio.run(together())
    assert results[:40] == ["questionnaire"] * 40 and results[-1] == "looked" and seen == [True]
    assert isinstance(results[40], Refused) and "unknown participant link" in str(results[40])
    assert commits.writes == 42 and commits.batches == 1  # 42 writes that arrived together: one COMMIT
    assert all(link["started"] for link in store.links())  # on disk, seen by another connection

    async def while_another_process_writes():
        other = sqlite3.connect(store.path, timeout=5)
        other.execute("BEGIN IMMEDIATE")  # `study links` in another process holds SQLite's write lock
        write = asyncio.ensure_future(commits.run(store.questionnaire_op, tokens[0], "well", "well"))
        t0 = time.perf_counter()
        await asyncio.sleep(0.3)
        assert not write.done() and time.perf_counter() - t0 < 0.5  # the loop kept running meanwhile
        other.execute("COMMIT")
        other.close()
        return await write

    assert asyncio.run(while_another_process_writes()) == "expert"
    commits.close()
    with pytest.raises(RuntimeError, match="stopped"):
        asyncio.run(commits.run(store.mark_op, tokens[0], "consent", "consent"))
    store.close()
