"""Helpers for the browser tests: Debian's Chromium, a Prolific-style link, one participant's clicks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PROLIFIC = "https://app.prolific.com/submissions/complete?cc={code}"


def launch(p):
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    return p.chromium.launch(executable_path=str(CHROMIUM),
                             args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def prolific_link(url: str, pid: str) -> str:
    return f"{url}/join?PROLIFIC_PID={pid}&STUDY_ID=study42&SESSION_ID=sess{pid[-3:]}"


def questions(page, a: str = "never", b: str = "never") -> None:
    page.check(f"#familiarity_a-{a}")
    page.check(f"#familiarity_b-{b}")
    page.select_option("#age-band", "25-34")
    page.click("#questions-done")


def through_hint(page) -> bool:
    """Click past the hint when it is shown; returns whether it was."""
    page.wait_for_selector("#hint-seen, #start-training")
    if page.locator("#hint-seen").count():
        page.click("#hint-seen")
        return True
    return False


def answer_pairs(page, n: int, pick, reload_at: int | None = None) -> None:
    for trial in range(n):
        page.wait_for_selector(f"text=Pair {trial + 1} of {n}")
        with page.expect_response(lambda r: r.url.endswith("/answer")):
            page.click(f"#{pick(trial)}:not([disabled])", timeout=15_000)
        if trial == reload_at:  # a reload mid-test resumes at the next pair
            page.reload()
            page.click("#start-test:has-text('Continue'):not([disabled])", timeout=30_000)


def fake_prolific(page) -> None:
    """The completion redirect goes to Prolific; answer it here (no network in tests)."""
    page.route("https://app.prolific.com/**", lambda route: route.fulfill(
        body="<html><body>back at Prolific</body></html>", content_type="text/html"))
