"""`lookalike demo [RUN] [--quick] [--only STEPS] [--one-at-a-time]`: the whole pipeline on fresh synthetic look-alikes."""

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
    p.add_argument("--one-at-a-time", action="store_true",
                   help="train the two networks one after the other (default on a CPU with 2+ cores: side by "
                        "side, each in its own process on half the cores)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> Any:
    from .. import api

    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    return api.demo(args.run, seed=args.seed, device=args.device, quick=args.quick, only=only,
                   side_by_side=False if args.one_at_a_time else None)
