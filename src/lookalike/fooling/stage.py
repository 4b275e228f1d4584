"""`lookalike fool`: fool the trained network on test images and draw where it was pushed (§4.2).

Writes `<run>/fooling/` (classifier) or `<run>/fooling/siamese/` (Siamese pairs):
fooled/<id>.png, panels/<id>.png, grid.png, aggregate.npy/.png, results.csv,
config.json, summary.json. Work is done in batches and results.csv is rewritten
after each one, so an interrupted run resumes where it stopped (same settings).
"""

from __future__ import annotations

import io
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..contract import FOOLING_SUMMARY, MODEL_INFO, RESULTS, FoolingSummary, fooling_folder, write_config
from ..data.dataset import FaceSet, load_split
from ..errors import InputError, SettingError
from ..io import atomic_write_bytes, load_rgb, read_json, save_png
from ..models import load_model
from ..pairs import make_pairs, pair_indices, saved_test_pairs
from ..progress import progress
from ..runfolder import Run
from .attack import AttackSettings, attack, classifier_forward, siamese_forward, to_float
from .figures import PanelImages, save_aggregate, save_grid, save_panel
from .pixelmap import SCALES, pixel_map, reference, scale_caption

MODELS = ("classifier", "siamese")
PAIR_NAMES = ("same", "different")  # SiameseNet class 0, class 1


@dataclass
class FoolSettings:
    model: str = "classifier"
    n: int = 200
    epsilon: float = 0.15
    confidence: float = 0.90
    max_steps: int = 200
    step_size: float = 0.01
    method: str = "gradient"
    map_scale: str = "image"
    batch_size: int = 32
    seed: int = 0

    def attack_settings(self) -> AttackSettings:
        return AttackSettings(epsilon=self.epsilon, confidence=self.confidence, max_steps=self.max_steps,
                              step_size=self.step_size, method=self.method).check()

    def check(self) -> FoolSettings:
        if self.model not in MODELS:
            raise SettingError(f"--model must be one of {MODELS}, not {self.model!r}")
        if self.n < 1 or self.batch_size < 1:
            raise SettingError("--n and --batch-size must be at least 1")
        if self.map_scale not in SCALES:
            raise SettingError(f"--map-scale must be one of {SCALES}")
        try:
            self.attack_settings()
        except ValueError as exc:
            raise SettingError(f"bad attack setting: {exc}") from None
        return self

    def result_key(self) -> dict[str, Any]:
        """Settings that change results; a rerun with the same key resumes, otherwise starts over."""
        d = asdict(self)
        for k in ("n", "batch_size", "map_scale"):
            d.pop(k)
        return d


@dataclass
class Item:
    """One attack: the image to perturb (index into the test set), its partner (Siamese), its target class."""

    id: str
    index: int
    partner: int | None
    source: str
    target: int
    target_name: str


def image_id(path: str) -> str:
    """`faces/person_a/x.png` → `person_a__x` (unique within a run, safe as a file name)."""
    p = Path(path)
    parts = p.with_suffix("").parts
    parts = parts[1:] if parts and parts[0] == "faces" and len(parts) > 1 else parts
    return "__".join(parts)


def _interleave(groups: list[list[int]]) -> list[int]:
    out: list[int] = []
    for k in range(max(len(g) for g in groups)):
        out += [g[k] for g in groups if k < len(g)]
    return out


def classifier_items(faces: FaceSet, n: int, seed: int) -> list[Item]:
    """Test images of both people in alternation (seeded order), each pushed towards the other person."""
    gen = torch.Generator().manual_seed(seed)
    labels = faces.labels
    per_class = [torch.nonzero(labels == c).flatten() for c in (0, 1)]
    per_class = [g[torch.randperm(len(g), generator=gen)].tolist() for g in per_class]
    order = _interleave(per_class)[:n]
    names = faces.identities
    return [Item(image_id(faces.paths[i]), i, None, names[int(labels[i])], 1 - int(labels[i]),
                 names[1 - int(labels[i])]) for i in order]


