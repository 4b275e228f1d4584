"""`lookalike facemap`: where each trained network places the faces, as a 2-D map (the paper cites t-SNE).

For every network the faces of each split (all of them up to `per_split`, spread evenly) go
through the network once; the classifier's embedding is the input of its last dense layer,
the Siamese network's the output of its shared branch (`embed`). scikit-learn's t-SNE lays the
embeddings out in 2-D. A face is marked as a mistake when the network gets it wrong: the
classifier's answer for that face, and for the Siamese network the person whose reference
faces (training faces, `references` of each) it judges "same" more often. Trustworthiness
(scikit-learn) says how well the map keeps each face's nearest neighbours (1 = all kept).

Writes RUN/facemap/: <kind>.csv (path, identity, label, split, x, y, predicted, correct, thumb),
<kind>.png, thumbs.jpg (one small picture per face, for the report's hover), config.json,
summary.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..contract import FACEMAP_POINTS, FACEMAP_SUMMARY, FacemapSummary, SplitRow, write_config
from ..data.dataset import SPLITS, identities, split_rows
from ..errors import InputError, SettingError, StageMissing
from ..face.template import SIZE as IMAGE_SIZE
from ..io import load_rgb
from ..models import load_model
from ..models.layers import count_weight_layers
from ..runfolder import Run

KINDS = ("classifier", "siamese")
FOLDER = "facemap"


@dataclass
class FacemapSettings:
    models: tuple[str, ...] = KINDS
    per_split: int = 400  # faces of each split on the map (test first; all when fewer)
    references: int = 32  # Siamese: training faces of each person a face is compared with
    perplexity: float = 30.0
    thumbs: int = 400  # faces with a hover picture in the report (test first)
    batch_size: int = 64
    seed: int = 0

    def check(self) -> FacemapSettings:
        unknown = sorted(set(self.models) - set(KINDS))
        if unknown or not self.models:
            raise SettingError(f"--models must be some of {KINDS}, not {list(self.models)}")
        if self.per_split < 2 or self.references < 1 or self.batch_size < 1 or self.thumbs < 0:
            raise SettingError("--per-split must be at least 2, --references and --batch-size at least 1")
        if not 2 <= self.perplexity <= 100:
            raise SettingError("--perplexity must lie between 2 and 100")
        return self


def folder(run: Run) -> Path:
    return run.root / FOLDER


def _spread(rows: list[SplitRow], n: int) -> list[SplitRow]:
    """n rows spread evenly (split.csv is sorted by person: a plain head would hold one person)."""
    if len(rows) <= n:
        return rows
    return [rows[int(k * len(rows) / n)] for k in range(n)]


def choose_faces(run: Run, per_split: int) -> list[SplitRow]:
    """The faces on the map: up to `per_split` of each split, test first (the faces the networks never saw)."""
    rows = split_rows(run)
    order = ["test"] + [s for s in SPLITS if s != "test"]
    return [r for s in order for r in _spread([r for r in rows if r["split"] == s], per_split)]


def load_images(run: Run, rows: list[SplitRow]) -> torch.Tensor:
    """uint8 N×3×128×128 of the rows' faces."""
    out = np.zeros((len(rows), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for i, row in enumerate(rows):
        out[i] = load_rgb(run.data / row["path"], size=IMAGE_SIZE).transpose(2, 0, 1)
    return torch.from_numpy(out)


def _last_dense(model: nn.Module) -> nn.Linear:
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1]


@torch.inference_mode()
def classifier_embeddings(model: nn.Module, images: torch.Tensor, device: str,
                          batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(the input of the last dense layer, P(person 1)) per face."""
    grabbed: list[torch.Tensor] = []
    hook = _last_dense(model).register_forward_hook(lambda _m, inp, _out: grabbed.append(inp[0].float().cpu()))
    probs = []
    try:
        for i in range(0, len(images), batch):
            x = images[i:i + batch].float().div_(255.0).to(device)
            probs.append(torch.softmax(model(x).float(), dim=1)[:, 1].cpu())
    finally:
        hook.remove()
    return torch.cat(grabbed).numpy(), torch.cat(probs).numpy()


@torch.inference_mode()
def siamese_embeddings(model: nn.Module, images: torch.Tensor, device: str, batch: int) -> np.ndarray:
    """The shared branch's output (`embed`) per face."""
    out = [model.embed(images[i:i + batch].float().div_(255.0).to(device)).float().cpu()
           for i in range(0, len(images), batch)]
    return torch.cat(out).numpy()


def _comparer(model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Pair logits from two rows of embeddings: the network's own `compare`."""
    compare = getattr(model, "compare", None)
    if compare is None:  # networks saved before `compare` existed join the two embeddings in `head`
        return lambda fa, fb: model.head(torch.cat([(fa - fb).abs(), fa * fb], dim=1))
    return compare


@torch.inference_mode()
def siamese_votes(model: nn.Module, emb: np.ndarray, ref_emb: np.ndarray, ref_labels: np.ndarray,
                  self_index: np.ndarray) -> np.ndarray:
    """P(person 1) per face from the network's own pair answers: its mean P(same) with each person's
    reference faces, normalised over the two (a face is never compared with itself)."""
    compare = _comparer(model)
    device = next(model.parameters()).device
    fa_all = torch.from_numpy(emb).to(device)
    fb = torch.from_numpy(ref_emb).to(device)
    out = np.zeros(len(emb))
    for i in range(len(emb)):
        fa = fa_all[i:i + 1].expand(len(fb), -1)
        p_same = torch.softmax(compare(fa, fb).float(), dim=1)[:, 0].cpu().numpy()
        keep = np.arange(len(fb)) != self_index[i]
        means = [p_same[keep & (ref_labels == c)].mean() for c in (0, 1)]
        out[i] = means[1] / max(means[0] + means[1], 1e-12)
    return out


def layout(emb: np.ndarray, perplexity: float, seed: int) -> tuple[np.ndarray, float]:
    """2-D t-SNE coordinates (scaled to 0–1) and the map's trustworthiness."""
    from sklearn.manifold import TSNE, trustworthiness

    n = len(emb)
    if n < 4:
        raise InputError(f"a face map needs at least 4 faces, the data set gives {n}")
    x = np.asarray(emb, dtype=np.float64)
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)  # every embedding dimension on one scale
    perp = min(perplexity, (n - 1) / 3)
    xy = TSNE(n_components=2, perplexity=perp, init="pca", learning_rate="auto", random_state=seed).fit_transform(x)
    trust = float(trustworthiness(x, xy, n_neighbors=max(1, min(10, n // 2 - 1))))
    lo, hi = xy.min(0), xy.max(0)
    return (xy - lo) / np.maximum(hi - lo, 1e-12), trust


def _references(rows: list[SplitRow], per_person: int) -> list[int]:
    """Indices of training faces (spread, up to `per_person` of each person) the Siamese votes compare with."""
    out: list[int] = []
    for label in (0, 1):
        idx = [i for i, r in enumerate(rows) if r.split == "train" and int(r.label) == label]
        out += [idx[int(k * len(idx) / per_person)] for k in range(per_person)] if len(idx) > per_person else idx
    return out


def network_map(run: Run, kind: str, rows: list[SplitRow], images: torch.Tensor,
                s: FacemapSettings, device: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One network's map: a row per face and the network's summary entry."""
    model = load_model(run.model(kind), device)
    labels = np.array([int(r["label"]) for r in rows])
    if kind == "classifier":
        emb, p1 = classifier_embeddings(model, images, device, s.batch_size)
        what = f"input of the last dense layer ({emb.shape[1]} values)"
        decided = "the classifier's answer for the face"
    else:
        emb = siamese_embeddings(model, images, device, s.batch_size)
        refs = _references(rows, s.references)
        if len({labels[i] for i in refs}) < 2:
            raise InputError("the Siamese face map needs training faces of both people as references")
        where = {r: k for k, r in enumerate(refs)}
        p1 = siamese_votes(model, emb, emb[refs], labels[refs], np.array([where.get(i, -1) for i in range(len(rows))]))
        what = f"output of the shared branch ({emb.shape[1]} values)"
        decided = (f"the person whose training faces ({len(refs)} references) the network more often "
                   "calls the same person")
    xy, trust = layout(emb, s.perplexity, s.seed)
    predicted = (p1 >= 0.5).astype(int)
    names = identities(run)
    out = [{"path": r["path"], "identity": r["identity"], "label": int(r["label"]), "split": r["split"],
            "x": round(float(x), 5), "y": round(float(y), 5), "predicted": names[int(p)],
            "correct": int(p == lab)} for r, (x, y), p, lab in zip(rows, xy, predicted, labels)]
    wrong = {sp: int(sum(1 for o in out if o["split"] == sp and not o["correct"])) for sp in SPLITS}
    counts = {sp: int(sum(1 for o in out if o["split"] == sp)) for sp in SPLITS}
    summary = {"embedding": what, "mistake": decided, "faces": counts, "mistakes": wrong,
               "test_accuracy": (1 - wrong["test"] / counts["test"]) if counts["test"] else None,
               "trustworthiness": trust, "weight_layers": count_weight_layers(model),
               "csv": f"{FOLDER}/{kind}.csv", "figure": f"{FOLDER}/{kind}.png"}
    return out, summary


def facemap(run: Run | str | Path, settings: FacemapSettings | None = None, device: str = "cpu") -> FacemapSummary:
    """Map the faces for each trained network in `settings.models`; returns (and writes) the summary."""
    from .figures import save_map, save_thumbs

    run = run if isinstance(run, Run) else Run(run)
    s = (settings or FacemapSettings()).check()
    kinds = [k for k in s.models if (run.model(k) / "model.safetensors").is_file()]
    if not kinds:
        raise StageMissing(f"no trained network in {run.models} for {', '.join(s.models)}: run `lookalike train "
                         f"{run.root} --model classifier` (and --model siamese) first")
    rows = choose_faces(run, s.per_split)
    images = load_images(run, rows)
    out = folder(run)
    out.mkdir(parents=True, exist_ok=True)
    write_config(out, {**asdict(s), "models": kinds, "method": "t-SNE (scikit-learn)", "device": device})
    thumbs = save_thumbs(out / "thumbs.jpg", images, min(s.thumbs, len(rows)))
    names = identities(run)
    summary: dict[str, Any] = {"method": "t-SNE (scikit-learn)", "perplexity_asked": s.perplexity,
                               "thumbs": thumbs, "identities": names, "networks": {}}
    for kind in kinds:
        points, entry = network_map(run, kind, rows, images, s, device)
        for k, p in enumerate(points):
            p["thumb"] = k if k < thumbs["count"] else -1
        FACEMAP_POINTS.write(run, points, kind=kind)
        save_map(out / f"{kind}.png", points, names, kind, entry)
        summary["networks"][kind] = entry
    summary["perplexity"] = min(s.perplexity, (len(rows) - 1) / 3)
    summary["skipped"] = [k for k in s.models if k not in kinds]
    return FACEMAP_SUMMARY.write(run, summary)

