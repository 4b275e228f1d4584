"""`lookalike prepare`: photos of two people → a clean, aligned, leak-free 128×128 data set (paper §3).

Steps: scan the folder, extract and align every face (process pool, cached
per file), filter with the 3-layer identity network, apply review decisions,
drop exact copies, group near-duplicates, split by person and group, then
write `<run>/data/` as docs/run-folder.md says. A rerun redoes only what
changed, and never touches `review.json` (the reviewer's decisions).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..contract import (
    DATA_SUMMARY,
    LANDMARKS,
    MANIFEST,
    REVIEW,
    REVIEW_QUEUE,
    SPLIT,
    PrepareSummary,
    write_config,
    write_identities,
)
from ..errors import InputError, SettingError
from ..face.template import landmark_columns
from ..io import atomic_copy, atomic_write_bytes, atomic_write_json, read_json, save_png
from ..runfolder import Run
from ..runtime import cpu_count
from .dedup import find_groups, thumbnail
from .extract import FileResult, Job, Settings, run_jobs
from .layout import Layout, safe_stem, scan


@dataclass
class PrepareOptions:
    photos: str
    out: str
    aligned: bool = False
    detector: str = "hog"
    threshold: float = 0.90
    filter: str = "auto"  # auto | on | off
    workers: int = 0  # 0 = all cores
    seed: int = 0
    val: int | None = None  # validation faces (None: the paper's proportion)
    val_fraction: float | None = None  # or their share of the kept faces


@dataclass
class Candidate:
    """One face found in one input file, and what became of it."""

    file: FileResult
    folder: str
    face_index: int
    path: str  # output path relative to <run>/data, e.g. faces/person_a/x.png
    label: int  # 0/1 for person folders, 2 for other/
    trusted: int = -1  # filter training label, -1 when the label is not trusted
    scores: np.ndarray | None = None
    outcome: str = ""
    reason: str = ""
    split: str = ""
    group: str = ""

    @property
    def key(self) -> str:
        """Review key: the source file and face number, stable even if output naming changes."""
        return f"{self.file.source}#{self.face_index}"


def say(msg: str) -> None:
    print(msg, file=sys.stderr)


def read_decisions(data_dir: Path) -> dict[str, str]:
    """Review decisions by face key (`<source>#<face>`: keep | drop); a damaged file stops the run, untouched."""
    path = data_dir / "review.json"
    if not path.exists():
        return {}
    try:
        decisions = REVIEW.read_at(path).decisions
    except InputError as exc:
        raise InputError(f"{exc}; fix or move it: prepare never overwrites it") from None
    return {k: v if isinstance(v, str) else v.decision for k, v in decisions.items()}


def _jobs(layout: Layout, aligned: bool) -> tuple[list[Job], list[str]]:
    jobs, notes = [], []
    for f in layout.files:
        if f.hidden or f.unread or not f.folder:
            continue
        if layout.runfolder:
            given = layout.landmarks.get(f.source)
            jobs.append(Job(str(f.path), f.source, "given" if given else "aligned", given))
        else:
            jobs.append(Job(str(f.path), f.source, "aligned" if aligned else "photo"))
    if layout.runfolder:
        missing = sum(1 for j in jobs if j.mode == "aligned")
        if missing:
            notes.append(f"{missing} faces had no row in landmarks.csv: their landmarks were predicted")
    return jobs, notes


def _name_faces(layout: Layout, results: dict[str, FileResult], aligned: bool) -> dict[tuple[str, int], str]:
    """Stable, unique, ASCII output paths; a run folder's own paths are kept so truth/masks.npz matches."""
    names: dict[tuple[str, int], str] = {}
    taken: set[str] = set()
    for f in layout.files:
        res = results.get(f.source)
        if res is None or f.folder in ("", "other"):
            continue
        stem = ""
        if not layout.runfolder:
            inner = f.source.split("/", 1)[1]
            stem = safe_stem(inner)
            if stem != inner.rsplit(".", 1)[0] or f"{f.folder}/{stem}" in taken:
                stem = f"{stem}-{hashlib.sha1(f.source.encode()).hexdigest()[:6]}"
            taken.add(f"{f.folder}/{stem}")
        for k in range(len(res.faces)):
            if layout.runfolder:
                path = f.source.rsplit(".", 1)[0] + ".png"
            else:
                path = f"faces/{f.folder}/{stem}" + (".png" if aligned else f"_f{k}.png")
            names[(f.source, k)] = path
    return names


