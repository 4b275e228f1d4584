"""CLI for the data stage: `lookalike prepare` and `lookalike review`."""

from __future__ import annotations

import argparse
from typing import Any

PREPARE_DESC = """Build the face data set of two people (paper §3): detect every face with dlib, align it
to the 68-point template, crop 128x128, filter out faces that are not the two people
(3-layer network on dlib embeddings, accept when the own-person score >= --threshold,
the rest wait for `lookalike review`), drop exact copies, group near-duplicates and split
1000 validation / rest 2.5:1 train:test (scaled down for small sets), by person and group.
PHOTOS holds one folder per person (exactly two) and optionally other/ with anyone else.
Every input file ends in RUN/data/manifest.csv with what happened to it. Rerun the same
command to resume an interrupted run or to apply review decisions."""

REVIEW_DESC = """Open a local page that shows the faces the filter did not accept, each with its source
photo. Its address holds a secret (printed at start): only whoever has it can change the data set. Keep or drop each with the mouse or the keyboard (k/d or arrows; u undecided);
every decision is saved at once in RUN/data/review.json. Press Apply (or rerun
`lookalike prepare`) to rebuild the data set with them."""


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("the threshold is a probability between 0 and 1")
    return value


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("prepare", parents=[common], help="photos of two people -> aligned 128x128 data set",
                              description=PREPARE_DESC, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photos", metavar="PHOTOS", help="folder with <person_a>/, <person_b>/ and optional other/")
    p.add_argument("--out", required=True, metavar="RUN", help="run folder; the data set goes to RUN/data/")
    p.add_argument("--aligned", action="store_true",
                   help="inputs are already aligned face crops (e.g. 112x112): resize only, no detection")
    p.add_argument("--detector", choices=["hog", "cnn"], default="hog",
                   help="dlib face detector: hog (fast, frontal) or cnn (mmod, slower, finds more poses)")
    p.add_argument("--threshold", type=_threshold, default=0.90,
                   help="accept a face when the filter's own-person probability is at least this (default 0.90)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--no-filter", dest="filter", action="store_const", const="off",
                   help="skip the identity filter: keep the only face of each photo, send group photos to review")
    g.add_argument("--filter", dest="filter", choices=["auto", "on", "off"], default="auto",
                   help="auto (default): on, except for a synth/prepare run folder whose labels are known")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="processes for detection and embeddings (default: all cores)")
    v = p.add_mutually_exclusive_group()
    v.add_argument("--val", type=int, metavar="N",
                   help="hold out N faces for validation (default: the paper's 1000 of 4570, in proportion)")
    v.add_argument("--val-fraction", type=float, metavar="F",
                   help="hold out this share of the faces for validation, e.g. 0.15")
    p.set_defaults(func=run_prepare)

    r = subparsers.add_parser("review", parents=[common], help="keep/drop the faces the filter was unsure about",
                              description=REVIEW_DESC, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("run", metavar="RUN", help="run folder written by `lookalike prepare`")
    r.add_argument("--port", type=int, default=8765, help="local port (default 8765; 0 picks a free one)")
    r.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1: this machine)")
    r.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    r.set_defaults(func=run_review)


def run_prepare(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.prepare(args.out, photos=args.photos, seed=args.seed, device=args.device, aligned=args.aligned,
                          detector=args.detector, threshold=args.threshold, filter=args.filter, workers=args.workers,
                          val=args.val, val_fraction=args.val_fraction)
    if not args.json:
        _print_summary(summary, args.out)
    return summary


def _print_summary(s: dict[str, Any], out: str) -> None:
    """A few lines for people; --json gives everything."""
    import sys

    per = ", ".join(f"{k} {v}" for k, v in s["kept_per_person"].items())
    sizes = {name: sum(p[name] for p in s["split"].values()) for name in ("train", "val", "test")}
    files = ", ".join(f"{v} {k}" for k, v in s["file_outcomes"].items())
    not_read = s.get("not_read") or {}
    skipped = f"; not read: {', '.join(f'{v} {k}' for k, v in not_read.items())}" if not_read else ""
    print(f"kept {s['kept']} faces ({per}) in {out}/data/faces; split train {sizes['train']}, val {sizes['val']}, "
          f"test {sizes['test']}\nfiles: {files}{skipped}; {s['pending_review']} faces wait for review "
          f"(about {s['pending_review_train_estimate']} more training faces if kept); "
          f"every path under the photos folder has a row in {out}/data/manifest.csv", file=sys.stderr)


def run_review(args: argparse.Namespace) -> dict[str, Any]:
    from ..data.review import serve

    return serve(args.run, host=args.host, port=args.port, open_browser=not args.no_browser)
