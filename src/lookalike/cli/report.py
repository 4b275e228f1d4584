"""`lookalike report RUN [--out FILE] [--pdf]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "report", parents=[common], help="write the run's report: one self-contained HTML page (and PDF)",
        description="Write RUN/report.html: data, training curves, test accuracies beside the paper's, fooling "
                    "panels, activation maps with their sanity and faithfulness checks, the region ranking and "
                    "hint, and the human study with its statistics. Every figure is embedded, so the file can be "
                    "sent on its own. Stages that have not run are named, not fatal. If study/trials.csv is newer "
                    "than the study analysis, the analysis is recomputed first.",
    )
    p.add_argument("run", metavar="RUN", help="run folder (as written by the other stages)")
    p.add_argument("--out", metavar="FILE", default=None, help="where to write the HTML (default RUN/report.html)")
    p.add_argument("--pdf", action="store_true",
                   help="also print it to PDF next to the HTML with headless Chromium (/usr/bin/chromium or "
                        "$LOOKALIKE_CHROMIUM)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> Any:
    from .. import api

    result = api.report(args.run, seed=args.seed, device=args.device, out=args.out, pdf=args.pdf)
    if not args.json:
        missing = ", ".join(result["missing"]) or "none"
        print(f"report written to {result['report']} (stages missing: {missing})"
              + (f"; PDF: {result['pdf']}" if result.get("pdf") else ""), file=sys.stderr)
    return result