def _filter(cands: list[Candidate], emb: np.ndarray, multi: set[str], seed: int, cache: Path) -> dict[str, Any]:
    """Score every face (cached: a rerun with the same faces reuses the scores, and so never changes them)."""
    labels = np.array([c.trusted for c in cands])
    h = hashlib.sha1(emb.astype(np.float32).tobytes())
    h.update(labels.astype(np.int64).tobytes())
    h.update(f"{seed}|{sorted(multi)}|{[c.file.source for c in cands]}".encode())
    path = cache / f"filter-{h.hexdigest()[:16]}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                scores, trusted, info = z["scores"], z["trusted"], json.loads(str(z["info"]))
            for c, s, t in zip(cands, scores, trusted):
                c.scores, c.trusted = s, int(t)
            return info
        except (OSError, ValueError, KeyError):
            pass
    info = _train_filter(cands, emb, multi, seed)
    buf = io.BytesIO()
    np.savez(buf, scores=np.stack([c.scores for c in cands]), trusted=np.array([c.trusted for c in cands]),
             info=np.array(json.dumps(info)))
    atomic_write_bytes(path, buf.getvalue())
    return info


def _train_filter(cands: list[Candidate], emb: np.ndarray, multi: set[str], seed: int) -> dict[str, Any]:
    """Group photos: the best-scoring face stays a candidate, the other faces become 'other' material."""
    from .filter import run_filter

    labels = np.array([c.trusted for c in cands])
    report = run_filter(emb, labels, seed)
    if multi:  # second pass: now that we can tell faces apart, extra faces of group photos are 'other'
        by_file: dict[str, list[int]] = {}
        for i, c in enumerate(cands):
            if c.file.source in multi and c.label < 2:
                by_file.setdefault(c.file.source, []).append(i)
        for idx in by_file.values():
            best = max(idx, key=lambda i: report.scores[i, cands[i].label])
            for i in idx:
                if i != best:
                    cands[i].trusted = 2
        report = run_filter(emb, np.array([c.trusted for c in cands]), seed)
    for c, s in zip(cands, report.scores):
        c.scores = s
    return {"classes": ["A", "B", "other"], "trained_per_class": report.n_train, "folds": report.folds,
            "out_of_fold_accuracy": round(report.train_accuracy, 4), "note": report.note}


@dataclass
class Plan:
    """What one `prepare` call works on, decided before any face is looked at."""

    opts: PrepareOptions
    layout: Layout
    run: Run
    aligned: bool
    use_filter: bool
    workers: int
    messages: list[str]


def plan_run(opts: PrepareOptions) -> Plan:
    """Check the input and choose the mode (photos, aligned crops or a run folder) and the filter."""
    layout = scan(opts.photos)
    run = Run(opts.out)
    if run.data.resolve() == layout.root.resolve():
        raise SettingError(f"the input {layout.root} is the output folder itself: choose another --out "
                           "(prepare rewrites RUN/data/faces/)")
    messages: list[str] = []
    if layout.runfolder and not opts.aligned:
        messages.append(f"{layout.root} is a synth/prepare folder: treated as aligned faces")
    use_filter = {"on": True, "off": False}.get(opts.filter, not layout.runfolder)
    if opts.filter == "auto" and layout.runfolder:
        messages.append("filter skipped: the input is a lookalike run folder whose labels are known "
                        "(use --filter on to run it anyway)")
    return Plan(opts, layout, run, opts.aligned or layout.runfolder, use_filter, opts.workers or cpu_count(),
                messages)


def extract_faces(plan: Plan) -> dict[str, FileResult]:
    """Detect, align and embed every input file (cached per file, in a process pool)."""
    settings = Settings(detector=plan.opts.detector, embed=plan.use_filter)
    jobs, notes = _jobs(plan.layout, plan.aligned)
    plan.messages.extend(notes)
    return {r.source: r for r in run_jobs(jobs, settings, plan.run.data / "cache" / "files", plan.workers,
                                          desc="detect+align" if not plan.aligned else "faces")}


