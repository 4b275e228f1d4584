"""`lookalike facemap RUN`: the faces as each trained network sees them, laid out in 2-D."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "facemap", parents=[common], help="map the faces as each network sees them (t-SNE of its embedding)",
        description=(
            "Put faces of every split through each trained network, lay their embeddings out in 2-D with "
            "scikit-learn's t-SNE, and mark the faces the network gets wrong. The classifier's embedding is "
            "the input of its last dense layer, the Siamese network's the output of its shared branch. "
            "Writes RUN/facemap/: <kind>.csv (x, y, person, split, answer), <kind>.png, thumbs.jpg, "
            "summary.json (trustworthiness of each map, mistakes per split)."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run", help="run folder with data/ and trained models/<kind>/")
    p.add_argument("--models", nargs="+", choices=["classifier", "siamese"], default=["classifier", "siamese"],
                   help="which networks to map (those not trained yet are skipped)")
    p.add_argument("--per-split", type=int, default=400, help="faces of each split on the map (spread evenly)")
    p.add_argument("--references", type=int, default=32,
                   help="Siamese: training faces of each person every face is compared with to decide who it is")
    p.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (lowered for small maps)")
    p.add_argument("--thumbs", type=int, default=400, help="faces with a hover picture in the report")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.facemap(args.run, seed=args.seed, device=args.device, models=args.models,
                          per_split=args.per_split, references=args.references, perplexity=args.perplexity,
                          thumbs=args.thumbs)
    if not args.json:
        for kind, e in summary.networks.items():
            print(f"{kind}: {e.faces.get('test', 0)} test faces mapped, {e.mistakes.get('test', 0)} wrong; "
                  f"trustworthiness {e.trustworthiness:.2f} -> {e.figure}", file=sys.stderr)
    return summary
