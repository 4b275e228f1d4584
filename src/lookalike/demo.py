"""`lookalike demo`: the whole pipeline on fresh synthetic look-alikes, one stage after the other.

Every step is one call of the Python API (`lookalike.api`, which hands its
stage functions to `run_demo`), exactly what a user's script would call;
`demo.json` records the equivalent command line of each. `{placeholders}` in
a step's settings come from the chosen profile.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .callable import make_callable
from .contract import DEMO, DemoRecord, DemoStep
from .errors import LookalikeError, SettingError
from .runtime import cpu_count, pick_device

# name, API stage, its settings ({run} and profile keys are filled in), stop the demo if it fails?
STEPS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("synth", "synth", {"n_per_identity": "{n_per_identity}", "strength": "{strength}",
                        "region_dropout": "{region_dropout}"}, True),
    ("prepare", "prepare", {"photos": "{run}/synth", "aligned": True}, True),
    ("train-classifier", "train", {"model": "classifier", "preset": "{preset}", "epochs": "{classifier_epochs}",
                                   "input_size": "{input_size}"}, False),
    ("train-siamese", "train", {"model": "siamese", "preset": "{preset}", "epochs": "{siamese_epochs}",
                                "input_size": "{input_size}"}, False),
    ("facemap", "facemap", {"per_split": "{facemap_per_split}"}, False),
    ("fool", "fool", {"n": "{fool_n}", "max_steps": "{fool_steps}"}, False),
    ("explain", "explain", {"methods": "{explain_methods}", "n": "{explain_n}", "sanity_n": "{sanity_n}",
                            "cascade_steps": "{cascade_steps}", "faithfulness_steps": "{faith_steps}",
                            "region_n": "{region_n}"}, False),
    ("regions", "regions", {}, False),
    ("study-pre", "study_simulate", {"group": "pre", "n": "{participants}", "accuracy": 0.5267}, False),
    ("study-post", "study_simulate", {"group": "post", "n": "{participants}", "accuracy": 0.6367}, False),
    ("study-expert", "study_simulate", {"group": "expert", "n": "{participants}", "accuracy": 0.85}, False),
    ("study-analyze", "study_analyze", {"bootstrap": "{bootstrap}", "permutations": "{bootstrap}"}, False),
    ("study-screens", "study_screens", {"if_available": True}, False),
    ("report", "report", {}, False),
]

# Steps that need nothing from each other: on a CPU they run at the same time, each in its own process on half
# the cores, because the tiny networks barely use a second core (see docs/training.md).
SIDE_BY_SIDE = ("train-classifier", "train-siamese")

# `full` is the demo users see (whole pipeline within ~10 minutes on 2 CPU cores); its sanity check randomises
# every weight layer (cascade_steps 0). `quick` is for tests.
# The study needs >= 40 test faces per person (~22% of them are test).
PROFILES: dict[str, dict[str, Any]] = {
    # region_dropout 0.5: a quarter of the faces show both planted regions, the others only the forehead or
    # only the cheekbones, so no one region tells every face apart. With every face showing both, both
    # networks learnt the forehead alone and the hint read "Focus on the forehead."
    # strength 3: with half the regions left out, at strength 2 the tiny classifier (then at lr 3e-3) stayed
    # at chance in one seed (44.8 %) and reached 76.1 % in another; at 3 it reached 95.5 % and the Siamese
    # network 81.7 % (the classifier at lr 1e-3 and batch 16: 96.6 %; hint: the cheekbones and the forehead).
    # (At strength 1 without dropout it stays near chance; see the closing notes of issue 2.)
    # input_size 96: both networks compute on a 96×96 copy of each face, two thirds of the training time at 128
    "full": {"n_per_identity": 600, "strength": 3.0, "region_dropout": 0.5, "preset": "tiny", "classifier_epochs": 14,
             "siamese_epochs": 10, "input_size": 96, "fool_n": 64, "fool_steps": 100,
             # occlusion (100 covered copies of every face, at each of the 2 x 21 randomisation steps) would
             # double the explain stage; `lookalike explain` runs it by default
             "explain_methods": ["guided_backprop", "grad_cam", "guided_grad_cam", "integrated_gradients"],
             "explain_n": 16, "sanity_n": 2, "cascade_steps": 0, "faith_steps": 8, "region_n": 100, "participants": 30,
             "bootstrap": 2000, "facemap_per_split": 300},
    "quick": {"n_per_identity": 220, "strength": 2.0, "region_dropout": 0.5, "preset": "tiny", "classifier_epochs": 1,
              "siamese_epochs": 1, "input_size": 96, "fool_n": 3, "fool_steps": 10,
              "explain_methods": ["guided_backprop", "grad_cam"],
              "explain_n": 2, "sanity_n": 1, "cascade_steps": 2, "faith_steps": 4, "region_n": 30, "participants": 4,
              "bootstrap": 200, "facemap_per_split": 60},
}


@dataclass(frozen=True)
class Step:
    name: str
    stage: str  # a function of lookalike.api
    settings: dict[str, Any]
    critical: bool

    def argv(self, run: str) -> list[str]:
        """The equivalent `lookalike …` command: the API's settings are the command's options."""
        return ["lookalike", *_positional(self.stage, run, self.settings), *_options(self.stage, self.settings)]


def _positional(stage: str, run: str, settings: dict[str, Any]) -> list[str]:
    if stage == "synth":
        return ["synth", str(settings.get("folder", f"{run}/synth"))]
    if stage == "prepare":
        return ["prepare", str(settings["photos"]), "--out", run]
    if stage.startswith("study_"):
        return ["study", stage.removeprefix("study_"), run]
    return [stage, run]


# the options `lookalike train` has; its other settings are training settings, given as --set key=value
TRAIN_OPTIONS = ("model", "preset", "epochs")


def _options(stage: str, settings: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in settings.items():
        if (stage, key) in (("synth", "folder"), ("prepare", "photos")):
            continue
        if stage == "train" and key not in TRAIN_OPTIONS:
            out += ["--set", f"{key}={value}"]
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, list | tuple):  # --regions takes one comma-separated value, the rest several
            out += [flag, ",".join(value)] if key == "regions" else [flag, *map(str, value)]
        elif value not in (False, None):
            out += [flag, str(value)]
    return out


def _fill(value: Any, values: dict[str, Any]) -> Any:
    """A setting with its {placeholder} replaced by the profile's value (keeping the value's type)."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in values:
        return values[value[1:-1]]
    if isinstance(value, str):
        return value.format(**values)
    return value