def siamese_items(run: Run, faces: FaceSet, n: int, seed: int) -> list[Item]:
    """Test pairs (the trainer's test_pairs.csv when present), same and different in alternation.

    The second image of each pair is perturbed: a "same" pair is pushed to "different" and back.
    """
    pairs = pair_indices(saved_test_pairs(run), faces.paths)
    if not pairs:
        a, b, same = make_pairs(faces.labels, 2 * n, seed)
        pairs = list(zip(a.tolist(), b.tolist(), same.tolist()))
    same = [p for p in pairs if p[2] == 1]
    diff = [p for p in pairs if p[2] == 0]
    gen = torch.Generator().manual_seed(seed)
    same = [same[i] for i in torch.randperm(len(same), generator=gen).tolist()]
    diff = [diff[i] for i in torch.randperm(len(diff), generator=gen).tolist()]
    chosen = _interleave([same, diff])[:n]
    items = []
    for k, (a, b, s) in enumerate(chosen):
        target = 1 if s else 0  # same (class 0) → different (class 1), and back
        items.append(Item(f"pair{k:05d}__{image_id(faces.paths[b])}", b, a, PAIR_NAMES[1 - target], target,
                          PAIR_NAMES[target]))
    return items


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def _load_u8(path: Path) -> torch.Tensor:
    return torch.from_numpy(load_rgb(path).transpose(2, 0, 1).copy())


def _resume_rows(folder: Path, settings: FoolSettings) -> dict[str, dict[str, str]]:
    """Rows of an earlier run with the same result-changing settings whose fooled image is on disk."""
    cfg, res = folder / "config.json", folder / "results.csv"
    if not (cfg.exists() and res.exists()):
        return {}
    before = read_json(cfg)
    if before.get("result_key") != settings.result_key():
        for sub in ("fooled", "panels"):
            shutil.rmtree(folder / sub, ignore_errors=True)
        return {}
    if before.get("map_scale") != settings.map_scale:
        shutil.rmtree(folder / "panels", ignore_errors=True)  # same attacks, pixel maps drawn anew
    return {r.id: r.model_dump() for r in RESULTS.read_at(res) if (folder / "fooled" / f"{r.id}.png").exists()}


def fool(run: Run | str | Path, settings: FoolSettings | None = None, device: str = "cpu") -> FoolingSummary:
    """Run the whole stage and return its summary (also written to summary.json)."""
    run = run if isinstance(run, Run) else Run(run)
    s = (settings or FoolSettings()).check()
    att = s.attack_settings()
    folder = fooling_folder(run, s.model)
    model = load_model(run.model(s.model), device)
    meta_kind = MODEL_INFO.read(run, kind=s.model).kind
    if meta_kind != s.model:
        raise InputError(f"{run.model(s.model)} holds a {meta_kind!r} network, not a {s.model!r}")
    for p in model.parameters():
        p.requires_grad_(False)
    faces = load_split(run, "test")
    if len(faces) == 0:
        raise InputError(f"the test split of {run.root} is empty: nothing to fool")
    items = classifier_items(faces, s.n, s.seed) if s.model == "classifier" else siamese_items(run, faces, s.n,
                                                                                                s.seed)
    done = _resume_rows(folder, s)
    write_config(folder, {**asdict(s), "device": device, "result_key": s.result_key()})
    rows: dict[str, dict[str, Any]] = {it.id: done[it.id] for it in items if it.id in done}
    todo = [it for it in items if it.id not in rows]
    t0 = time.perf_counter()
    bar = progress(total=len(todo), desc=f"fooling the {s.model}", unit="img")
    for start in range(0, len(todo), s.batch_size):
        batch = todo[start:start + s.batch_size]
        rows.update(_fool_batch(model, faces, batch, att, folder, device))
        RESULTS.write_at(folder / "results.csv", [rows[it.id] for it in items if it.id in rows])
        bar.update(len(batch))
    bar.close()
    seconds = time.perf_counter() - t0
    ordered = [rows[it.id] for it in items]
    RESULTS.write_at(folder / "results.csv", ordered)
    figures = _figures(run, faces, items, ordered, folder, s)
    return FOOLING_SUMMARY.write_at(folder / "summary.json",
                                    _summary(s, device, items, ordered, seconds, len(todo), figures))


