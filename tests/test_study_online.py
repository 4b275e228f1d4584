"""A study as a researcher runs it online: preregistered, one public link, several people in a real
browser with Prolific ids (two know both people, one fails a catch trial), exported, analysed against
the plan, and reported with its assignments, exclusions and deviations."""

from __future__ import annotations

import pytest
from markupsafe import escape

from lookalike.fakerun import make_fake_run
from lookalike.io import read_csv, read_json
from lookalike.report.build import build_report
from lookalike.study.analysis import analyze
from lookalike.study.app import create_app
from lookalike.study.export import export_study
from lookalike.study.preregister import preregister
from lookalike.study.server import background_server
from lookalike.study.setup import open_study
from lookalike.study.store import Design
from studybrowser import PROLIFIC, answer_pairs, fake_prolific, launch, prolific_link, questions, through_hint

pytestmark = pytest.mark.browser
PEOPLE = [  # Prolific id, familiarity with the two people, fails the catch trial
    ("60aa00000000000000000001", ("never", "never"), False),
    ("60aa00000000000000000002", ("well", "well"), False),
    ("60aa00000000000000000003", ("well", "well"), False),
    ("60aa00000000000000000004", ("never", "never"), True),
]


@pytest.mark.timeout(400)
def test_a_preregistered_online_study_from_one_public_link_to_the_report(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run, design=Design(train_per_person=2, pairs=4, catch_trials=1))
    # 9 timed presentations per session (4 photos, 5 pairs): at the default 10 % one frame presented
    # late on a busy machine (test_study_browser) would exclude a whole session, so this study
    # preregisters a tolerance of 2 in 9; real designs show 40 or more
    store.update_settings(rules={"max_off_frame_share": 0.25},
                          recruitment={"completion_url": PROLIFIC, "completion_code": "ONLINE1"})
    plan = preregister(run, store)
    with background_server(create_app(run, store)) as url, sync_api.sync_playwright() as p:
        browser = launch(p)
        for pid, (a, b), fail_catch in PEOPLE:
            page = browser.new_page(viewport={"width": 800, "height": 700})
            fake_prolific(page)
            page.goto(prolific_link(url, pid))
            page.wait_for_url(f"{url}/p/*")
            row = store.participant(page.url.rsplit("/", 1)[1])
            catch = {t["trial"] for t in store.test_plan(row["id"]) if t["catch"]}
            page.click("#consent")
            questions(page, a, b)
            assert through_hint(page) == (store.participant(row["token"])["grp"] == "post")
            page.click("#start-training:not([disabled])", timeout=30_000)
            page.click("#start-test:not([disabled])", timeout=60_000)
            answer_pairs(page, 5, lambda t, fail=fail_catch, catch=catch: "different" if fail and t in catch else "same")
            page.wait_for_url("https://app.prolific.com/**?cc=ONLINE1", timeout=15_000)
            page.close()
        browser.close()
    groups = {s["platform_pid"]: s["group"] for s in store.session_rows()}
    export_study(run, store)
    store.close()

    assert groups[PEOPLE[1][0]] == groups[PEOPLE[2][0]] == "expert"
    assert {groups[PEOPLE[0][0]], groups[PEOPLE[3][0]]} == {"pre", "post"}  # novices balanced
    sessions = read_csv(run.study / "sessions.csv")
    assert [s["platform_pid"] for s in sessions] == [pid for pid, _, _ in PEOPLE]
    assert all(s["complete"] == "1" and s["simulated"] == "0" for s in sessions)
    summary = analyze(run, n_boot=200, n_permutations=200, trials=4)
    ex = summary["exclusions"]
    catch_rule = next(r for r in ex["rules"] if r["id"] == "catch")
    assert catch_rule["n"] == 1 and ex["excluded"] == 1 and ex["included_per_group"]["expert"] == 2
    assert {r["id"] for r in ex["rules"] if r["n"]} == {"catch"}  # no real session was too fast or off-frame
    found = [d["what"] for d in summary["preregistration"]["deviations"]]
    assert summary["preregistration"]["sha256"] == plan["sha256"]
    assert "analysis setting 'trials_per_participant' differs from the plan" in found
    assert "expert: 2 participants analysed, 5 planned (fewer than planned)" in found
    assert summary["simulated_participants"] == 0

    build_report(run)
    html = run.report_html.read_text()
    assert "Assignment and exclusions" in html and "Moved by the rule" not in html
    assert "(simulated)" not in html and "Preregistration" in html
    for text in found:
        assert str(escape(text)) in html, text  # the report escapes what it shows (Jinja2 autoescape)
    assert read_json(run.study / "psychds" / "dataset_description.json")["@type"] == "Dataset"