Stages = Mapping[str, Callable[..., Any]]


def plan(run: str | Path, quick: bool = False, stages: Stages | None = None) -> list[Step]:
    """The demo's steps with every placeholder filled in (and, given the API's `stages`, each one checked)."""
    values = {"run": str(run), **PROFILES["quick" if quick else "full"]}
    steps = []
    for name, stage, settings, critical in STEPS:
        if stages is not None and stage not in stages:
            raise SettingError(f"demo step {name!r} calls {stage!r}, which lookalike.api does not have")
        steps.append(Step(name, stage, {k: _fill(v, values) for k, v in settings.items()}, critical))
    return steps


def _call(step: Step, stages: Stages, run: Path, seed: int, device: str) -> tuple[str, str | None]:
    """Run one step through the API; failures are reported, not raised, so the demo can go on."""
    try:
        stages[step.stage](run, seed=seed, device=device, **step.settings)
    except LookalikeError as exc:  # a clear message for something the user can fix
        return "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - a broken stage must not hide the others
        traceback.print_exc()
        return "failed", f"{type(exc).__name__}: {exc}"
    return "ok", None


def _select(steps: list[Step], only: list[str] | None) -> list[Step]:
    if not only:
        return steps
    unknown = sorted(set(only) - {s.name for s in steps})
    if unknown:
        raise SettingError(f"lookalike demo: unknown step(s) {unknown}: choose from "
                           f"{', '.join(s.name for s in steps)}")
    return [s for s in steps if s.name in only]


