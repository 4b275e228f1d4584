"""`lookalike regions RUN`: which face regions the networks rely on, and the hint for people (§6)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "regions", parents=[common], help="rank named face regions by attribution; write the hint (§6)",
        description="Splits every aligned face into named regions from its 68 landmarks (forehead, eyebrows, "
                    "eyes, nose, cheekbones, cheeks, mouth, chin, jaw) and scores each map of "
                    "RUN/explain/maps/ (and RUN/fooling/aggregate.npy) by the share of attribution in each "
                    "region divided by the region's share of the face, with bootstrap 95%% intervals. Methods "
                    "that failed explain's sanity check are shown but not used for the hint. Writes "
                    "RUN/regions/ (regions.png, ranking.csv, ranking.png, hint.txt, hint.png, summary.json).",
        epilog="example: lookalike explain runs/demo && lookalike regions runs/demo && cat runs/demo/regions/hint.txt")
    p.add_argument("run", help="run folder (with explain/ and/or fooling/)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.regions(args.run, seed=args.seed, device=args.device)
    if not args.json:
        for source, top in summary["top_regions"].items():
            print(f"{source}: {', '.join(top)}")
        if summary.get("warning"):
            print(f"warning: {summary['warning']}")
        print(f"hint: {summary['hint']}")
        print(f"wrote {args.run}/regions/")
    return summary
