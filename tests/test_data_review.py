"""The review page: API rules, and keep/drop with mouse and keyboard in a real Chromium."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.data.review import make_app
from lookalike.errors import LookalikeError
from lookalike.io import atomic_write_json, read_json

CHROMIUM = Path("/usr/bin/chromium")


def _fake_run(tmp_path: Path, n: int = 3) -> Path:
    """A run folder as `prepare` leaves it when n faces wait for review (no detection needed)."""
    photos = tmp_path / "photos" / "person_a"
    photos.mkdir(parents=True)
    data = tmp_path / "run" / "data"
    items = []
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).convert("CMYK").save(
            photos / f"p{i}.jpg")
        crop = data / "review" / "person_a" / f"p{i}_f0.png"
        crop.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(crop)
        items.append({"id": f"person_a/p{i}.jpg#0", "path": f"faces/person_a/p{i}_f0.png",
                      "crop": f"review/person_a/p{i}_f0.png",
                      "identity": "person_a", "source": f"person_a/p{i}.jpg", "box": [10, 10, 60, 60],
                      "size": [120, 90], "reason": "below threshold", "own_score": 0.5, "decision": None})
    atomic_write_json(data / "review_queue.json", {"photos": str(tmp_path / "photos"),
                                                   "identities": ["person_a", "person_b"], "items": items})
    return tmp_path / "run"


SECRET = "s3cret-of-this-test"


def _client(run: Path, **kwargs):
    """A test client of the review app that talks to it as the page does: under its secret, as 127.0.0.1."""
    from fastapi.testclient import TestClient

    return TestClient(make_app(run, secret=SECRET, **kwargs), base_url=f"http://127.0.0.1/{SECRET}/",
                      raise_server_exceptions=False)


def test_api_saves_decisions_and_rejects_bad_ones(tmp_path):
    run = _fake_run(tmp_path)
    client = _client(run)
    q = client.get("/api/queue").json()
    assert len(q["items"]) == 3 and all(it["decision"] is None for it in q["items"])
    face = q["items"][1]["id"]
    assert client.post("/api/decision", json={"id": face, "decision": "drop"}).status_code == 200
    saved = read_json(run / "data" / "review.json")["decisions"]
    assert saved[face]["decision"] == "drop"
    assert client.get("/api/queue").json()["items"][1]["decision"] == "drop"
    assert client.post("/api/decision", json={"id": face, "decision": "maybe"}).status_code == 422
    assert client.post("/api/decision", json={"id": "../../etc/passwd#0", "decision": "keep"}).status_code == 404
    assert client.post("/api/decision", json={"id": face, "decision": None}).status_code == 200
    assert face not in read_json(run / "data" / "review.json")["decisions"]
    photo = client.get("/photo", params={"id": face})
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"  # CMYK source shown
    assert client.get("/crop", params={"id": face}).headers["content-type"] == "image/png"


def test_review_needs_its_secret_this_host_and_its_own_origin(tmp_path):
    """Regression: a form POST from any web page reran `prepare`; with --host 0.0.0.0 anyone on the network could."""
    from fastapi.testclient import TestClient

    run = _fake_run(tmp_path)
    app = make_app(run, secret=SECRET)
    face = "person_a/p0.jpg#0"
    for base in ("http://127.0.0.1/", "http://127.0.0.1/wrong-secret/", f"http://127.0.0.1/{SECRET[:-1]}/"):
        outsider = TestClient(app, base_url=base)
        for method, path in [("GET", ""), ("GET", "api/queue"), ("POST", "api/apply"), ("GET", "openapi.json"),
                             ("GET", f"crop?id={face}")]:
            assert outsider.request(method, path).status_code == 404, (base, path)
        assert outsider.post("api/decision", json={"id": face, "decision": "drop"}).status_code == 404
    client = _client(run)
    assert client.get("", follow_redirects=False).status_code == 200
    assert client.get(f"http://127.0.0.1/{SECRET}", follow_redirects=False).status_code == 307
    evil = {"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("api/apply", headers=evil, content="x=1").status_code == 403  # the drive-by form post
    assert client.post("api/decision", headers={"Origin": "http://127.0.0.1:9999"},
                       json={"id": face, "decision": "drop"}).status_code == 403  # another port, another origin
    assert client.post("api/decision", headers={"Sec-Fetch-Site": "cross-site"},
                       json={"id": face, "decision": "drop"}).status_code == 403
    assert not (run / "data" / "review.json").exists() and not (run / "data" / "config.json").exists()
    rebinding = TestClient(app, base_url=f"http://attacker.example/{SECRET}/")  # DNS rebinding: a foreign name
    assert rebinding.get("api/queue").status_code == 421
    assert client.post("api/decision", headers={"Origin": "http://127.0.0.1"},
                       json={"id": face, "decision": "drop"}).status_code == 200  # the page itself


def test_review_on_all_interfaces_answers_to_addresses_not_to_foreign_names(tmp_path):
    from fastapi.testclient import TestClient

    from lookalike.data.review import host_names

    app = make_app(_fake_run(tmp_path), secret=SECRET, hosts=host_names("0.0.0.0"))
    for host, status in [("192.168.1.20:8765", 200), ("[fe80::1]:8765", 200), ("localhost", 200),
                         ("evil.example:8765", 421), ("192.168.1.20.evil.example", 421)]:
        client = TestClient(app, base_url=f"http://{host}/{SECRET}/")
        assert client.get("api/queue").status_code == status, host


def test_review_answers_odd_requests_and_damaged_files_without_a_500(tmp_path):
    """Regression: /openapi.json answered 500."""
    run = _fake_run(tmp_path)
    client = _client(run)
    big = "y" * 50_000
    for method, path, kwargs in [
        ("GET", "openapi.json", {}), ("GET", "docs", {}), ("GET", "crop", {}), ("GET", "photo", {}),
        ("GET", "crop", {"params": {"id": big}}), ("GET", "photo", {"params": {"id": "../../../etc/passwd"}}),
        ("POST", "api/decision", {"content": b"{not json"}), ("POST", "api/decision", {"json": [1, 2]}),
        ("POST", "api/decision", {"json": {"id": big, "decision": "keep"}}),
        ("POST", "api/decision", {"json": {"id": 5, "decision": {"a": 1}}}),
        ("POST", "api/decision", {"content": b"x" * 100_000}), ("PUT", "api/queue", {}),
        ("POST", "api/apply", {}),  # this fake run has no data/config.json: refused with a reason
    ]:
        res = client.request(method, path, **kwargs)
        assert 400 <= res.status_code < 500 and len(res.content) < 2_000, (method, path, res.status_code, res.text[:200])
    assert "prepare" in client.post("api/apply").json()["detail"]

    review = run / "data" / "review.json"
    review.write_text("{damaged")
    for res in (client.get("api/queue"), client.post("api/decision", json={"id": "person_a/p0.jpg#0", "decision": "keep"})):
        assert res.status_code == 409 and "review.json" in res.json()["detail"]
    assert review.read_text() == "{damaged"  # never replaced
    review.write_text('["not", "decisions"]')
    assert client.get("api/queue").status_code == 409
    review.unlink()
    (run / "data" / "review_queue.json").write_text('{"items": "nope"}')
    assert client.get("api/queue").status_code == 409 and client.get("photo", params={"id": "x"}).status_code == 409


def test_review_needs_a_prepared_run(tmp_path):
    with pytest.raises(LookalikeError, match="lookalike prepare"):
        make_app(tmp_path / "nothing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_review_page_in_chromium(tmp_path):
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed; run `make browser`")
    playwright = pytest.importorskip("playwright.sync_api")
    import uvicorn

    run = _fake_run(tmp_path)
    port = _free_port()
    app = make_app(run)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/{app.state.secret}")  # redirected to the folder URL
            cards = page.locator(".card")
            cards.first.wait_for()
            assert cards.count() == 3
            # images load (crop from the run, source photo re-encoded from CMYK)
            page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            cards.nth(0).locator("button.keep").click()  # mouse
            page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')")
            cards.nth(1).focus()
            page.keyboard.press("d")  # keyboard: drop, focus moves on
            page.wait_for_function("document.querySelectorAll('.card')[1].dataset.decision === 'drop'")
            page.wait_for_timeout(300)
            assert page.evaluate("document.activeElement.dataset.id") == cards.nth(2).get_attribute("data-id")
            saved = json.loads((run / "data" / "review.json").read_text())["decisions"]
            assert {k: v["decision"] for k, v in saved.items()} == {
                "person_a/p0.jpg#0": "keep", "person_a/p1.jpg#0": "drop"}
            page.reload()  # decisions come back from the server
            page.locator(".card.keep").first.wait_for()
            assert page.locator(".card.drop").count() == 1
            assert "1 keep" in page.locator("#counts").text_content()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=5)