def run_demo(stages: Stages, run: str | Path = "runs/demo", quick: bool = False, seed: int = 0,
             device: str = "auto", only: list[str] | None = None, side_by_side: bool | None = None) -> DemoRecord:
    """Run every stage in order on fresh synthetic data with the API's `stages`; returns (and saves) the timings.

    `side_by_side` (None: where `can_run_side_by_side`) trains the two networks at the same time."""
    run = Path(run)
    steps = _select(plan(run, quick, stages), only)
    record = DemoRecord(run=str(run), profile="quick" if quick else "full", seed=seed, steps=[], total_seconds=0.0)
    start = time.perf_counter()
    run.mkdir(parents=True, exist_ok=True)
    together = can_run_side_by_side(stages, device) if side_by_side is None else side_by_side
    number = {step.name: k for k, step in enumerate(steps, 1)}
    for group in _groups(steps, together):
        heads = {step.name: f"[demo {number[step.name]}/{len(steps)}] {step.name}" for step in group}
        for step in group:
            print(f"{heads[step.name]}: {' '.join(step.argv(str(run)))}", flush=True)
        if len(group) > 1:
            print(f"[demo] {' and '.join(s.name for s in group)} run side by side, each in its own process on "
                  f"{_threads_each(len(group))} of the {cpu_count()} CPU cores", flush=True)
        outcomes = _call_side_by_side(group, stages, run, seed, device) if len(group) > 1 else \
            [_timed_call(group[0], stages, run, seed, device)]
        stop = None
        for step, (status, error, seconds) in zip(group, outcomes):
            entry = {"name": step.name, "argv": step.argv(str(run)), "status": status, "seconds": round(seconds, 2)}
            if error:
                entry["error"] = error
            print(f"{heads[step.name]}: {status} in {entry['seconds']:.1f} s (total "
                  f"{time.perf_counter() - start:.0f} s)" + (f": {error}" if error else ""), flush=True)
            record.steps.append(DemoStep(**entry))
            if status == "failed" and step.critical:
                stop = stop or step.name
        record.total_seconds = round(time.perf_counter() - start, 2)
        DEMO.write(run, record)
        if stop:
            print(f"[demo] stopping: every later stage needs `{stop}`", flush=True)
            break
    _print_results(run, record)
    return record


def _groups(steps: list[Step], side_by_side: bool) -> list[list[Step]]:
    """The steps in order, one per group, except that consecutive SIDE_BY_SIDE steps share a group."""
    groups: list[list[Step]] = []
    for step in steps:
        if side_by_side and step.name in SIDE_BY_SIDE and groups and groups[-1][-1].name in SIDE_BY_SIDE:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def can_run_side_by_side(stages: Stages, device: str) -> bool:
    """Whether the SIDE_BY_SIDE steps may run at the same time: on a CPU with at least two cores (one GPU
    runs one training at a time), and with stage functions another process can import (the API's are)."""
    if cpu_count() < 2 or not pick_device(device).startswith("cpu"):
        return False
    try:
        pickle.dumps([stages[stage] for name, stage, _, _ in STEPS if name in SIDE_BY_SIDE])
    except (pickle.PicklingError, AttributeError, TypeError, KeyError):
        return False
    return True


def _threads_each(n: int) -> int:
    return max(1, cpu_count() // n)


def _timed_call(step: Step, stages: Stages, run: Path, seed: int, device: str) -> tuple[str, str | None, float]:
    t0 = time.perf_counter()
    status, error = _call(step, stages, run, seed, device)
    return status, error, time.perf_counter() - t0


def _child_call(step: Step, fn: Callable[..., Any], run: Path, seed: int, device: str, threads: int
                ) -> tuple[str, str | None, float]:
    """One step in a child process: its share of the cores, and progress as lines (two bars would collide)."""
    import torch

    torch.set_num_threads(threads)
    os.environ.setdefault("LOOKALIKE_PROGRESS", "lines")
    return _timed_call(step, {step.stage: fn}, run, seed, device)


def _call_side_by_side(group: list[Step], stages: Stages, run: Path, seed: int, device: str
                       ) -> list[tuple[str, str | None, float]]:
    """Run the group's steps at the same time, each in a fresh (spawned) process on an equal share of the cores."""
    from concurrent.futures import ProcessPoolExecutor

    threads = _threads_each(len(group))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=len(group), mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_child_call, step, stages[step.stage], run, seed, device, threads) for step in group]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result())
            except Exception as exc:  # noqa: BLE001 - a child that died (killed, out of memory) fails its step only
                outcomes.append(("failed", f"its process ended without an answer ({type(exc).__name__}: {exc})",
                                 time.perf_counter() - t0))
    return outcomes


def _print_results(run: Path, record: DemoRecord) -> None:
    counts = {s: sum(1 for e in record.steps if e.status == s) for s in ("ok", "failed")}
    print(f"[demo] finished in {record.total_seconds:.0f} s: {counts['ok']} stages ran, "
          f"{counts['failed']} failed (timings: {run / 'demo.json'})")
    report = run / "report.html"
    if report.exists():
        print(f"[demo] open the report: {report.resolve()}")
    folders = [p.name for p in sorted(run.iterdir()) if p.is_dir()] if run.exists() else []
    print(f"[demo] results are in {run.resolve()}/ ({', '.join(folders)})")
    if (run / "synth" / "contact_sheet.png").exists():
        print(f"[demo] the synthetic faces: {(run / 'synth' / 'contact_sheet.png').resolve()}")


make_callable(__name__)  # `lookalike.demo(run, ...)` runs the demo (lookalike.api.demo)
