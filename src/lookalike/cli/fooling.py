"""`lookalike fool RUN`: the command-line face of the fooling stage."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "fool", parents=[common], help="fool the trained network and map the changed pixels (Figure 5)",
        description=(
            "Change test images step by step along the gradient until the network assigns them to the other "
            "person with the given confidence, each pixel moving at most EPSILON (on a 0-1 scale). Writes "
            "RUN/fooling/ (RUN/fooling/siamese/ for --model siamese): fooled PNGs, Figure-5 panels "
            "(original | Table-1 pixel map | fooled), grid.png, aggregate.npy/.png, results.csv, summary.json. "
            "Rerunning with the same settings resumes."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run", help="run folder with data/ and a trained models/<kind>/")
    p.add_argument("--n", type=int, default=200, help="how many test images (or Siamese pairs) to fool")
    p.add_argument("--model", choices=["classifier", "siamese"], default="classifier",
                   help="classifier: push each face to the other person; siamese: perturb the second image "
                        "of a pair to turn 'same' into 'different' and back")
    p.add_argument("--epsilon", type=float, default=0.15, help="largest change of any pixel (0-1 scale)")
    p.add_argument("--confidence", type=float, default=0.90,
                   help="stop an image once the target probability of its saved PNG reaches this")
    p.add_argument("--max-steps", type=int, default=200, help="give up on an image after this many steps")
    p.add_argument("--step-size", type=float, default=0.01,
                   help="step length: the L∞ step for --method sign, its L2 equivalent for gradient")
    p.add_argument("--method", choices=["gradient", "sign"], default="gradient",
                   help="gradient: scaled raw gradient (Karpathy, as in the paper); sign: L∞ PGD as captum's")
    p.add_argument("--map-scale", choices=["image", "budget"], default="image",
                   help="pixel-map intensity 255 = the image's largest change (image) or epsilon (budget)")
    p.add_argument("--batch-size", type=int, default=32, help="images attacked together")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.fool(args.run, seed=args.seed, device=args.device, model=args.model, n=args.n,
                       epsilon=args.epsilon, confidence=args.confidence, max_steps=args.max_steps,
                       step_size=args.step_size, method=args.method, map_scale=args.map_scale,
                       batch_size=args.batch_size)
    if not args.json:
        print(f"fooled {summary['n_fooled']}/{summary['n']} ({summary['success_rate']:.0%}); "
              f"median steps {summary['steps']['median']}; results in {args.run}")
    return summary
