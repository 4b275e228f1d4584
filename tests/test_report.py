"""`lookalike report`: renders on an empty run and on a run with every stage's files written through the
contract (made-up numbers), in a real browser too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lookalike as lk
from lookalike import contract as c
from lookalike.cli import main
from lookalike.errors import LookalikeError
from lookalike.models import SiameseNet, VGGClassifier, save_model
from lookalike.report import build_report
from lookalike.runfolder import Run

STAGES = ["data", "training", "fooling", "siamese", "facemap", "explain", "regions", "study"]
ALL_SECTIONS = ["overview", *STAGES, "appendix"]
CHROMIUM = Path("/usr/bin/chromium")


def png(path: Path, w: int = 48, h: int = 40, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def trial_rows() -> list[dict]:
    rows = []
    for group, n, right in (("pre", 3, 11), ("post", 3, 14), ("expert", 2, 18)):
        for i in range(n):
            for t in range(20):
                truth = "same" if t % 2 else "different"
                ok = t < right + i - 1
                answer = truth if ok else ("different" if truth == "same" else "same")
                rows.append({"participant": f"{group}{i}", "group": group, "complete": 1, "trial": t,
                             "image_a": "x", "image_b": "y", "truth": truth, "answer": answer,
                             "correct": int(ok), "response_ms": 800, "shown_ms": 1201})
    return rows


def ranking_rows() -> list[dict]:
    """regions/ranking.csv in its long form: one row per (source, region)."""
    scores = {"siamese-guided_backprop": ("pass", {"eyes": 0.4, "forehead": 2.1, "cheekbones": 1.7}),
              "edge_detector": ("fail", {"eyes": 3.0, "forehead": 0.2, "cheekbones": 0.1})}
    return [{"source": src, "region": reg, "rank": 0, "score": sc, "ci_low": sc - 0.1, "ci_high": sc + 0.1,
             "sanity": sanity} for src, (sanity, regs) in scores.items() for reg, sc in regs.items()]


def fake_run(root: Path) -> int:
    """Every stage's files, written through the contract as the stages write them (with made-up numbers and
    random pictures); returns how many images the report embeds."""
    run = Run(root)
    c.SYNTH_SUMMARY.write(run, c.SynthSummary(images=40, regions=["forehead", "cheekbones"]))
    c.write_identities(run, ["person_a", "person_b"])
    c.DATA_SUMMARY.write(run, c.PrepareSummary(files=10, kept=8, faces_found=8))
    c.write_config(run.data, {"aligned": True})
    c.MANIFEST.write(run, [c.ManifestRow(source=f"p{i}.jpg", outcome=o, reason=r) for i, (o, r) in
                           enumerate([("kept", "")] * 8 + [("no_face", "no face found"), ("unreadable", "zero bytes")])])
    split = []
    for who in ("person_a", "person_b"):
        for i in range(4):
            png(run.data / "faces" / who / f"{i}.png", 128, 128, seed=i + 10 * len(who))
            split.append(c.SplitRow(path=f"faces/{who}/{i}.png", identity=who, label=int(who[-1] == "b"),
                                    split=["train", "train", "val", "test"][i], group=f"{who}{i}"))
    c.SPLIT.write(run, split)
    images = 8 + 2  # the examples, and Figure 1's pair (the first test face of each person)
    for kind, acc in (("classifier", 0.91), ("siamese", 0.83)):
        c.NETWORK_SUMMARY.write(run, c.NetworkSummary(model=kind, test_accuracy=acc, epochs=3, preset="fast",
                                                      test=c.Scores(accuracy=acc, n=20, balanced_accuracy=acc,
                                                                    roc_auc=0.95)), kind=kind)
        c.write_config(run.model(kind), {"preset": "fast"})
        png(run.model(kind) / "curves_accuracy.png")
        png(run.model(kind) / "curves_loss.png")
        images += 2
    save_model(run.model("classifier"), "classifier", VGGClassifier(width=4, dense=16))  # Figure 2 is traced
    save_model(run.model("siamese"), "siamese", SiameseNet(width=4, hidden=8))  # from these, and Figure 6
    images += 2
    points = [c.MapPoint(path=r.path, identity=r.identity, label=r.label, split=r.split, x=i / 7, y=1 - i / 7,
                         predicted=r.identity if i != 3 else "person_b", correct=int(i != 3), thumb=i)
              for i, r in enumerate(split)]
    for kind in ("classifier", "siamese"):
        c.FACEMAP_POINTS.write(run, points, kind=kind)
    png(run.root / "facemap" / "thumbs.jpg", 320, 40)
    c.FACEMAP_SUMMARY.write(run, {"identities": ["person_a", "person_b"], "perplexity": 2.3,
                                  "thumbs": {"count": 8, "columns": 8, "size": 40}, "networks": {
                                      kind: {"embedding": "made up", "mistake": "made up", "faces": {"test": 2},
                                             "mistakes": {"test": 1}, "trustworthiness": 0.9,
                                             "csv": f"facemap/{kind}.csv"} for kind in ("classifier", "siamese")}})
    c.BASELINE_SUMMARY.write(run, c.BaselineSummary(model="embedding", test_accuracy=0.97, pair_accuracy=0.9))
    c.FOOLING_SUMMARY.write(run, c.FoolingSummary(model="classifier", n=3, n_fooled=3, success_rate=1.0,
                                                  steps={"median": 12, "max": 30}))
    for i in range(3):
        png(run.fooling / "panels" / f"img{i}.png", 120, 40, seed=i)
    png(run.fooling / "grid.png")
    png(run.fooling / "aggregate.png")
    images += 5
    png(run.explain / "figure7_siamese-guided_backprop.png")
    png(run.explain / "figure7_siamese-edge_detector.png")
    images += 2
    cascade = [{"layers_randomised": 3, "spearman_mean": 0.12}]
    c.SANITY.write(run, c.Sanity(methods={
        "siamese-guided_backprop": c.SanityResult(passed=True, final_spearman=0.12, cascade=cascade),
        "siamese-edge_detector": c.SanityResult(passed=False, final_spearman=0.99, cascade=cascade)},
        passed=["siamese-guided_backprop"], failed=["siamese-edge_detector"]))
    c.FAITHFULNESS.write(run, c.Faithfulness(methods={
        "siamese-guided_backprop": c.FaithfulnessResult(deletion_auc=0.21, insertion_auc=0.7, random_deletion_auc=0.3,
                                                        random_insertion_auc=0.5, beats_random=True),
        "siamese-edge_detector": c.FaithfulnessResult(deletion_auc=0.4, insertion_auc=0.5, random_deletion_auc=0.3,
                                                      random_insertion_auc=0.5, beats_random=False)}))
    c.EXPLAIN_SUMMARY.write(run, c.ExplainSummary(trusted_methods=["siamese-guided_backprop"],
                                                  failed_methods=["siamese-edge_detector"]))
    png(run.explain / "region_test.png")
    images += 1
    png(run.regions / "regions.png")
    png(run.regions / "ranking.png")
    images += 2
    c.RANKING.write(run, ranking_rows())
    c.HINT.write(run, "Look at the forehead and the cheekbones <b>not</b> the eyes.")
    c.REGIONS_SUMMARY.write(run, c.RegionsSummary(hint="Look at the forehead and the cheekbones.",
                                                  look_at=["forehead", "cheekbones"], not_confirmed=["eyes"]))
    c.TRIALS.write(run, trial_rows())
    c.STUDY_SUMMARY.write(run, c.StudySummary(participants=8))
    c.DEMO.write(run, c.DemoRecord(run=str(root), profile="quick", total_seconds=61.5, steps=[
        c.DemoStep(name="synth", argv=["lookalike", "synth", "x"], status="ok", seconds=4.2),
        c.DemoStep(name="fool", argv=["lookalike", "fool", "x"], status="failed", seconds=1.0, error="boom")]))
    return images + 3  # the study analysis adds figure9, accuracy and d′


def test_ranking_is_one_row_per_region_ordered_by_trusted_sources():
    from lookalike.report.sections import ranking_table

    html = ranking_table(ranking_rows())
    body = html.split("<tbody>")[1]
    assert [m for m in re.findall(r"<tr[^>]*><td[^>]*>(\w+)</td>", body)] == ["forehead", "cheekbones", "eyes"]
    assert "edge detector (fails sanity)" in html and '2.10<br><span class="small">[2.00, 2.20]</span>' in html


def test_empty_run_names_every_missing_stage(tmp_path):
    result = build_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert result["missing"] == STAGES and result["present"] == []
    for sid in ALL_SECTIONS:
        assert f'id="{sid}"' in html
    assert html.count("has not run yet") == len(STAGES)
    assert "lookalike fool" in html and "lookalike explain" in html


def test_missing_run_folder_is_refused(tmp_path):
    with pytest.raises(LookalikeError, match="is not a run folder"):
        build_report(tmp_path / "nope")


def test_full_fake_run_has_every_section_embedded_and_escaped(tmp_path):
    n_images = fake_run(tmp_path)
    result = lk.report(tmp_path)  # the API (and `lookalike report`) recompute a stale analysis first
    assert result["sections"] == dict.fromkeys(STAGES, "present")
    html = Path(result["report"]).read_text()
    assert (tmp_path / "study/analysis/summary.json").is_file()  # stale analysis recomputed for the report
    assert len(re.findall(r'<img src="data:image/(?:png|jpeg|webp);base64,', html)) == n_images
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs and all(r.startswith(("data:", "#")) for r in refs)  # nothing the page would fetch
    assert "&lt;b&gt;not&lt;/b&gt;" in html and "<b>not</b>" not in html  # text from files is escaped
    assert re.search(r'<tr class="fail"><td[^>]*>edge detector', html)  # failing method marked in tables
    assert "fails sanity" in html.split('id="explain"')[1].split("edge detector (Siamese network)")[1][:200]
    assert "91.00%" in html and "87.30%" in html and "85.04%" in html and "52.67%" in html
    assert "Look at the forehead" in html.split('id="overview"')[1].split("</section>")[0]
    assert "The novices with the hint scored 15.0 points higher than the novices without the hint" in html
    assert "quick profile, 61.5 s" in html and ">lookalike fool x</td>" in html
    regions = html.split('id="regions"')[1].split("</section>")[0]
    assert "Region test" in regions and "<b>eyes</b>, but covering it does not change" in regions


def test_broken_stage_file_shows_error_not_crash(tmp_path):
    fake_run(tmp_path)
    (tmp_path / "explain/sanity.json").write_text("{not json")
    (tmp_path / "regions/ranking.csv").write_bytes(b"\xff\xfe\x00bad")
    panel = tmp_path / "fooling/grid.png"
    panel.write_bytes(panel.read_bytes()[:200])  # truncated PNG
    result = build_report(tmp_path)
    html = Path(result["report"]).read_text()
    assert "sanity.json could not be read" in html and "ranking.csv could not be read" in html
    assert "grid.png is missing or unreadable" in html
    assert result["sections"]["data"] == "present"


def test_cli_report_and_pdf_without_chromium(tmp_path, monkeypatch, capsys):
    fake_run(tmp_path)
    assert main(["report", str(tmp_path), "--json", "--out", str(tmp_path / "r.html")]) == 0
    assert json.loads(capsys.readouterr().out)["report"] == str(tmp_path / "r.html")
    monkeypatch.setenv("LOOKALIKE_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(LookalikeError, match="--pdf needs Chromium"):
        build_report(tmp_path, pdf=True)
    assert (tmp_path / "report.html").is_file() and not (tmp_path / "report.pdf").exists()


def _browser():
    if not CHROMIUM.is_file():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed; run `make browser`")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


@pytest.mark.browser
@pytest.mark.parametrize("full", [False, True], ids=["empty-run", "full-run"])
def test_report_renders_in_chromium_without_broken_images(tmp_path, full):
    n_images = fake_run(tmp_path) if full else 0
    result = lk.report(tmp_path)
    with _browser() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            requests: list[str] = []
            errors: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(Path(result["report"]).resolve().as_uri(), wait_until="load")
            for sid in ALL_SECTIONS:
                assert page.locator(f"section#{sid} h2").count() == 1, sid
            imgs = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
            assert len(imgs) == n_images
            assert all(done and width > 0 for done, width in imgs)
            assert all(u.startswith(("file:", "data:")) for u in requests), requests
            assert not errors, errors
            if full:
                assert page.locator("section#explain .badge.fail").count() == 1
        finally:
            browser.close()


@pytest.mark.browser
def test_pdf_is_printed_by_chromium(tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed; run `make browser`")
    fake_run(tmp_path)
    result = build_report(tmp_path, pdf=True)
    pdf = Path(result["pdf"])
    assert pdf == tmp_path / "report.pdf" and pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_fooling_panels_prefer_images_the_attack_changed(tmp_path):
    from lookalike.report.sections import informative_panels

    for i in range(3):
        png(tmp_path / "panels" / f"img{i}.png")
    c.RESULTS.write_at(tmp_path / "results.csv", [c.FoolResult(
        id=f"img{i}", path=f"faces/a/{i}.png", source="a", target="b", steps=s, p_target_start=0.2, p_target_end=0.95,
        p_target_saved=0.95, linf=0.1, l2=1.0, success=1, gave_up=0) for i, s in enumerate([0, 5, 0])])
    assert [p.stem for p in informative_panels(tmp_path)] == ["img1", "img0", "img2"]