@torch.no_grad()
def _target_prob(model: torch.nn.Module, images: torch.Tensor, partners: torch.Tensor | None,
                 targets: torch.Tensor, device: str) -> torch.Tensor:
    x = to_float(images.to(device))
    logits = model(to_float(partners.to(device)), x) if partners is not None else model(x)
    return logits.float().softmax(1).gather(1, targets.to(device)[:, None]).squeeze(1).cpu()


def _fool_batch(model: torch.nn.Module, faces: FaceSet, batch: list[Item], att: AttackSettings, folder: Path,
                device: str) -> dict[str, dict[str, Any]]:
    idx = torch.tensor([it.index for it in batch])
    originals = faces.images[idx]
    targets = torch.tensor([it.target for it in batch])
    partners = faces.images[torch.tensor([it.partner for it in batch])] if batch[0].partner is not None else None
    forward = (classifier_forward(model) if partners is None
               else siamese_forward(model, partners.to(device)))
    res = attack(forward, originals, targets, att, device)
    paths = [folder / "fooled" / f"{it.id}.png" for it in batch]
    for path, img in zip(paths, res.fooled):
        save_png(path, img.permute(1, 2, 0).numpy())
    # re-check what was written: the file, not the tensor, is what users and later stages see
    reloaded = torch.stack([_load_u8(p) for p in paths])
    p_saved = _target_prob(model, reloaded, partners, targets, device)
    delta = (reloaded.float() - originals.float()) / 255.0
    linf = delta.abs().flatten(1).max(1).values
    l2 = delta.flatten(1).norm(dim=1)
    out = {}
    for k, it in enumerate(batch):
        success = bool(p_saved[k] >= att.confidence)
        out[it.id] = {
            "id": it.id, "path": faces.paths[it.index],
            "partner": faces.paths[it.partner] if it.partner is not None else "",
            "source": it.source, "target": it.target_name, "steps": int(res.steps[k]),
            "p_target_start": round(float(res.p_start[k]), 6), "p_target_end": round(float(res.p_end[k]), 6),
            "p_target_saved": round(float(p_saved[k]), 6), "linf": round(float(linf[k]), 6),
            "l2": round(float(l2[k]), 6), "success": int(success), "gave_up": int(not success),
        }
    return out


def _panel(faces: FaceSet, item: Item, row: dict[str, Any], folder: Path, s: FoolSettings,
           scale: str | None = None) -> PanelImages:
    """One Figure-5 panel; the pixel map in `scale` (default the settings' one), its 255 stated under it."""
    scale = scale or s.map_scale
    original = faces.images[item.index].permute(1, 2, 0).numpy()
    fooled = load_rgb(folder / "fooled" / f"{item.id}.png")
    partner = faces.images[item.partner].permute(1, 2, 0).numpy() if item.partner is not None else None
    p_before = 1.0 - float(row["p_target_start"])
    ref = reference(original, fooled, scale, s.epsilon)
    return PanelImages(original=original, pixel_map=pixel_map(original, fooled, scale, s.epsilon),
                       fooled=fooled, before=f"{item.source} {p_before:.0%}",
                       after=f"→ {item.target_name} {float(row['p_target_saved']):.0%}", partner=partner,
                       map_caption=f"pixel map\n{scale_caption(scale, ref)}")


def grid_name(scale: str, settings_scale: str) -> str:
    """grid.png in the scale the stage was asked for, grid_<scale>.png in the other one."""
    return "grid.png" if scale == settings_scale else f"grid_{scale}.png"