def candidates(plan: Plan, results: dict[str, FileResult]) -> tuple[list[Candidate], set[str]]:
    """One candidate per face found, and the input files with several faces (group photos)."""
    names = _name_faces(plan.layout, results, plan.aligned)
    label_of = {p: i for i, p in enumerate(plan.layout.persons)}
    cands: list[Candidate] = []
    multi: set[str] = set()
    for f in plan.layout.files:
        res = results.get(f.source)
        if res is None:
            continue
        if len(res.faces) > 1:
            multi.add(f.source)
        for k in range(len(res.faces)):
            label = 2 if f.folder == "other" else label_of[f.folder]
            c = Candidate(res, f.folder, k, names.get((f.source, k), ""), label)
            if label == 2 or len(res.faces) == 1:
                c.trusted = label
            cands.append(c)
    return cands, multi


def stop_if_faceless(plan: Plan, results: dict[str, FileResult], cands: list[Candidate]) -> None:
    """A person without a single face: write the manifest (why, file by file) and stop."""
    faceless = [p for i, p in enumerate(plan.layout.persons) if not any(c.label == i for c in cands)]
    if not faceless:
        return
    for c in cands:
        c.outcome, c.reason = "not_used", "stopped before filtering: a person has no face at all"
    _write_manifest(plan.run, plan.layout, results, cands)
    raise InputError(f"no face was found in the photos of {' and '.join(faceless)} "
                     f"(see {plan.run.manifest_csv} for each file); "
                     + ("use --aligned for folders of face crops, " if not plan.aligned else "")
                     + "or add photos where the face is clearly visible")


def filter_faces(plan: Plan, cands: list[Candidate], multi: set[str]) -> dict[str, Any]:
    """Score every face with the identity filter (when it is used); returns what the summary says of it."""
    info: dict[str, Any] = {"used": plan.use_filter, "threshold": plan.opts.threshold}
    if plan.use_filter and cands:
        emb = np.stack([c.file.faces[c.face_index].embedding for c in cands])
        info.update(_filter(cands, emb, multi, plan.opts.seed, plan.run.data / "cache"))
        plan.messages.append(f"filter: {info['note']}")
    return info


def _first_verdict(c: Candidate, plan: Plan, multi: set[str]) -> tuple[str, str]:
    """Kept or waiting for review, from the filter score (or, without a filter, from the number of faces)."""
    threshold = plan.opts.threshold
    own = float(c.scores[c.label]) if c.scores is not None else None
    if plan.use_filter and own is not None and own >= threshold:
        return "kept", f"filter score {own:.2f} >= {threshold:.2f}"
    if plan.use_filter:
        top = ["A", "B", "other"][int(np.argmax(c.scores))]
        return "review", f"below threshold: own-person score {own:.2f} < {threshold:.2f} (looks like {top})"
    if c.file.source in multi:
        return "review", "several faces in the photo and no filter to pick one"
    return "kept", "only face of the photo (no filter)"


def decide(plan: Plan, cands: list[Candidate], multi: set[str], decisions: dict[str, str]) -> list[Candidate]:
    """Each face's outcome: the filter's verdict, overruled by a review decision; returns the two people's faces."""
    people = [c for c in cands if c.label < 2]
    for c in cands:
        if c.label == 2:
            c.outcome, c.reason = "other", "face from other/: used to train the filter only"
    for c in people:
        c.outcome, c.reason = _first_verdict(c, plan, multi)
        if c.file.source in multi:
            c.reason = f"several faces ({len(c.file.faces)}) in the photo; {c.reason}"
        d = decisions.get(c.key)
        if d == "keep":
            c.outcome, c.reason = "kept", f"kept in review ({c.reason})"
        elif d == "drop":
            c.outcome, c.reason = "dropped", f"dropped in review ({c.reason})"
    return people


