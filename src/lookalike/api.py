"""The Python API: `import lookalike as lk`, then one call per stage (docs/api.md).

Every stage has the same shape, `stage(run, *, seed=0, device="auto", **settings)`, takes the settings
its command line takes (`--max-steps 10` is `max_steps=10`), writes its part of the run folder and
returns its typed summary (a record of `lookalike.contract`, readable as `summary.n_fooled` or
`summary["n_fooled"]`). Problems the caller can fix raise `lookalike.LookalikeError`.

    import lookalike as lk
    lk.synth("runs/demo", n_per_identity=300, strength=2.0)
    lk.prepare("runs/demo", photos="runs/demo/synth", aligned=True)
    lk.train("runs/demo", model="classifier", preset="tiny", epochs=3)
    print(lk.fool("runs/demo", n=16).success_rate)
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from .contract import (
    AnalysisSummary,
    BaselineSummary,
    DemoRecord,
    ExplainSummary,
    FacemapSummary,
    FoolingSummary,
    NetworkSummary,
    PrepareSummary,
    Record,
    RegionsSummary,
    Screens,
    StudySummary,
    SynthSummary,
)
from .errors import SettingError
from .runfolder import Run

RunLike = Run | str | Path


class ReportResult(Record):
    """What `report` wrote: the page, its size, and which stages it found."""

    report: str
    bytes: int
    sections: dict[str, str] = {}
    present: list[str] = []
    partial: list[str] = []
    missing: list[str] = []
    pdf: str | None = None


class LinkBatch(Record):
    group: str
    links: list[str] = []


class SimulationResult(Record):
    """What `study_simulate` did over HTTP: participants, answers, latency (nothing here is real data)."""

    url: str
    group: str
    participants: int
    accuracy_asked: float
    completed: int
    errors: list[str] = []
    n_errors: int = 0
    answers_sent: int = 0
    duplicates_sent: int = 0
    accuracy_simulated: float | None = None
    answer_latency_ms: dict[str, float] | None = None
    seconds: float | None = None
    answers_per_s: float | None = None


def _run(run: RunLike) -> Run:
    return run if isinstance(run, Run) else Run(run)


def _start(seed: int) -> None:
    from .runtime import set_seed

    set_seed(seed)


def _device(device: str) -> str:
    from .runtime import pick_device

    return pick_device(device)


def _unknown(settings: dict[str, Any], known: set[str], stage: str) -> None:
    unknown = sorted(set(settings) - known)
    if unknown:
        raise SettingError(f"{stage} has no setting {', '.join(unknown)}; known: {', '.join(sorted(known))}")


# --- data ---------------------------------------------------------------------------------------------

def synth(run: RunLike, *, seed: int = 0, device: str = "auto", n_per_identity: int = 1000,
          regions: list[str] | tuple[str, ...] | None = None, strength: float = 1.0, workers: int | None = None,
          force: bool = False, folder: str | Path | None = None, region_dropout: float = 0.0) -> SynthSummary:
    """Synthetic look-alikes with ground truth in RUN/synth/ (or `folder`); `device` is unused (CPU only).
    `region_dropout`: the chance a face leaves a planted region midway between the two people."""
    from .synth.generate import generate
    from .synth.params import DEFAULT_REGIONS

    _start(seed)
    out = Path(folder) if folder is not None else _run(run).synth
    try:
        return generate(out, n_per_identity, seed=seed, regions=list(regions or DEFAULT_REGIONS), workers=workers,
                        strength=strength, force=force, region_dropout=region_dropout)
    except ValueError as exc:
        raise SettingError(f"lookalike synth: {exc}") from None


def prepare(run: RunLike, *, photos: str | Path, seed: int = 0, device: str = "auto", aligned: bool = False,
            detector: str = "hog", threshold: float = 0.90, filter: str = "auto", workers: int = 0,
            val: int | None = None, val_fraction: float | None = None) -> PrepareSummary:
    """PHOTOS (one folder per person, optionally other/) → RUN/data/: aligned, filtered, deduplicated, split."""
    from .data.prepare import PrepareOptions
    from .data.prepare import prepare as run_prepare

    if workers < 0:
        raise SettingError("--workers must be 0 (all cores) or a positive number")
    if not 0.0 <= threshold <= 1.0:
        raise SettingError("the threshold is a probability between 0 and 1")
    _start(seed)
    return run_prepare(PrepareOptions(photos=str(photos), out=str(_run(run).root), aligned=aligned,
                                      detector=detector, threshold=threshold, filter=filter, workers=workers,
                                      seed=seed, val=val, val_fraction=val_fraction))


# --- networks -------------------------------------------------------------------------------------------

def train(run: RunLike, *, seed: int = 0, device: str = "auto", model: str = "classifier", preset: str = "fast",
          epochs: int | None = None, resume: bool = False, config: str | Path | None = None,
          **overrides: Any) -> NetworkSummary | BaselineSummary:
    """Train `model` (classifier | siamese | embedding) on RUN/data; any training setting may be overridden
    (`lr=1e-3`, `width=16`; see `lookalike train --help`)."""
    _start(seed)
    if epochs is not None:
        overrides["epochs"] = epochs
    if model == "embedding":
        return _train_baseline(_run(run), preset, overrides, config, seed)
    from .training.loop import train as train_network

    if model not in ("classifier", "siamese"):
        raise SettingError(f"unknown model {model!r}; choose classifier, siamese or embedding")
    return train_network(run, model=model, preset=preset, overrides=overrides, seed=seed, device=device,
                         resume=resume, config_file=config)


def _train_baseline(run: Run, preset: str, overrides: dict[str, Any], config: str | Path | None,
                    seed: int) -> BaselineSummary:
    import json

    from .baseline import train_embedding

    settings: dict[str, Any] = {"preset": preset}
    if config is not None:
        settings.update(json.loads(Path(config).read_text(encoding="utf-8")))
    settings.update(overrides)
    return train_embedding(run, settings, seed, "cpu")


def predict(run: RunLike, images: list[str | Path], *, device: str = "auto", model: str = "classifier") -> dict[str, Any]:
    """Probabilities from a trained network: per image (classifier) or for one pair of images (siamese)."""
    from .training.predict import predict as run_predict

    return run_predict(run, model, [str(i) for i in images], device=device)


def facemap(run: RunLike, *, seed: int = 0, device: str = "auto", models: list[str] | tuple[str, ...] | None = None,
            per_split: int = 400, references: int = 32, perplexity: float = 30.0,
            thumbs: int = 400) -> FacemapSummary:
    """The faces as each trained network sees them: its embedding of every split laid out in 2-D by t-SNE,
    with the faces it gets wrong marked (RUN/facemap/)."""
    from .facemap import FacemapSettings
    from .facemap import facemap as run_facemap

    _start(seed)
    settings = FacemapSettings(models=tuple(models or ("classifier", "siamese")), per_split=per_split,
                               references=references, perplexity=perplexity, thumbs=thumbs, seed=seed)
    return run_facemap(run, settings, device=_device(device))


# --- where the networks look ------------------------------------------------------------------------------

def fool(run: RunLike, *, seed: int = 0, device: str = "auto", **settings: Any) -> FoolingSummary:
    """Fool the trained network on test images (§4.2); settings as `lookalike fool --help` (model, n, epsilon,
    confidence, max_steps, step_size, method, map_scale, batch_size)."""
    from .fooling.stage import FoolSettings
    from .fooling.stage import fool as run_fool

    known = {f.name for f in fields(FoolSettings)} - {"seed"}
    _unknown(settings, known, "fool")
    _start(seed)
    return run_fool(run, FoolSettings(**settings, seed=seed), device=_device(device))


EXPLAIN_SETTINGS = {"model", "methods", "n", "sanity_n", "cascade_steps", "faithfulness_steps", "batch_size",
                    "region_n", "force"}


def explain(run: RunLike, *, seed: int = 0, device: str = "auto", **settings: Any) -> ExplainSummary:
    """Activation maps, their sanity check, faithfulness and the region test (§5); settings as
    `lookalike explain --help` (model, methods, n, sanity_n, cascade_steps, faithfulness_steps, region_n, …)."""
    from .explain.methods import METHODS
    from .explain.stage import run_explain

    _unknown(settings, EXPLAIN_SETTINGS, "explain")
    for name in settings.get("methods") or []:
        if name not in METHODS:
            raise SettingError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    if settings.get("cascade_steps", 0) < 0:
        raise SettingError("--cascade-steps must be 0 (every layer) or more")
    for key in ("n", "sanity_n", "faithfulness_steps", "batch_size", "region_n"):
        if key in settings and settings[key] < 1:
            raise SettingError(f"--{key.replace('_', '-')} must be at least 1")
    _start(seed)
    return run_explain(run, seed=seed, device=_device(device), **settings)


def regions(run: RunLike, *, seed: int = 0, device: str = "auto") -> RegionsSummary:
    """Rank named face regions by attribution with intervals and write the hint (§6)."""
    from .regions.stage import run_regions

    _start(seed)
    return run_regions(run, seed=seed)


# --- the human study --------------------------------------------------------------------------------------

def study_serve(run: RunLike, *, seed: int = 0, device: str = "auto", host: str = "127.0.0.1", port: int = 8000,
                participants_per_group: int = 15, base_url: str | None = None, out: Any = None,
                **settings: Any) -> StudySummary:
    """Serve the study until Ctrl-C, printing every participant link (to `out`, default stdout); returns the
    export made on the way out. `settings` change the study's declared settings first (novice_max, expert_min,
    catch_errors_allowed, completion_url, completion_code, max_participants)."""
    from .study.workflow import serve

    _start(seed)
    return serve(_run(run), host=host, port=port, participants_per_group=participants_per_group, base_url=base_url,
                 seed=seed, out=out, settings=settings)


def study_preregister(run: RunLike, *, seed: int = 0, device: str = "auto", effect_size: float | None = None,
                      force: bool = False, trials: int = 20, bootstrap: int = 10_000, permutations: int = 20_000,
                      **settings: Any) -> Record:
    """study/preregistration.json and .md before any data: hypotheses, design, rules, sample size, analysis."""
    from .study.workflow import preregister

    plan = preregister(_run(run), effect_size=effect_size, trials=trials, n_boot=bootstrap,
                       n_permutations=permutations, seed=seed, force=force, settings=settings)
    return Record.model_validate(plan)


def study_links(run: RunLike, *, seed: int = 0, device: str = "auto", group: str, n: int = 1,
                base_url: str = "http://127.0.0.1:8000") -> LinkBatch:
    """`n` more participant links of `group` (pre | post | expert | random)."""
    from .study.workflow import make_links

    return LinkBatch.model_validate(make_links(_run(run), group, n, base_url, seed))


def study_export(run: RunLike, *, seed: int = 0, device: str = "auto") -> StudySummary:
    """study/trials.csv (one row per answered trial), training.csv and summary.json; safe while serving."""
    from .study.workflow import export

    return export(_run(run), seed)


def study_simulate(run: RunLike, *, seed: int = 0, device: str = "auto", group: str, n: int, accuracy: float,
                   url: str | None = None, admin_token: str | None = None, concurrency: int | None = None,
                   fetch_images: bool = False, duplicate_rate: float = 0.1) -> SimulationResult:
    """`n` simulated participants of `group` who answer right with probability `accuracy`, over HTTP."""
    from .study.workflow import simulate

    _start(seed)
    return SimulationResult.model_validate(simulate(
        _run(run), group, n, accuracy, url=url, admin_token=admin_token, concurrency=concurrency,
        fetch_images=fetch_images, duplicate_rate=duplicate_rate, seed=seed))


def study_screens(run: RunLike, *, seed: int = 0, device: str = "auto", if_available: bool = False) -> Screens:
    """Figure 8: the study's training, test and answer screens photographed in headless Chromium from a scratch
    copy of the study (RUN/study/screens/). With `if_available`, a machine without Chromium or Playwright gets
    the reason in screens.json instead of an error."""
    from .errors import NotAvailable
    from .study.screens import capture_screens, note_unavailable

    try:
        return capture_screens(run)
    except NotAvailable as exc:
        if not if_available:
            raise
        return note_unavailable(run, str(exc))


def study_analyze(run: RunLike, *, seed: int = 0, device: str = "auto", trials: int = 20, bootstrap: int = 10_000,
                  permutations: int = 20_000, trials_csv: str | Path | None = None) -> AnalysisSummary:
    """Equation (1) per group, Figure 9, permutation tests, d′ and power from study/trials.csv."""
    from .study.analysis import analyze

    _start(seed)
    return analyze(run, trials=trials, n_boot=bootstrap, n_permutations=permutations, seed=seed,
                   trials_csv=trials_csv)


# --- the report and the demo --------------------------------------------------------------------------------

def report(run: RunLike, *, seed: int = 0, device: str = "auto", out: str | Path | None = None,
           pdf: bool = False) -> ReportResult:
    """RUN/report.html (and report.pdf): the whole run on one page. When study/trials.csv is newer than its
    analysis (or the analysis is missing), the analysis is recomputed first."""
    from .report.build import build_report

    run = _run(run)
    notice = refresh_analysis(run, seed) if run.root.is_dir() else None
    return ReportResult.model_validate(build_report(run, out=out, pdf=pdf, notices={"study": notice} if notice else {}))


def refresh_analysis(run: Run, seed: int = 0) -> Any:
    """Run `study analyze` when trials exist but the analysis is missing or older; returns the report's notice."""
    from .contract import ANALYSIS_SUMMARY, TRIALS
    from .errors import LookalikeError
    from .report.build import Notice

    trials, summary = TRIALS.path(run), ANALYSIS_SUMMARY.path(run)
    has_source = trials.is_file() or (run.study / "study.sqlite").is_file()
    stale = summary.is_file() and trials.is_file() and trials.stat().st_mtime > summary.stat().st_mtime
    if not has_source or (summary.is_file() and not stale):
        return None
    try:
        study_analyze(run, seed=seed)
    except LookalikeError as exc:  # bad or missing trials: say why, keep any earlier analysis
        return Notice(f"The study could not be analysed: {exc}",
                      "missing" if "nobody has taken part" in str(exc) else "error")
    return Notice("The analysis was (re)computed from study/trials.csv for this report.")


def demo(run: RunLike = "runs/demo", *, seed: int = 0, device: str = "auto", quick: bool = False,
         only: list[str] | None = None, side_by_side: bool | None = None) -> DemoRecord:
    """The whole pipeline on fresh synthetic look-alikes, stage after stage; RUN/demo.json has the timings.
    On a CPU with two or more cores the two networks train side by side (`side_by_side=False`: one after
    the other)."""
    from .demo import run_demo

    return run_demo(STAGES, run, quick=quick, seed=seed, device=device, only=only, side_by_side=side_by_side)


STAGES = {"synth": synth, "prepare": prepare, "train": train, "facemap": facemap, "fool": fool, "explain": explain,
          "regions": regions, "study_serve": study_serve, "study_links": study_links,
          "study_preregister": study_preregister, "study_export": study_export, "study_simulate": study_simulate,
          "study_analyze": study_analyze, "study_screens": study_screens, "report": report}
