"""`lookalike explain RUN`: where do the networks look? (paper §5, Figure 7)."""

from __future__ import annotations

import argparse
from typing import Any

METHOD_NAMES = ["guided_backprop", "grad_cam", "guided_grad_cam", "integrated_gradients", "occlusion"]


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "explain", parents=[common], help="activation maps, their sanity check and faithfulness (§5, Fig. 7)",
        description="Heatmaps of where the trained networks look: for the Siamese network the 'same' class on "
                    "pairs of one person and the 'different' class on pairs of both (Figure 7); for the "
                    "classifier each face's true person. Every method is then checked: cascading weight "
                    "randomisation (a method whose maps do not change fails and is marked so) and "
                    "deletion/insertion curves. Finally the region test covers each face feature with the mean face "
                    "and measures whether the answer changes. Writes RUN/explain/ (maps/*.npz, figure7_*.png, "
                    "sanity.json, faithfulness.json, region_test.json). Rerunning reuses finished work.",
        epilog="example: lookalike explain runs/demo --model siamese --methods grad_cam guided_backprop --n 8")
    p.add_argument("run", help="run folder (with data/ and models/)")
    p.add_argument("--model", choices=["siamese", "classifier", "embedding", "all"], default="all",
                   help="which network to explain; 'all' skips networks that are not trained (default all)")
    p.add_argument("--methods", nargs="+", metavar="METHOD", default=None,
                   help=f"attribution methods (default all): {', '.join(METHOD_NAMES)}")
    p.add_argument("--n", type=int, default=16, help="pairs (Siamese) or faces (classifier) to explain (default 16)")
    p.add_argument("--sanity-n", type=int, default=8,
                   help="how many of them the randomisation check recomputes (default 8)")
    p.add_argument("--cascade-steps", type=int, default=4,
                   help="depths of the cascading randomisation to evaluate (default 4; the last is all layers)")
    p.add_argument("--faithfulness-steps", type=int, default=16,
                   help="points on the deletion/insertion curves (default 16)")
    p.add_argument("--region-n", type=int, default=100,
                   help="test faces (pairs) for the region test: each face feature covered with the mean face, "
                        "the drop of the right answer measured (default 100)")
    p.add_argument("--batch-size", type=int, default=8, help="units per attribution batch (default 8)")
    p.add_argument("--force", action="store_true", help="recompute maps and checks that are already on disk")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.explain(args.run, seed=args.seed, device=args.device, model=args.model, methods=args.methods,
                          n=args.n, sanity_n=args.sanity_n, cascade_steps=args.cascade_steps,
                          faithfulness_steps=args.faithfulness_steps, batch_size=args.batch_size,
                          region_n=args.region_n, force=args.force)
    if not args.json:
        for line in summary.get("log", []):
            print(line)
        print(summary["statement"])
        print(f"wrote {args.run}/explain/")
    return summary