def deduplicate(plan: Plan, people: list[Candidate]) -> tuple[list[Candidate], dict[int, int]]:
    """Exact copies out (a copy of a face dropped in review goes too); returns the kept faces and their groups."""
    kept = sorted((c for c in people if c.outcome in ("kept", "dropped")), key=lambda c: c.path)
    embs = None
    if plan.use_filter and kept:
        embs = np.stack([c.file.faces[c.face_index].embedding for c in kept])
    thumbs = np.stack([thumbnail(c.file.faces[c.face_index].crop) for c in kept]) if kept else None
    dd = find_groups([c.file.faces[c.face_index].phash for c in kept], embs, thumbs)
    root = [int(j) if j >= 0 else i for i, j in enumerate(dd.duplicate_of)]
    dropped_roots = {root[i] for i, c in enumerate(kept) if c.outcome == "dropped"}
    for i, c in enumerate(kept):
        if c.outcome != "kept":
            continue
        if root[i] in dropped_roots:
            first = next(k for k, d in enumerate(kept) if root[k] == root[i] and d.outcome == "dropped")
            c.outcome, c.reason = "dropped", f"copy of {kept[first].path}, which was dropped in review"
        elif root[i] != i:
            c.outcome, c.reason = "duplicate", f"near-identical copy of {kept[root[i]].path}"
    return [c for c in kept if c.outcome == "kept"], {id(c): int(dd.group[i]) for i, c in enumerate(kept)}


def _waiting(people: list[Candidate], decisions: dict[str, str]) -> list[Candidate]:
    """Faces the review page shows: waiting for a decision, dropped, or decided before."""
    return [c for c in people if c.outcome in ("review", "dropped") or c.key in decisions]


def stop_if_person_missing(plan: Plan, results: dict[str, FileResult], cands: list[Candidate],
                           people: list[Candidate], final: list[Candidate], decisions: dict[str, str]) -> None:
    """Nobody kept for a person: keep the earlier data set, leave what review needs, and stop."""
    missing = [p for i, p in enumerate(plan.layout.persons) if not any(c.label == i for c in final)]
    if not missing:
        return
    run = plan.run
    _write_faces(run.data, plan.layout.root, [], _waiting(people, decisions), prune=False)
    _write_queue(run.data, plan.layout, people, decisions)
    _write_manifest(run, plan.layout, results, cands)
    n_wait = sum(1 for c in people if c.outcome == "review")
    raise InputError(f"no face of {' and '.join(missing)} was kept (see {run.manifest_csv}); "
                     + (f"{n_wait} faces wait for review: run `lookalike review {run.root}`, then rerun; "
                        if n_wait else "")
                     + "or lower --threshold, or add photos")


def split_faces(plan: Plan, final: list[Candidate], groups_of: dict[int, int]) -> tuple[Any, int]:
    """Train/val/test by person and near-duplicate group; returns the plan it followed and the number of groups."""
    from .split import assign_splits

    _, dense = np.unique(np.array([groups_of[id(c)] for c in final]), return_inverse=True)
    try:
        splits, split_plan = assign_splits(np.array([c.label for c in final]), dense, plan.opts.seed, plan.opts.val,
                                           plan.opts.val_fraction)
    except ValueError as exc:
        raise SettingError(f"cannot split {len(final)} faces: {exc}") from exc
    plan.messages.append(split_plan.message)
    for c, s, g in zip(final, splits, dense):
        c.split, c.group = str(s), f"g{int(g):05d}"
    return split_plan, len(set(dense.tolist()))


