"""Test accuracy of both networks with the `fast` preset on ../shared/data/faces-dev, beside the paper's.

Uses `<run>/data/` when it exists (e.g. from `lookalike prepare --aligned`); otherwise builds a split
straight from the folder: the faces are already aligned crops, near-duplicates (equal perceptual hash)
share a group and never straddle splits, and the split is 65 % train, 15 % validation, 20 % test,
stratified by person. Writes benchmarks/results/accuracy_faces_dev.json.

    python benchmarks/accuracy_faces_dev.py [--source DIR] [--run runs/faces-dev] [--preset fast]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from _common import peak_rss_mb, write_result

from lookalike.io import atomic_write_csv, atomic_write_json
from lookalike.runfolder import Run

REPO = Path(__file__).resolve().parents[1]
PAPER = {"classifier": 0.873, "siamese": 0.8504}


def build_split(source: Path, run: Run, seed: int = 0) -> None:
    """split.csv over the aligned crops in source/<person>/ (linked, never copied, into the run)."""
    import imagehash
    from PIL import Image

    people = sorted(p.name for p in source.iterdir() if p.is_dir())
    if len(people) != 2:
        raise SystemExit(f"{source} must hold exactly two person folders, found {people}")
    run.data.mkdir(parents=True, exist_ok=True)
    link = run.data / "faces"
    if not link.exists():
        os.symlink(os.path.relpath(source.resolve(), run.data.resolve()), link)  # portable
    rows = []
    rng = random.Random(seed)
    for label, person in enumerate(people):
        files = sorted(f for f in (source / person).iterdir() if f.suffix.lower() in (".png", ".jpg", ".jpeg"))
        groups: dict[str, list[Path]] = {}
        for f in files:
            with Image.open(f) as im:
                groups.setdefault(str(imagehash.phash(im)), []).append(f)
        keys = sorted(groups)
        rng.shuffle(keys)
        n = len(files)
        done = 0
        for k in keys:
            split = "train" if done < 0.65 * n else "val" if done < 0.80 * n else "test"
            for f in groups[k]:
                rows.append({"path": f"faces/{person}/{f.name}", "identity": person, "label": label,
                             "split": split, "group": f"{person}/{k}"})
            done += len(groups[k])
    atomic_write_json(run.identities_json, people)
    atomic_write_csv(run.split_csv, rows, ["path", "identity", "label", "split", "group"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data" / "faces-dev")
    ap.add_argument("--run", type=Path, default=REPO / "runs" / "faces-dev")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--models", nargs="+", default=["classifier", "siamese"])
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()

    from lookalike.training.loop import train
    from lookalike.training.presets import parse_sets

    run = Run(args.run)
    if not run.split_csv.exists():
        if not args.source.exists():
            raise SystemExit(f"{args.source} is absent: the shared faces-dev data is needed")
        build_split(args.source, run)
    out = {"preset": args.preset, "run": str(run.root), "overrides": args.sets, "models": {}}
    for kind in args.models:
        t = time.perf_counter()
        s = train(run, model=kind, preset=args.preset, overrides=parse_sets(args.sets), device=args.device,
                  resume=args.resume)
        out["models"][kind] = {
            "test_accuracy": s["test_accuracy"], "paper": PAPER[kind], "balanced_accuracy":
            s["test"]["balanced_accuracy"], "roc_auc": s["test"]["roc_auc"], "n_test": s["test"]["n"],
            "test_unit": s["test_unit"], "best_epoch": s["best_epoch"], "epochs": s["epochs"],
            "device": s["device"], "seconds": time.perf_counter() - t, "images_per_s": s["images_per_s"],
            "n_train": s["n_train"],
        }
        print(f"{kind:10s} test accuracy {s['test_accuracy']:.2%} on {s['test']['n']} {s['test_unit']} "
              f"(paper {PAPER[kind]:.2%}); balanced {s['test']['balanced_accuracy']:.2%}, "
              f"ROC AUC {s['test']['roc_auc']:.3f}; {time.perf_counter() - t:.0f} s on {s['device']}", flush=True)
    out["peak_rss_mb"] = peak_rss_mb()
    path = write_result("accuracy_faces_dev.json", out)
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB; wrote {path}")


if __name__ == "__main__":
    main()
