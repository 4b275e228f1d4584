"""Figure 8: the study's screens as a participant sees them, photographed in a real browser.

A throw-away copy of the study (its own database in a temporary folder, the run's faces linked,
not copied) is served on loopback and one participant of the pre-test group is clicked through
it by headless Chromium (Playwright): the training screen is captured while a named photo is up,
the test screen while a pair is flashed, and again when the answer buttons are live. The run's
own study database is never opened, so no participant is added to it. The training phase is
shortened to a few photos per person and every photo is held for HOLD_MS so that the screenshot
catches it on a busy machine; each screen looks as it does in the study.

Writes RUN/study/screens/{training,test,answer}.png and screens.json (when, browser, window).
Without Chromium or Playwright it stops with a message saying what to install (`NotAvailable`);
`note_unavailable` records that reason in screens.json instead, for the report to show.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..contract import SCREENS, Screens
from ..errors import NotAvailable
from ..io import atomic_write_bytes
from ..runfolder import Run
from ..runtime import find_chromium

SHOTS = ("training", "test", "answer")
VIEWPORT = {"width": 820, "height": 620}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TRAIN_PER_PERSON = 1  # the screen shows one photo at a time: fewer photos change nothing in the picture
HOLD_MS = 2500  # each photo and pair stays up this long, so a screenshot on a busy machine still catches it


def screens_folder(run: Run) -> Path:
    return run.study / "screens"


def _chromium() -> str:
    exe = find_chromium()
    if exe is None:
        raise NotAvailable("the study screens need Chromium: install the Debian package `chromium` "
                         "(apt-get install chromium) or point LOOKALIKE_CHROMIUM at a Chrome/Chromium binary")
    return exe


def _playwright() -> Any:
    try:
        from playwright import sync_api
    except ImportError:
        raise NotAvailable("the study screens need the Python package playwright (pip install 'playwright>=1.45,<2'; "
                         "Debian's chromium is used, never `playwright install`)") from None
    return sync_api


def _design(run: Run) -> Any:
    """The run's study design (study/config.json) with the training phase shortened; the defaults otherwise."""
    from .store import Design

    cfg = run.study / "config.json"
    fields = Design.__dataclass_fields__
    given: dict[str, Any] = {}
    if cfg.is_file():
        try:
            design = json.loads(cfg.read_text(encoding="utf-8")).get("design") or {}
            given = {k: v for k, v in design.items() if k in fields and isinstance(v, int)}
        except (OSError, ValueError, AttributeError):
            given = {}
    return Design(**{**given, "train_per_person": TRAIN_PER_PERSON, "catch_trials": 0, "train_ms": HOLD_MS,
                     "pair_ms": HOLD_MS})


def _design_default() -> str:
    from .store import Design

    d = Design()
    return f"{d.train_per_person} photos per person at {d.train_ms} ms, pairs at {d.pair_ms} ms"


def _scratch_run(run: Run, where: Path) -> Run:
    """A run folder in `where` that sees the run's faces and hint but has a study of its own."""
    scratch = Run(where)
    where.mkdir(parents=True, exist_ok=True)
    os.symlink(run.data.resolve(), where / "data", target_is_directory=True)
    if run.regions.is_dir():
        os.symlink(run.regions.resolve(), where / "regions", target_is_directory=True)
    return scratch


def _png(raw: bytes) -> bytes:
    """The screenshot re-encoded as an optimised palette PNG (the screens are flat colours and two faces)."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as im:
        out = io.BytesIO()
        im.convert("RGB").save(out, format="PNG", optimize=True)
        return out.getvalue()


def _shot(page: Any, margin: int = 16) -> bytes:
    """The study's card and a margin of page around it (the empty window below it says nothing)."""
    box = page.locator("#app").bounding_box()
    if not box:
        return page.screenshot()
    x, y = max(0.0, box["x"] - margin), max(0.0, box["y"] - margin)
    clip = {"x": x, "y": y, "width": min(VIEWPORT["width"] - x, box["width"] + 2 * margin),
            "height": min(VIEWPORT["height"] - y, box["height"] + 2 * margin)}
    return page.screenshot(clip=clip)


def _click_through(page: Any, url: str, token: str) -> dict[str, bytes]:
    """One pre-test participant from consent to the first answer; the three screens as PNG bytes."""
    shots: dict[str, bytes] = {}
    page.goto(f"{url}/p/{token}")
    page.click("#consent")
    page.check("#familiarity_a-never")
    page.check("#familiarity_b-never")
    page.click("#questions-done")
    page.click("#start-training:not([disabled])", timeout=60_000)
    page.wait_for_selector(".stage .slot img", timeout=30_000)
    shots["training"] = _shot(page)
    page.click("#start-test:not([disabled])", timeout=60_000)
    page.wait_for_selector(".stage .slot + .slot img", timeout=30_000)
    shots["test"] = _shot(page)
    page.wait_for_selector("#same:not([disabled])", timeout=30_000)
    shots["answer"] = _shot(page)
    return shots


def capture_screens(run: Run | str | Path) -> Screens:
    """Photograph the training, test and answer screens; returns (and writes) screens.json."""
    from .app import create_app
    from .server import background_server
    from .setup import open_study

    run = run if isinstance(run, Run) else Run(run)
    run.require(run.split_csv, "prepare")
    exe, sync_api = _chromium(), _playwright()
    out = screens_folder(run)
    with tempfile.TemporaryDirectory(prefix="lookalike-screens-") as tmp:
        scratch = _scratch_run(run, Path(tmp) / "run")
        store = open_study(scratch, design=_design(run))
        try:
            token = store.create_links("pre", 1)[0]
            with background_server(create_app(scratch, store)) as url, sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport=VIEWPORT)
                    shots = _click_through(page, url, token)
                    version = browser.version
                finally:
                    browser.close()
        finally:
            store.close()
    for name, raw in shots.items():
        atomic_write_bytes(out / f"{name}.png", _png(raw))
    record = {"screens": {name: f"{name}.png" for name in SHOTS}, "browser": f"Chromium {version}",
              "window": VIEWPORT, "group": "pre", "made_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
              "note": f"a scratch copy of the study; {TRAIN_PER_PERSON} training photos per person, each photo "
                      f"and pair held {HOLD_MS} ms for the screenshot (the study: {_design_default()})"}
    return SCREENS.write(run, record)


def note_unavailable(run: Run | str | Path, reason: str) -> Screens:
    """Record in screens.json why no screens were made (the report shows the reason in Figure 8's place);
    screenshots made earlier are kept."""
    run = run if isinstance(run, Run) else Run(run)
    earlier = SCREENS.load(run)
    if earlier.ok and all((screens_folder(run) / f"{n}.png").is_file() for n in SHOTS):
        return earlier.value
    return SCREENS.write(run, {"screens": {}, "unavailable": reason,
                               "made_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")})
