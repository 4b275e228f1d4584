"""The study's HTTP API: the participant flow, validation, idempotent answers, admin access, export."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from lookalike.contract import TRIALS
from lookalike.errors import LookalikeError
from lookalike.fakerun import make_fake_run
from lookalike.io import read_csv
from lookalike.runfolder import Run
from lookalike.study.app import create_app
from lookalike.study.export import export_study
from lookalike.study.setup import HINT_FALLBACK, open_study
from lookalike.study.store import Design


@pytest.fixture()
def study(tmp_path):
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run, seed=3)
    client = TestClient(create_app(run, store))
    yield run, store, client
    client.close()
    store.close()


def admin(store):
    return {"Authorization": f"Bearer {store.admin_token()}"}


def questions(client, api, level="never"):
    res = client.post(f"{api}/questionnaire", json={"familiarity_a": level, "familiarity_b": level})
    assert res.status_code == 200, res.text
    return res


def start(client, store, group):
    token = store.create_links(group, 1)[0]
    api = f"/api/p/{token}"
    assert client.post(f"{api}/consent").status_code == 200
    questions(client, api, "well" if group == "expert" else "never")
    if group == "post":
        assert client.post(f"{api}/hint").status_code == 200
    state = client.get(f"{api}/state").json()
    assert state["phase"] == "training"
    assert client.post(f"{api}/training", json={"shown_ms": [400.0] * len(state["training"])}).status_code == 200
    return token, api


def answer(client, api, trial, value="same", **extra):
    return client.post(f"{api}/answer", json={"trial": trial, "answer": value, "response_ms": 800.0,
                                              "shown_ms": 1201.5} | extra)


def test_a_whole_session_is_stored_answer_by_answer_and_exported(study):
    run, store, client = study
    token = store.create_links("pre", 1)[0]
    api = f"/api/p/{token}"
    assert client.get(f"/p/{token}").status_code == 200
    state = client.get(f"{api}/state").json()
    assert state["phase"] == "consent" and "hint" not in state
    assert len(state["training"]) == 40
    names = [t["name"] for t in state["training"]]
    assert len(set(names[:20])) == 1 and len(set(names[20:])) == 1 and names[0] != names[20]
    assert set(names) == {"Anna Example", "Bella Example"}
    assert answer(client, api, 0).status_code == 409  # no answers before training
    client.post(f"{api}/consent")
    assert client.post(f"{api}/training", json={"shown_ms": [400.0] * 40}).status_code == 409  # questions first
    state = client.get(f"{api}/state").json()
    assert state["phase"] == "questionnaire" and [o["value"] for o in state["questionnaire"]["familiarity"]] == [
        "never", "seen", "well"]
    assert client.post(f"{api}/questionnaire", json={"familiarity_a": "maybe", "familiarity_b": "never"}).status_code == 422
    assert client.post(f"{api}/questionnaire", json={"familiarity_a": "never", "familiarity_b": "seen",
                                                     "country": "<script>"}).status_code == 422
    assert client.post(f"{api}/questionnaire", json={"familiarity_a": "never", "familiarity_b": "never",
                                                     "age_band": "25-34", "country": "Côte d'Ivoire"}).status_code == 200
    assert client.post(f"{api}/training", json={"shown_ms": [400.0] * 39}).status_code == 422
    assert client.post(f"{api}/training", json={"shown_ms": [401.0] * 40, "frame_ms": True}).status_code == 422
    assert client.post(f"{api}/training", json={"shown_ms": [401.0] * 40, "frame_ms": 16.7,
                                                "device_pixel_ratio": 2.0, "window_w": 390,
                                                "window_h": 760}).status_code == 200
    state = client.get(f"{api}/state").json()
    assert state["phase"] == "test" and state["next_trial"] == 0 and len(state["test"]) == 22  # 20 + 2 catch
    plan = client.get(f"/api/admin/truth/{token}", headers=admin(store)).json()
    truth, catch = plan["truth"], plan["catch"]
    assert sum(catch) == 2 and not catch[0] and all(truth[i] == "same" for i, c in enumerate(catch) if c)
    given = []
    for trial in range(22):
        value = truth[trial] if trial % 4 else ("different" if truth[trial] == "same" else "same")
        res = answer(client, api, trial, value, response_ms=500.0 + trial, frame_ms=16.7)
        assert res.status_code == 200, res.text
        assert res.json()["next_trial"] == trial + 1
        given.append(value)
        # stored at once, not at the end
        assert len(store.trial_rows()) == trial + 1
    state = client.get(f"{api}/state").json()
    assert state["phase"] == "done" and len(state["completion"]["code"]) == 8
    summary = export_study(run, store)
    rows = read_csv(run.study / "trials.csv")
    assert list(rows[0].keys()) == TRIALS.columns
    assert [r["answer"] for r in rows] == given
    assert [int(r["correct"]) for r in rows] == [int(g == t) for g, t in zip(given, truth)]
    assert [int(r["catch"]) for r in rows] == [int(c) for c in catch]
    assert {r["complete"] for r in rows} == {"1"} and {r["group"] for r in rows} == {"pre"}
    assert [float(r["response_ms"]) for r in rows] == [500.0 + t for t in range(22)]
    assert all(r["image_a"].startswith("faces/") and r["image_b"].startswith("faces/") for r in rows)
    real = [int(g == t) for g, t, c in zip(given, truth, catch) if not c]
    assert summary["groups"]["pre"]["accuracy_complete"] == round(sum(real) / 20, 4)
    session = read_csv(run.study / "sessions.csv")[0]
    assert (session["familiarity_a"], session["age_band"], session["country"], session["frame_ms"],
            session["window_w"], session["hint_seen"]) == ("never", "25-34", "Côte d'Ivoire", "16.7", "390", "0")
    assert summary["shown_training"]["median_ms"] == 401.0


def test_answers_are_idempotent_ordered_and_cannot_change(study):
    _, store, client = study
    _, api = start(client, store, "expert")
    assert answer(client, api, 0, "same").json()["stored"] is True
    again = answer(client, api, 0, "same")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert answer(client, api, 0, "different").status_code == 409
    assert answer(client, api, 2).status_code == 409  # skipping a pair
    assert len(store.trial_rows()) == 1
    state = client.get(f"{api}/state").json()  # a reload resumes at the next pair
    assert state["next_trial"] == 1 and [t["trial"] for t in state["test"]] == list(range(1, 22))


@pytest.mark.parametrize("bad", [
    {"answer": "maybe"}, {"trial": -1}, {"trial": 22}, {"trial": "x"}, {"response_ms": -5.0}, {"frame_ms": 0.0},
    {"shown_ms": 1e9}, {"shown_ms": math.inf}, {"truth": "same"}, {"answer": None},
])
def test_forged_or_out_of_range_answers_are_refused(study, bad):
    _, store, client = study
    _, api = start(client, store, "pre")
    body = {"trial": 0, "answer": "same", "response_ms": 800.0, "shown_ms": 1200.0} | bad
    res = client.post(f"{api}/answer", content=__import__("json").dumps(body), headers={"Content-Type": "application/json"})
    assert 400 <= res.status_code < 500, res.text
    assert store.trial_rows() == []


def test_unknown_links_and_images_are_404(study):
    _, store, client = study
    token = store.create_links("pre", 1)[0]
    other = store.create_links("pre", 1)[0]
    missing = client.get("/p/not-a-token")
    assert missing.status_code == 404 and "not known" in missing.text
    assert client.get("/api/p/not-a-token/state").status_code == 404
    assert client.post("/api/p/nope/answer", json={"trial": 0, "answer": "same", "response_ms": 1.0,
                                                   "shown_ms": 1.0}).status_code == 404
    img = client.get(f"/api/p/{token}/state").json()["training"][0]["img"]
    assert client.get(img).status_code == 200
    assert client.get(img.replace(token, other)).status_code == 404  # ids are per participant


def test_admin_endpoints_need_the_token(study):
    _, store, client = study
    token = store.create_links("pre", 1)[0]
    for method, url in [("GET", "/api/admin/progress"), ("GET", "/api/admin/export"),
                        ("GET", f"/api/admin/truth/{token}"), ("POST", "/api/admin/links")]:
        assert client.request(method, url).status_code == 401
        assert client.request(method, url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/admin/progress", headers=admin(store)).json()["groups"]["pre"]["links"] == 1
    made = client.post("/api/admin/links", json={"group": "post", "n": 3}, headers=admin(store)).json()
    assert len(made["links"]) == 3
    assert client.post("/api/admin/links", json={"group": "vip", "n": 1}, headers=admin(store)).status_code == 422
    assert client.get("/api/admin/export", headers=admin(store)).text.splitlines()[0] == ",".join(TRIALS.columns)


def test_post_group_sees_the_hint_and_its_picture(study):
    run, store, client = study
    token = store.create_links("post", 1)[0]
    state = client.get(f"/api/p/{token}/state").json()
    assert state["phase"] == "consent" and "hint" not in state  # not before the questions say who they are
    client.post(f"/api/p/{token}/consent")
    questions(client, f"/api/p/{token}")
    assert client.get(f"/api/p/{token}/state").json()["hint"] == {"text": HINT_FALLBACK, "picture": None}
    (run.regions).mkdir(parents=True)
    (run.regions / "hint.txt").write_text("Look at the chin.\n")
    (run.data / "faces/anna_example/anna_example_0000.png").replace(run.regions / "hint.png")
    state = client.get(f"/api/p/{token}/state").json()
    assert state["phase"] == "hint" and state["hint"]["text"] == "Look at the chin."
    assert client.get(state["hint"]["picture"]).headers["content-type"] == "image/png"
    assert client.post(f"/api/p/{token}/training", json={"shown_ms": [400.0] * 40}).status_code == 409
    pre = store.create_links("pre", 1)[0]
    assert client.post(f"/api/p/{pre}/hint").status_code == 409
    assert client.get(f"/api/p/{pre}/hint.png").status_code == 404


def test_random_links_become_balanced_novice_groups_and_experts_see_no_hint(study):
    _, store, client = study
    tokens = store.create_links("random", 6)
    for t in tokens:
        assert store.participant(t)["grp"] is None
        client.post(f"/api/p/{t}/consent")
        questions(client, f"/api/p/{t}")
    groups = [store.participant(t)["grp"] for t in tokens]
    assert sorted(groups) == ["post"] * 3 + ["pre"] * 3
    assert groups == [store.participant(t)["grp"] for t in tokens]  # assigned once, kept
    # whatever the link, someone who knows both people is run as an expert (no hint); someone who
    # knows only one fits neither rule and sees no hint either
    expert, mixed = store.create_links("post", 2)
    for t, (a, b) in ((expert, ("well", "well")), (mixed, ("well", "never"))):
        client.post(f"/api/p/{t}/consent")
        client.post(f"/api/p/{t}/questionnaire", json={"familiarity_a": a, "familiarity_b": b})
        state = client.get(f"/api/p/{t}/state").json()
        assert state["phase"] == "training" and "hint" not in state
    assert [store.participant(t)["grp"] for t in (expert, mixed)] == ["expert", "unclassified"]


def test_plans_follow_the_paper_design(study):
    run, store, _ = study
    test_split = {f"faces/{n}/{n}_{i:04d}.png" for n in ("anna_example", "bella_example") for i in range(45)}
    assert set(store.stimuli()[0]) | set(store.stimuli()[1]) == test_split
    for token in store.create_links("pre", 20):
        pid = store.participant(token)["id"]
        paths = {r["img_id"]: r["path"] for r in store.query("SELECT * FROM images WHERE participant=?", (pid,))}
        trials = store.test_plan(pid)
        catch = [t for t in trials if t["catch"]]
        assert len(catch) == 2 and trials[0]["catch"] == 0
        assert all(paths[t["img_a"]] == paths[t["img_b"]] and t["img_a"] != t["img_b"] for t in catch)
        trials = [t for t in trials if not t["catch"]]
        shown = [paths[t["img_a"]] for t in trials] + [paths[t["img_b"]] for t in trials]
        assert len(shown) == len(set(shown)) == 40  # no image twice in a test
        assert not set(shown) & {paths[t["img_a"]] for t in catch}
        train = [paths[t["img_id"]] for t in store.training_plan(pid)]
        assert not set(train) & (set(shown) | {paths[t["img_a"]] for t in catch})
        assert sum(t["truth"] == "same" for t in trials) == 10
        for t in trials:
            same_person = paths[t["img_a"]].split("/")[1] == paths[t["img_b"]].split("/")[1]
            assert same_person == (t["truth"] == "same")


def test_a_small_test_split_is_topped_up_and_too_few_images_stop_clearly(tmp_path):
    run = make_fake_run(tmp_path / "small", 33, faces="plain")  # 30 test + 3 train images per person
    with pytest.raises(LookalikeError, match="needs at least 41 of each"):
        open_study(run)
    assert not (run.study / "study.sqlite").exists()
    store = open_study(run, design=Design(train_per_person=9, pairs=20))
    assert all(len(v) == 30 for v in store.stimuli().values()) and store.meta("stimuli_note") is None
    store.close()
    run = make_fake_run(tmp_path / "topped", 41, faces="plain")
    store = open_study(run)
    assert all(len(v) == 41 for v in store.stimuli().values())
    assert "from train" in store.meta("stimuli_note")
    assert store.create_links("pre", 1)
    store.close()


def test_stimuli_are_fixed_once_and_capped(tmp_path):
    run = make_fake_run(tmp_path / "r", 48, faces="plain")
    store = open_study(run, seed=1, per_person=41)
    first = store.stimuli()
    assert [len(v) for v in first.values()] == [41, 41]
    store.close()
    assert open_study(Run(run.root), seed=99).stimuli() == first


def test_the_public_link_enrols_resumes_by_platform_id_and_stops_when_full(study):
    _, store, client = study
    store.update_settings(recruitment={"max_participants": 3})
    first = client.post("/api/join", json={"PROLIFIC_PID": "abc123", "STUDY_ID": "s1", "SESSION_ID": "x1",
                                           "extra_param": "ignored"}).json()
    assert first["resumed"] is False and first["path"].startswith("/p/")
    again = client.get("/join?PROLIFIC_PID=abc123&STUDY_ID=s1", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first["path"]
    assert client.post("/api/join", json={"PROLIFIC_PID": "abc123"}).json()["token"] == first["token"]
    assert client.get("/join?PROLIFIC_PID=new1").status_code == 200  # the page that enrols
    assert client.post("/api/join", json={"PROLIFIC_PID": "bad id!"}).status_code == 422
    generic = client.post("/api/join", json={"pid": "abc123"}).json()  # another platform, another person
    assert generic["token"] != first["token"]
    rows = {r["platform"]: r for r in store.query("SELECT * FROM participants")}
    assert (rows["prolific"]["platform_pid"], rows["prolific"]["study_id"], rows["generic"]["platform_pid"]) == (
        "abc123", "s1", "abc123")
    assert client.post("/api/join", json={}).status_code == 200  # no id at all: a class, a mailing list
    full = client.post("/api/join", json={"pid": "late"})
    assert full.status_code == 409 and "full" in full.json()["detail"]
    token = first["token"]
    assert store.participant(token)["grp"] is None  # the questions decide the group
    from lookalike.study.rules import RuleError

    with pytest.raises(RuleError, match="https://"):
        store.update_settings(recruitment={"completion_url": "javascript:alert(1)"})


def test_plans_fit_the_fewest_photos_the_design_says_it_needs():
    import random

    from lookalike.study.store import make_plan

    design = Design()
    need = design.images_needed()
    stimuli = {lab: [f"{lab}/{i}.png" for i in range(need)] for lab in (0, 1)}
    for seed in range(200):  # every draw of sides, catch photos and order fits
        plan = make_plan(stimuli, design, random.Random(seed))
        assert len(plan["pairs"]) == 22 and sum(c for *_, c in plan["pairs"]) == 2
