"""`lookalike train` and `lookalike predict`."""

from __future__ import annotations

import argparse
from typing import Any

TRAIN_EPILOG = """examples:
  lookalike train runs/demo --model classifier --preset tiny
  lookalike train runs/mine --model siamese --preset fast --set epochs=40 --set lr=1e-3
  lookalike train runs/mine --model classifier --resume          # after a kill: same command + --resume
  torchrun --nproc_per_node=2 -m lookalike train runs/mine --model classifier   # DDP, same command

presets: paper = §4.1 exactly (Adam, lr 1e-7, batch 30, 200 epochs, dropout 0.3, full widths; needs a GPU);
fast = a few minutes per network on 2 CPU cores (faces-dev: classifier ≈ 97–98 %, Siamese ≈ 95–96 % of pairs);
tiny = demo/tests (≤ 2 min on synthetic faces).
Writes <run>/models/<model>/: model.safetensors, model.json, config.json, checkpoint.pt, metrics.jsonl,
curves_accuracy.png, curves_loss.png, summary.json (and test_pairs.csv for siamese)."""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "train", parents=[common], help="train the classifier or the Siamese network",
        description="Train one of the paper's networks on <run>/data (from `lookalike prepare` or `synth`), "
                    "keep the epoch with the best validation accuracy and report test metrics.",
        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder holding data/ (from `lookalike prepare`)")
    p.add_argument("--model", choices=["classifier", "siamese", "embedding"], default="classifier",
                   help="which network (default classifier); embedding is the face-embedding baseline")
    p.add_argument("--preset", choices=["paper", "fast", "tiny"], default="fast",
                   help="training recipe (default fast); see `--set` to change single settings")
    p.add_argument("--config", metavar="FILE.json", help="JSON object of settings applied over the preset")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", default=[],
                   help="override one setting, e.g. --set lr=1e-3 --set width=16 (repeatable)")
    p.add_argument("--epochs", type=int, help="shortcut for --set epochs=N")
    p.add_argument("--resume", action="store_true",
                   help="continue from <run>/models/<model>/checkpoint.pt (same settings required)")
    p.set_defaults(func=train_handler)

    q = subparsers.add_parser(
        "predict", parents=[common], help="probabilities from a trained network for images or a pair",
        description="Classifier: P(each person) for every image. Siamese: P(same) and P(different) "
                    "for exactly two images.")
    q.add_argument("run", help="run folder with models/<model>/ from `lookalike train`")
    q.add_argument("images", nargs="+", metavar="IMG", help="image files (aligned 128×128 faces work best)")
    q.add_argument("--model", choices=["classifier", "siamese"], default="classifier",
                   help="which trained network (default classifier)")
    q.set_defaults(func=predict_handler)


def train_handler(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.train(args.run, seed=args.seed, device=args.device, model=args.model, preset=args.preset,
                        resume=args.resume, config=args.config, **training_settings(args.sets, args.epochs))
    if not args.json and summary.get("test_accuracy") is not None:
        print(f"{args.model}: test accuracy {summary['test_accuracy']:.2%} on {summary['test']['n']} "
              f"{summary.get('test_unit', 'items')} (paper {summary.get('paper_test_accuracy', float('nan')):.2%}), "
              f"best epoch {summary.get('best_epoch')}; results in {args.run}/models/{args.model}/")
    return summary


# options of `lookalike train` itself: `--set` may not name them (they are not training settings)
COMMAND_OPTIONS = ("seed", "device", "model", "preset", "resume", "config")


def training_settings(sets: list[str], epochs: int | None) -> dict[str, str]:
    """`--set` pairs as one dictionary, `--epochs N` being the same as `--set epochs=N` (and winning)."""
    from ..errors import SettingError
    from ..training.presets import parse_sets

    settings = parse_sets(sets)
    clash = [key for key in COMMAND_OPTIONS if key in settings]
    if clash:
        raise SettingError(f"--set {clash[0]}=... is not a training setting: use --{clash[0]} instead")
    if epochs is not None:
        settings["epochs"] = str(epochs)
    return settings


def predict_handler(args: argparse.Namespace) -> dict[str, Any]:
    from .. import api

    result = api.predict(args.run, args.images, device=args.device, model=args.model)
    if not args.json:
        for row in result["predictions"]:
            probs = "  ".join(f"{k} {v:.3f}" for k, v in row["probabilities"].items())
            print(f"{row['image']}: {probs}")
    return result
