"""Real faces: the paper's two networks (`fast` preset) beside a modern face-embedding baseline, on faces-dev.

Runs, in one run folder, `lookalike prepare --aligned` on ../shared/data/faces-dev, trains the classifier
and the Siamese network with the `fast` preset and the embedding baseline (dlib's ResNet + a linear head;
embedding distance for pairs, scored on the Siamese network's own test pairs), then prints one table:
test accuracy (images), pair accuracy, wall time, beside the paper's 87.3 % and 85.04 %.
Stages already finished in `--run` are reused (delete their folder to redo one); an interrupted
training resumes. Writes benchmarks/results/real_faces.json.

    python benchmarks/real_faces.py [--run runs/faces-dev] [--source DIR] [--preset fast] [--device auto]
                                    [--models classifier siamese embedding] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from _common import peak_rss_mb, write_result

from lookalike.contract import DATA_SUMMARY, model_summary
from lookalike.runfolder import Run

REPO = Path(__file__).resolve().parents[1]
PAPER = {"classifier": 0.873, "siamese": 0.8504}
MODELS = ("classifier", "siamese", "embedding")


def stage(name: str, done: dict[str, Any] | None, work: Any) -> tuple[dict[str, Any], float, bool]:
    """Run `work()` unless `done` (the stage's summary) says it already finished; returns (summary, s, reused)."""
    if done is not None:
        print(f"{name}: reusing the finished stage", flush=True)
        return done, float(done.get("seconds") or done.get("seconds_this_session") or 0.0), True
    print(f"{name}: running…", flush=True)
    t = time.perf_counter()
    summary = work()
    return summary, time.perf_counter() - t, False


def pct(x: Any) -> str:
    return f"{100 * x:6.2f} %" if isinstance(x, int | float) else "      –"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data" / "faces-dev",
                    help="folder with one folder of aligned face crops per person (default ../shared/data/faces-dev)")
    ap.add_argument("--run", type=Path, default=REPO / "runs" / "faces-dev", help="run folder (reused)")
    ap.add_argument("--preset", default="fast", help="training preset of the paper's networks (default fast)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a training setting of the paper's networks, e.g. --set epochs=5")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from lookalike.runtime import pick_device

    device = pick_device(args.device)
    run = Run(args.run)
    t_all = time.perf_counter()
    rows: dict[str, dict[str, Any]] = {}

    def prepare() -> dict[str, Any]:
        if not args.source.exists():
            raise SystemExit(f"{args.source} is absent: this benchmark needs the shared faces-dev data")
        from lookalike.data.prepare import PrepareOptions
        from lookalike.data.prepare import prepare as run_prepare

        return run_prepare(PrepareOptions(photos=str(args.source), out=str(run.root), aligned=True, seed=args.seed))

    data, data_s, data_reused = stage("prepare --aligned", DATA_SUMMARY.load(run).value if run.split_csv.exists() else None,
                                      prepare)
    rows["data"] = {"seconds": round(data_s, 1), "reused": data_reused}

    from lookalike.training.loop import train
    from lookalike.training.presets import parse_sets

    for kind in args.models:
        if kind == "embedding":
            from lookalike.baseline import train_embedding

            siamese_pairs = (run.model("siamese") / "test_pairs.csv").exists()
            done = model_summary(kind).load(run, kind=kind).value
            if done is not None and siamese_pairs and not str(done.get("test_pairs_source", "")).startswith("models/"):
                done = None  # rescore on the Siamese network's pairs, now that they exist
            s, secs, reused = stage("embedding baseline", done, lambda: train_embedding(run, {}, args.seed, device))
        else:
            s, secs, reused = stage(f"{kind} ({args.preset})", model_summary(kind).load(run, kind=kind).value, lambda kind=kind: train(
                run, model=kind, preset=args.preset, overrides=parse_sets(args.sets), seed=args.seed, device=device,
                resume=True))
        rows[kind] = {
            "test_accuracy": s.get("test_accuracy") if kind != "siamese" else None,
            "pair_accuracy": s.get("test_accuracy") if kind == "siamese" else s.get("pair_accuracy"),
            "balanced_accuracy": (s.get("test") or {}).get("balanced_accuracy"),
            "roc_auc": (s.get("test") or {}).get("roc_auc"),
            "n_test": (s.get("test") or {}).get("n"), "test_unit": s.get("test_unit"),
            "paper": PAPER.get(kind), "preset": s.get("preset"), "epochs": s.get("epochs"),
            "device": s.get("device"), "seconds": round(secs, 1), "reused": reused,
        }
        if kind == "embedding":
            rows[kind].update(pair_roc_auc=s.get("pair_roc_auc"), n_test_pairs=s.get("n_test_pairs"),
                              pair_accuracy_via_classifier=s.get("pair_accuracy_via_classifier"),
                              pair_accuracy_dlib_threshold=s.get("pair_accuracy_dlib_threshold"),
                              test_pairs_source=s.get("test_pairs_source"))

    print()
    print(f"faces-dev ({data.get('kept', data.get('n_kept', '?')) if isinstance(data, dict) else '?'} faces kept), "
          f"run folder {run.root}")
    print(f"{'model':34s} {'test acc (images)':>18s} {'pair acc':>10s} {'paper':>9s} {'wall s':>8s}  device")
    labels = {"classifier": f"classifier (21 layers, {args.preset})", "siamese": f"Siamese network ({args.preset})",
              "embedding": "embedding baseline (dlib ResNet)"}
    for kind in args.models:
        r = rows[kind]
        note = " (reused)" if r["reused"] else ""
        print(f"{labels[kind]:34s} {pct(r['test_accuracy']):>18s} {pct(r['pair_accuracy']):>10s} "
              f"{pct(r['paper']):>9s} {r['seconds']:8.0f}  {r['device']}{note}")
    if "embedding" in rows:
        e = rows["embedding"]
        print(f"  baseline pairs: threshold from validation; pairs from {e['test_pairs_source']}; "
              f"'same person' by the linear head instead: {pct(e['pair_accuracy_via_classifier']).strip()}")
    out = {"source": str(args.source), "run": str(run.root), "preset": args.preset, "device": device,
           "overrides": args.sets, "paper": PAPER, "rows": rows, "seconds": round(time.perf_counter() - t_all, 1),
           "peak_rss_mb": peak_rss_mb()}
    path = write_result("real_faces.json", out)
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
