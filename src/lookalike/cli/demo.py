"""`lookalike demo [RUN] [--quick] [--only STEPS]`: the whole pipeline on fresh synthetic look-alikes."""

from __future__ import annotations

import argparse
from typing import Any

from ..demo import STEPS


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "demo", parents=[common], help="run the whole pipeline on fresh synthetic look-alikes",
        description="Render synthetic look-alikes, then run every stage on them in order: prepare, train "
                    "(classifier and Siamese), fool, explain, regions, a simulated study (pre, post, expert), its "
                    "analysis and the report. Timings go to RUN/demo.json; rerunning reuses finished work.",
        epilog="Steps: " + ", ".join(name for name, _, _, _ in STEPS))
    p.add_argument("run", nargs="?", default="runs/demo", metavar="RUN", help="run folder (default runs/demo)")
    p.add_argument("--quick", action="store_true", help="a tiny configuration for tests (minutes → seconds)")
    p.add_argument("--only", default=None, metavar="STEPS",
                   help="comma-separated step names to run (default: all), e.g. synth,prepare")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> Any:
    from .. import api

    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    return api.demo(args.run, seed=args.seed, device=args.device, quick=args.quick, only=only)