def write_data(plan: Plan, results: dict[str, FileResult], cands: list[Candidate], people: list[Candidate],
               final: list[Candidate], decisions: dict[str, str]) -> None:
    """Faces, split, landmarks, manifest, review queue, ground truth and the overview figure."""
    from .figures import overview_figure

    run, layout = plan.run, plan.layout
    _write_faces(run.data, layout.root, final, _waiting(people, decisions))
    _write_dataset(run, layout, final)
    _write_manifest(run, layout, results, cands)
    if layout.masks is not None:
        atomic_write_bytes(run.data / "truth" / "masks.npz", layout.masks.read_bytes())
    _write_queue(run.data, layout, people, decisions)
    overview_figure(run.data / "overview.png", layout.persons,
                    [[c.file.faces[c.face_index].crop for c in final if c.label == i]
                     for i in range(len(layout.persons))], seed=plan.opts.seed)


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def summarise(plan: Plan, results: dict[str, FileResult], cands: list[Candidate], people: list[Candidate],
              final: list[Candidate], decisions: dict[str, str], split_plan: Any, n_groups: int,
              filter_info: dict[str, Any], seconds: float) -> PrepareSummary:
    layout = plan.layout
    pending = [c for c in people if c.outcome == "review"]
    # a face kept after review joins a split like any other: about this many would be training faces
    gain = int(round(len(pending) * split_plan.train / max(len(final), 1)))
    if pending:
        plan.messages.append(f"{len(pending)} faces wait for review (kept, they would add about {gain} training "
                             f"faces): run `lookalike review {plan.run.root}`, then rerun this command (or press "
                             "Apply on the page)")
    return PrepareSummary(
        input=str(layout.root),
        mode="run folder" if layout.runfolder else ("aligned" if plan.aligned else "photos"),
        identities=layout.persons, files=len(layout.files),
        file_outcomes=_count(r.outcome for r in results.values()), not_read=_not_read(layout),
        faces_found=len(cands), face_outcomes=_count(c.outcome for c in cands), kept=len(final),
        kept_per_person={p: sum(1 for c in final if c.label == i) for i, p in enumerate(layout.persons)},
        pending_review=len(pending), pending_review_train_estimate=gain, review_decisions=len(decisions),
        duplicate_groups={"groups": n_groups, "faces_in_shared_groups": int(len(final) - n_groups)},
        split={p: {s: sum(1 for c in final if c.label == i and c.split == s) for s in ("train", "val", "test")}
               for i, p in enumerate(layout.persons)},
        split_plan=asdict(split_plan), filter=filter_info, messages=plan.messages, seconds=round(seconds, 2),
        workers=plan.workers,
    )


def prepare(opts: PrepareOptions) -> PrepareSummary:
    """Photos of two people → RUN/data/ (docs/run-folder.md); returns the summary it writes."""
    t0 = time.time()
    plan = plan_run(opts)
    plan.run.data.mkdir(parents=True, exist_ok=True)
    results = extract_faces(plan)
    cands, multi = candidates(plan, results)
    stop_if_faceless(plan, results, cands)
    filter_info = filter_faces(plan, cands, multi)
    decisions = read_decisions(plan.run.data)
    people = decide(plan, cands, multi, decisions)
    final, groups_of = deduplicate(plan, people)
    stop_if_person_missing(plan, results, cands, people, final, decisions)
    split_plan, n_groups = split_faces(plan, final, groups_of)
    write_data(plan, results, cands, people, final, decisions)
    summary = summarise(plan, results, cands, people, final, decisions, split_plan, n_groups, filter_info,
                        time.time() - t0)
    write_config(plan.run.data, {**asdict(opts), "photos": str(Path(opts.photos).resolve()),
                                 "workers": plan.workers})
    for m in plan.messages:
        say(m)
    return DATA_SUMMARY.write(plan.run, summary)


def _write_faces(data: Path, root: Path, final: list[Candidate], review: list[Candidate],
                 prune: bool = True) -> None:
    """Write kept crops (only those that changed) and review crops; remove crops no longer kept."""
    from ..progress import progress

    stamp_path = data / "cache" / "written.json"
    stamps: dict[str, str] = read_json(stamp_path) if stamp_path.exists() else {}
    wanted: dict[str, Candidate] = {c.path: c for c in final}
    wanted.update({"review/" + c.path.split("/", 1)[1]: c for c in review})
    new_stamps: dict[str, str] = {}
    for rel, c in progress(wanted.items(), desc="write", total=len(wanted)):
        crop = c.file.faces[c.face_index].crop
        digest = hashlib.sha1(crop.tobytes()).hexdigest()
        target = data / rel
        if stamps.get(rel) != digest or not target.exists():
            if c.file.verbatim:
                atomic_copy(root / c.file.source, target)  # ~100× faster than re-encoding
            else:
                save_png(target, crop)
        new_stamps[rel] = digest
    if not prune:
        atomic_write_json(stamp_path, {**stamps, **new_stamps})
        return
    for folder in ("faces", "review"):
        top = data / folder
        if top.is_dir():
            for p in top.rglob("*.png"):
                if p.relative_to(data).as_posix() not in wanted:
                    p.unlink()
    atomic_write_json(stamp_path, new_stamps)