def _figures(run: Run, faces: FaceSet, items: list[Item], rows: list[dict[str, Any]], folder: Path,
             s: FoolSettings) -> dict[str, Any]:
    fooled_items = [(it, r) for it, r in zip(items, rows) if int(r["success"]) and int(r["steps"]) > 0]
    for it, r in progress(list(zip(items, rows)), desc="drawing panels", unit="panel"):
        path = folder / "panels" / f"{it.id}.png"
        if not path.exists():
            state = "fooled" if int(r["success"]) else f"not fooled after {r['steps']} steps"
            save_panel(path, _panel(faces, it, r, folder, s), title=f"{it.id} ({state}, {r['steps']} steps)")
    # grid: fooled examples of each direction in alternation, as Figure 5 shows both ways
    by_dir: dict[str, list[tuple[Item, dict[str, Any]]]] = {}
    for it, r in fooled_items:
        by_dir.setdefault(it.source, []).append((it, r))
    chosen = _interleave(list(by_dir.values()))[:12] if by_dir else []
    title = ("Fooling the classifier: original | pixel map | fooled" if s.model == "classifier"
             else "Fooling the Siamese network: partner | original | pixel map | fooled")
    grids = {}
    for scale in (s.map_scale, *(x for x in SCALES if x != s.map_scale)):  # the same examples in both scales
        path = folder / grid_name(scale, s.map_scale)
        if chosen:
            note = "255 = each image's largest change" if scale == "image" else f"255 = the budget ε = {s.epsilon:g}"
            save_grid(path, [_panel(faces, it, r, folder, s, scale) for it, r in chosen],
                      f"{title} ({scale} scale)", scale_note=note)
            grids[scale] = path.name
        else:
            path.unlink(missing_ok=True)  # nothing fooled: no stale grid from an earlier run
    # aggregate: mean |change| per pixel over every image that was actually changed and fooled
    size = faces.images.shape[-1]
    agg = np.zeros((size, size), dtype=np.float64)
    for it, _ in fooled_items:
        fooled = load_rgb(folder / "fooled" / f"{it.id}.png").astype(np.float64)
        original = faces.images[it.index].permute(1, 2, 0).numpy().astype(np.float64)
        agg += np.abs(fooled - original).mean(axis=2) / 255.0
    agg = (agg / max(len(fooled_items), 1)).astype(np.float32)
    _save_npy(folder / "aggregate.npy", agg)
    mean_face = faces.images[torch.tensor([it.index for it in items])].float().mean(0).permute(1, 2, 0).numpy()
    save_aggregate(folder / "aggregate.png", agg, mean_face, len(fooled_items), s.epsilon)
    return {"n_in_aggregate": len(fooled_items), "grid": bool(chosen), "grids": grids}


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "max": None}
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "median": float(np.median(a)), "max": float(a.max())}


def _summary(s: FoolSettings, device: str, items: list[Item], rows: list[dict[str, Any]], seconds: float,
             n_new: int, figures: dict[str, Any]) -> dict[str, Any]:
    ok = [r for r in rows if int(r["success"])]
    initially = [r for r in rows if float(r["p_target_start"]) < 0.5]
    directions = {}
    for it, r in zip(items, rows):
        d = directions.setdefault(f"{it.source} → {it.target_name}", {"n": 0, "fooled": 0})
        d["n"] += 1
        d["fooled"] += int(r["success"])
    steps = [int(r["steps"]) for r in ok]
    return {
        "model": s.model,
        "n": len(rows),
        "n_requested": s.n,  # more than the test split (or its pairs) holds → all of them
        "n_fooled": len(ok),
        "success_rate": len(ok) / len(rows),
        "n_initially_correct": len(initially),
        "success_rate_initially_correct": (sum(int(r["success"]) for r in initially) / len(initially)
                                           if initially else None),
        "n_already_fooled": sum(int(r["steps"]) == 0 and int(r["success"]) for r in rows),
        "n_gave_up": sum(int(r["gave_up"]) for r in rows),
        "directions": directions,
        "steps": {"median": float(np.median(steps)) if steps else None, "max": max(steps) if steps else None,
                  "mean": float(np.mean(steps)) if steps else None},
        "confidence": _stats([float(r["p_target_saved"]) for r in ok]),
        "linf": _stats([float(r["linf"]) for r in ok]),
        "budget_used": max(float(r["linf"]) for r in ok) / s.epsilon if ok else None,
        "l2": _stats([float(r["l2"]) for r in ok]),
        "n_in_aggregate": figures["n_in_aggregate"],
        "map_scale": s.map_scale,  # of panels/ and grid.png; grids holds the grid in each scale
        "grids": figures["grids"],
        "seconds": round(seconds, 2),
        "images_per_second": round(n_new / seconds, 3) if n_new and seconds > 0 else None,
        "settings": {**asdict(s), "device": device},
        "outputs": ["results.csv", "fooled/", "panels/", *figures["grids"].values(), "aggregate.npy",
                    "aggregate.png"],
    }
