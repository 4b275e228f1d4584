"""`lookalike synth`: render the synthetic look-alike data set the demo and the tests run on."""

from __future__ import annotations

import argparse
from typing import Any

from ..synth.params import DEFAULT_REGIONS, REGIONS


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "synth", parents=[common], help="render synthetic look-alike faces with ground truth",
        description="Render 128×128 faces of two made-up people (person_a, person_b) who differ only in "
                    "planted regions, under strong nuisance variation (pose, light, skin, hair, expression, "
                    "glasses, background, blur, noise, JPEG). Writes faces/<identity>/*.png, landmarks.csv, "
                    "truth/masks.npz, truth/params.jsonl, contact_sheet.png and summary.json into OUT.",
        epilog="Example: lookalike synth runs/demo/synth --n-per-identity 500 --regions forehead,cheekbones")
    p.add_argument("out", metavar="OUT", help="output folder (e.g. runs/demo/synth)")
    p.add_argument("--n-per-identity", type=int, default=1000, metavar="N",
                   help="images per person (default 1000, i.e. 2,000 images)")
    p.add_argument("--regions", default=",".join(DEFAULT_REGIONS),
                   help=f"comma-separated planted regions, from: {', '.join(REGIONS)} "
                        f"(default {','.join(DEFAULT_REGIONS)})")
    p.add_argument("--strength", type=float, default=1.0,
                   help="how far apart the two people are in the planted regions (default 1.0; 0.5 = harder)")
    p.add_argument("--region-dropout", type=float, default=0.0, metavar="P",
                   help="chance that a face leaves a planted region midway between the two people (at least one "
                        "stays), so each region alone tells only some faces apart and a network must learn all "
                        "of them (default 0: every face shows every planted region; the demo uses 0.5)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes to render with (default: all CPU cores)")
    p.add_argument("--force", action="store_true",
                   help="replace faces made earlier in OUT with other settings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.synth(args.out, folder=args.out, seed=args.seed, device=args.device,
                        n_per_identity=args.n_per_identity, regions=args.regions.split(","), workers=args.workers,
                        strength=args.strength, force=args.force, region_dropout=args.region_dropout)
    if not args.json:
        what = "reused" if summary.get("reused") else f"rendered in {summary['seconds']} s"
        print(f"synth: {summary['images']} faces ({what}) in {args.out}: faces/, landmarks.csv, truth/, "
              f"contact_sheet.png")
    return summary