def _write_dataset(run: Run, layout: Layout, final: list[Candidate]) -> None:
    """identities.json, split.csv and landmarks.csv: what the later stages read."""
    write_identities(run, layout.persons)
    SPLIT.write(run, ({"path": c.path, "identity": c.folder, "label": c.label, "split": c.split, "group": c.group}
                      for c in final))
    cols = landmark_columns()
    lm_rows = []
    for c in final:
        pts = c.file.faces[c.face_index].landmarks.reshape(-1)
        lm_rows.append({"path": c.path, **{k: f"{v:.2f}" for k, v in zip(cols, pts)}})
    LANDMARKS.write(run, lm_rows)


def _not_read(layout: Layout) -> dict[str, int]:
    """How many paths could not be read, by kind (the manifest has the row and reason of each)."""
    kinds: dict[str, int] = {}
    for f in layout.files:
        if f.unread:
            kinds[f.unread_kind] = kinds.get(f.unread_kind, 0) + 1
    return kinds


def _write_manifest(run: Run, layout: Layout, results: dict[str, FileResult], cands: list[Candidate]) -> None:
    """One row per input file and one per face in it: what happened and why."""
    by_file: dict[str, list[Candidate]] = {}
    for c in cands:
        by_file.setdefault(c.file.source, []).append(c)
    rows = []
    for f in layout.files:
        res = results.get(f.source)
        base = {"source": f.source, "folder": f.folder}
        if f.unread:
            rows.append({**base, "outcome": "not_read", "reason": f.unread})
            continue
        if f.hidden:
            rows.append({**base, "outcome": "ignored", "reason": "hidden file"})
            continue
        if not f.folder:
            rows.append({**base, "outcome": "ignored", "reason": "not inside a person folder"})
            continue
        if res is None:
            rows.append({**base, "outcome": "ignored", "reason": "not processed"})
            continue
        notes = "; ".join(res.notes)
        if res.outcome != "ok":
            rows.append({**base, "outcome": res.outcome, "reason": res.reason, "notes": notes})
            continue
        faces = by_file.get(f.source, [])
        outcomes = [c.outcome for c in faces]
        summary = ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes))
        file_outcome = "kept" if "kept" in outcomes else (outcomes[0] if len(set(outcomes)) == 1 else "mixed")
        reason = f"{len(faces)} faces: {summary}" if len(faces) > 1 else faces[0].reason
        if len(faces) > 1:
            reason = f"several faces; {summary}"
        rows.append({**base, "outcome": file_outcome, "reason": reason, "notes": notes})
        for c in faces:
            face = c.file.faces[c.face_index]
            rows.append({
                **base, "face": c.face_index, "outcome": c.outcome, "reason": c.reason,
                "path": c.path if c.outcome == "kept" else "", "identity": c.folder if c.label < 2 else "other",
                "own_score": "" if c.scores is None else f"{float(c.scores[min(c.label, 2)]):.3f}",
                "scores": "" if c.scores is None else " ".join(f"{v:.3f}" for v in c.scores),
                "landmarks": face.landmark_source, "split": c.split, "group": c.group,
            })
    MANIFEST.write(run, rows)


def _write_queue(data: Path, layout: Layout, people: list[Candidate], decisions: dict[str, str]) -> None:
    """What the review page shows: every face the filter did not accept, with its photo and scores."""
    items = []
    for c in people:
        if not (c.outcome in ("review", "dropped") or c.key in decisions):
            continue
        face = c.file.faces[c.face_index]
        items.append({
            "id": c.key, "path": c.path, "crop": "review/" + c.path.split("/", 1)[1], "identity": c.folder,
            "source": c.file.source, "box": face.box, "size": list(c.file.size), "reason": c.reason,
            "own_score": None if c.scores is None else round(float(c.scores[c.label]), 3),
            "decision": decisions.get(c.key),
        })
    REVIEW_QUEUE.write_at(data / "review_queue.json", {"photos": str(layout.root.resolve()),
                                                      "identities": layout.persons, "items": items})
