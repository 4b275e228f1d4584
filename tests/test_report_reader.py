"""The report read as a reader would: the quick demo's report.html in Chromium, and its PDF page by page.

The browser takes screenshots of the whole page, of the map of the faces with a face shown, and of
each figure the paper has; the test checks that every figure of the paper is there, in the paper's
order, with its caption, that the tables speak in words, and that the PDF's pages render.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lookalike.report import build_report

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RAW_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a field name such as final_spearman or deletion_auc
FLOAT_NOISE = re.compile(r"\d\.\d{5,}")  # 0.018890 where a person reads 0.019


def _figure_numbers(captions: list[str]) -> list[int]:
    """The paper's figure numbers in the order the report first shows them."""
    seen: list[int] = []
    for text in captions:
        m = re.match(r"Figure (\d+)\b", text.strip())
        if m and int(m.group(1)) not in seen:
            seen.append(int(m.group(1)))
    return seen


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (make browser)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.mark.timeout(600)
def test_a_reader_sees_every_figure_of_the_paper_in_order(quick_demo, browser, tmp_path):
    report = quick_demo / "report.html"
    assert report.is_file()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.resolve().as_uri(), wait_until="load")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert images and all(done and width > 0 for done, width, _ in images), images

    captions = page.locator("figure figcaption").all_inner_texts()
    assert _figure_numbers(captions) == list(range(1, 10)), captions
    for n in range(1, 10):  # each figure of the paper is a picture a reader can look at
        fig = page.locator("figure", has=page.locator("figcaption", has_text=re.compile(rf"^Figure {n}\b"))).first
        fig.scroll_into_view_if_needed()
        fig.screenshot(path=str(tmp_path / f"figure{n}.png"))
        assert fig.bounding_box()["height"] > 60, n
    lead7 = page.locator("figcaption", has_text=re.compile(r"^Figure 7\b")).first.inner_text()
    assert "Siamese" in lead7  # the paper's Figure 7 is the Siamese network's

    # the map of the faces: a dot per face; tabbing to one (or pointing at it) shows the face
    for kind in ("classifier", "siamese"):
        dots = page.locator(f"#facemap-{kind} .fm-plot > b")
        assert dots.count() > 20, kind
        dots.first.focus()  # dots overlap where the network puts faces together: focus reaches any of them
        tip = dots.first.locator("span")
        assert tip.is_visible() and tip.locator(".fm-face").count() == 1
        page.locator(f"#facemap-{kind}").screenshot(path=str(tmp_path / f"facemap-{kind}.png"))
        face = tip.locator(".fm-face").evaluate("e => getComputedStyle(e).backgroundImage")
        assert face.startswith('url("data:image/webp')  # the sprite as a small WebP

    # tables a person reads: headers in words, numbers without float noise, a sentence under each
    tables = page.locator("main table:not(.kv):not(.legend)")
    assert tables.count() >= 8
    for k in range(tables.count()):
        t = tables.nth(k)
        if t.evaluate("e => !!e.closest('details')"):
            continue  # the raw files behind a section, opened on request
        heads = t.locator("th").all_inner_texts()
        assert not any(RAW_KEY.search(h) for h in heads), heads
        assert not FLOAT_NOISE.search(t.inner_text()), t.inner_text()[:400]
        note = t.evaluate("e => { const s = e.closest('.scroll') || e; const n = s.nextElementSibling; "
                          "return n && n.matches('p.table-note') ? n.innerText : ''; }")
        assert len(note.split()) >= 5, heads
    page.close()


@pytest.mark.timeout(600)
def test_the_pdf_has_every_figure_on_its_pages(quick_demo, tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (make browser)")
    result = build_report(quick_demo, out=tmp_path / "report.html", pdf=True)
    pdf = pdfium.PdfDocument(result["pdf"])
    assert len(pdf) >= 8
    text = []
    for k in range(len(pdf)):
        page = pdf[k]
        image = page.render(scale=0.5).to_pil().convert("L")
        text.append(page.get_textpage().get_text_range())
        assert image.getextrema()[0] < 128 or text[-1].strip(), f"page {k + 1} is blank"  # something on every page
    numbers = _figure_numbers([line for t in text for line in t.splitlines()])
    assert numbers == list(range(1, 10)), numbers
