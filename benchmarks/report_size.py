"""How large a run's report.html is, and what in it takes the room (issue 17: the demo's under 3 MB).

Builds the report of RUN (default runs/demo, made by `make demo`) with `lookalike report`, timed and with its
peak memory, unless --no-build, then splits the page's bytes by section (`<section id=...>`) into embedded
pictures (data: URIs, by type) and the rest (text, tables, the face map's dots), and lists the largest pictures.
Writes benchmarks/results/report_size.json; exits 1 when the page is over --budget-mb.

    .venv/bin/python benchmarks/report_size.py [RUN] [--no-build] [--budget-mb 3]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from _common import write_result

REPO = Path(__file__).resolve().parents[1]
SECTION = re.compile(rb'<section[^>]*\bid="([^"]+)"')
DATA_URI = re.compile(rb"data:(image/[a-z+]+);base64,[A-Za-z0-9+/=]+")
CAPTION = re.compile(rb"<figcaption[^>]*>(.*?)</figcaption>", re.S)
TAG = re.compile(rb"<[^>]+>")


def build(run: Path) -> dict[str, object]:
    """`lookalike report RUN` in a subprocess (so its peak memory is its own): seconds and peak MB."""
    code = ("import resource, sys; from lookalike.cli import main; rc = main(['report', sys.argv[1]]); "
            "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(run)], capture_output=True, text=True)
    seconds = round(time.perf_counter() - t0, 1)
    peak = re.search(r"PEAK_KB (\d+)", done.stderr)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
    return {"exit": done.returncode, "seconds": seconds, "peak_mb": round(int(peak[1]) / 1024, 1) if peak else None}


def caption_after(page: bytes, start: int, at: int) -> str:
    """The figure caption that follows a picture (the first 70 characters); a CSS background says so."""
    if page[max(0, start - 4):start] == b"url(":
        return "(a CSS background, e.g. the face map's hover faces)"
    m = CAPTION.search(page, at, at + 200_000)
    return TAG.sub(b"", m[1]).decode(errors="replace").strip()[:70] if m else ""


def breakdown(page: bytes) -> dict[str, object]:
    """Bytes per section: all, in pictures (per type) and the rest; the 12 largest pictures."""
    starts = [(m.start(), m[1].decode()) for m in SECTION.finditer(page)]
    bounds = [(0, "(head)")] + starts
    sections: dict[str, dict[str, object]] = {}
    pictures = []
    for k, (start, name) in enumerate(bounds):
        end = bounds[k + 1][0] if k + 1 < len(bounds) else len(page)
        part = page[start:end]
        by_type: dict[str, int] = {}
        for m in DATA_URI.finditer(part):
            mime = m[1].decode().removeprefix("image/")
            by_type[mime] = by_type.get(mime, 0) + len(m[0])
            pictures.append({"section": name, "type": mime, "bytes": len(m[0]),
                             "caption": caption_after(page, start + m.start(), start + m.end())})
        in_pictures = sum(by_type.values())
        sections[name] = {"bytes": len(part), "pictures": in_pictures, "by_type": by_type,
                          "other": len(part) - in_pictures}
    pictures.sort(key=lambda p: -p["bytes"])
    return {"sections": sections, "largest_pictures": pictures[:12], "n_pictures": len(pictures)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", type=Path, default=REPO / "runs" / "demo")
    ap.add_argument("--no-build", action="store_true", help="measure the report.html that is there")
    ap.add_argument("--budget-mb", type=float, default=3.0, help="the page's budget in MB of 10^6 bytes")
    args = ap.parse_args()
    page_path = args.run / "report.html"
    built = None if args.no_build else build(args.run)
    if built is not None and built["exit"] != 0:
        print(f"lookalike report {args.run} failed (exit {built['exit']})")
        return 1
    if not page_path.is_file():
        print(f"no {page_path}: run `make demo` (or pass a run folder)")
        return 1
    page = page_path.read_bytes()
    parts = breakdown(page)
    print(f"{page_path}: {len(page) / 1e6:.2f} MB (budget {args.budget_mb:g} MB), {parts['n_pictures']} pictures"
          + (f"; built in {built['seconds']} s, peak {built['peak_mb']} MB" if built else ""))
    print(f"{'section':<12} {'all KB':>8} {'pictures':>9} {'other':>7}  by type (KB)")
    for name, s in parts["sections"].items():
        types = ", ".join(f"{t} {b / 1e3:.0f}" for t, b in sorted(s["by_type"].items()))
        print(f"{name:<12} {s['bytes'] / 1e3:8.0f} {s['pictures'] / 1e3:9.0f} {s['other'] / 1e3:7.0f}  {types}")
    print("largest pictures:")
    for p in parts["largest_pictures"]:
        print(f"  {p['bytes'] / 1e3:6.0f} KB {p['type']:<5} {p['section']:<10} {p['caption']}")
    result = {"run": str(args.run), "bytes": len(page), "budget_bytes": int(args.budget_mb * 1e6),
              "within_budget": len(page) <= args.budget_mb * 1e6, "build": built, **parts}
    print(f"wrote {write_result('report_size.json', result)}")
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
