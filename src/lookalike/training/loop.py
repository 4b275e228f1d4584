"""The training loop for both networks: plain, resumable, exactly repeatable.

Every epoch draws its shuffling, pairs, augmentation and dropout from a
generator seeded by (seed, epoch), and a checkpoint is written atomically at
the end of every epoch. A run killed mid-epoch therefore resumes from the last
checkpoint and replays that epoch bit for bit: it ends with the same weights
as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import softmax
from torch import nn

from ..contract import METRICS, NETWORK_SUMMARY, PAPER_TEST_ACCURACY, NetworkSummary, write_config
from ..data.dataset import FaceSet, load_split
from ..errors import InputError, SettingError
from ..io import atomic_write_bytes
from ..models import build_model, save_model, siamese_loss
from ..models.layers import Temperature, last_linear
from ..models.registry import to_device
from ..pairs import make_pairs, pair_count, write_test_pairs
from ..progress import progress, quiet
from ..runfolder import Run
from ..runtime import pick_device, training_precision
from . import ddp
from .augment import augment
from .curves import plot_curves
from .metrics import binary_metrics, expected_calibration_error, fit_temperature
from .presets import TrainConfig, make_config

StepHook = Callable[[int, int], None]


def epoch_seed(seed: int, epoch: int) -> int:
    """One seed per epoch, so an epoch can be replayed without the RNG history before it."""
    return (int(seed) * 1_000_003 + int(epoch) * 7_919) % (2**63 - 1)


def train(run: str | Path | Run, model: str = "classifier", preset: str = "fast",
          overrides: dict[str, Any] | None = None, seed: int = 0, device: str = "auto", resume: bool = False,
          config_file: str | Path | None = None, on_step: StepHook | None = None) -> dict[str, Any]:
    """Train `model` on `<run>/data` and write `<run>/models/<model>/`; returns the summary dict.

    `on_step(epoch, step)` is called after every optimiser step (tests use it to simulate a kill).
    """
    run = run if isinstance(run, Run) else Run(run)
    if model not in ("classifier", "siamese"):
        raise SettingError(f"unknown network {model!r}; choose classifier or siamese (the embedding baseline "
                           "is lookalike.baseline)")
    cfg = make_config(preset, overrides, config_file, model=model)
    return Trainer(run, model, cfg, seed, device).fit(resume=resume, on_step=on_step)


@dataclass
class StepOut:
    """What one training step produced: its loss, logits and their labels, and the identity probe's score."""

    loss: torch.Tensor
    logits: torch.Tensor
    y: torch.Tensor
    images: int = 0  # faces through the network in this step (0 = one per label)
    known: float = 0.0
    probed: int = 0


@dataclass
class Tally:
    """Running sums over an epoch's steps, summed over DDP ranks at the end."""

    loss: float = 0.0
    correct: float = 0.0
    seen: float = 0.0
    images: float = 0.0
    known: float = 0.0
    probed: float = 0.0

    def add(self, out: StepOut) -> None:
        n = len(out.y)
        self.loss += float(out.loss.detach()) * n
        self.correct += float((out.logits.detach().argmax(1) == out.y).sum())
        self.seen += n
        self.images += out.images or n
        self.known += out.known
        self.probed += out.probed

    def reduce(self, dist: ddp.Dist, device: str) -> dict[str, float]:
        loss, correct, seen, images, known, probed = ddp.all_sum(
            dist, [self.loss, self.correct, self.seen, self.images, self.known, self.probed], device)
        out = {"train_loss": loss / seen, "train_accuracy": correct / seen, "train_images": images}
        if probed:  # how well the embedding tells the two people apart during the identity warm-up
            out["identity_accuracy"] = known / probed
        return out


class Trainer:
    """Holds the data, network and optimiser of one run; `fit` trains, validates, tests and writes."""

    def __init__(self, run: Run, kind: str, cfg: TrainConfig, seed: int, device: str):
        self.run, self.kind, self.cfg, self.seed = run, kind, cfg, int(seed)
        dev = pick_device(device)
        self.dist = ddp.setup(dev)
        self.device = ddp.device_for(self.dist, dev)
        self.cuda = self.device.startswith("cuda")
        self.precision = training_precision(cfg.precision, self.device)
        self.out = run.model(kind)
        self.recipe = {"model": kind, "seed": self.seed, **cfg.to_dict()}

        self.train_set = _spread_subset(load_split(run, "train"), cfg.limit_train)
        self.val_set = load_split(run, "val")
        self.test_set = load_split(run, "test")
        for name, fs in (("train", self.train_set), ("val", self.val_set), ("test", self.test_set)):
            counts = torch.bincount(fs.labels, minlength=2).tolist()
            if len(fs) == 0 or min(counts[:2]) == 0:
                raise InputError(f"the {name} split needs images of both people (it has {counts[:2]}); "
                                 f"check {run.split_csv}")
        torch.manual_seed(self.seed)
        net = build_model(kind, **cfg.arch(kind))
        if kind == "siamese":
            # the pair head starts at "no opinion" (p = 0.5): a random last layer makes confident wrong
            # guesses whose gradient teaches the branches to collapse every face onto one embedding
            nn.init.zeros_(last_linear(net).weight)
        self.net = to_device(net, self.device)
        self.model: nn.Module = self.net
        if self.dist.enabled:
            self.model = self._ddp(self.net)
        # training-only identity probe on the Siamese embedding (cfg.identity_warmup); never saved as the model
        self.probe = None
        if kind == "siamese" and (cfg.identity_warmup > 0 or cfg.identity_floor > 0):
            self.probe = nn.Linear(self.net.embedding_size, 2).to(self.device)
        self.probe_model = self.probe
        if self.probe is not None and self.dist.enabled:  # its gradients are averaged over ranks too
            self.probe_model = self._ddp(self.probe)
        per_face = kind == "classifier" or cfg.pairs == "batch"
        self.n_items = len(self.train_set) if per_face else (cfg.train_pairs or len(self.train_set))
        self.batch = min(cfg.batch_size, self.n_items)
        if self.batch < 2 * self.dist.world:
            raise SettingError(f"batch of {self.batch} is too small for {self.dist.world} processes")
        self.steps = max(1, self.n_items // self.batch)
        self.optimizer = self._optimizer()
        self.scheduler = self._scheduler()
        if kind == "siamese":
            self.val_pairs = make_pairs(self.val_set.labels, pair_count(cfg.val_pairs, len(self.val_set)),
                                        self.seed + 7_919, self.val_set.groups)
            self.test_pairs = make_pairs(self.test_set.labels, pair_count(cfg.test_pairs, len(self.test_set)),
                                         self.seed + 104_729, self.test_set.groups)

    # setup ------------------------------------------------------------------

    def _ddp(self, module: nn.Module) -> nn.Module:
        return nn.parallel.DistributedDataParallel(module, device_ids=[self.dist.local_rank] if self.cuda else None)

    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.cfg
        params = self._parameters()
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, momentum=0.9, weight_decay=c.weight_decay, nesterov=True)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)

    def _parameters(self) -> list[nn.Parameter]:
        return list(self.net.parameters()) + (list(self.probe.parameters()) if self.probe is not None else [])

    def identity_weight(self, epoch: int, step: int) -> float:
        """Weight of the identity loss at this step: 1 at the start, falling linearly to `identity_floor` by
        the end of the `identity_warmup` share of the steps, then `identity_floor` (0: the paper's loss)."""
        if self.probe is None:
            return 0.0
        floor = self.cfg.identity_floor
        if self.cfg.identity_warmup <= 0:
            return floor
        done = ((epoch - 1) * self.steps + step) / (self.cfg.epochs * self.steps)
        return max(floor, 1.0 - (1.0 - floor) * done / self.cfg.identity_warmup)

    def _scheduler(self) -> torch.optim.lr_scheduler.LRScheduler:
        c, total = self.cfg, self.cfg.epochs * self.steps
        if c.schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=c.lr, total_steps=total,
                                                       pct_start=c.warmup, div_factor=20.0,
                                                       final_div_factor=100.0)
        if c.schedule == "cosine":
            warm = max(1, int(total * c.warmup))
            return torch.optim.lr_scheduler.SequentialLR(self.optimizer, [
                torch.optim.lr_scheduler.LinearLR(self.optimizer, 0.05, 1.0, warm),
                torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, max(1, total - warm)),
            ], milestones=[warm])
        return torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)

    # batches ------------------------------------------------------------------
    def _to_input(self, images: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        x = images.float().div_(255.0)
        if gen is not None:
            x = augment(x, self.cfg, gen)
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last)  # oneDNN and cuDNN are fastest so

    def _autocast(self, training: bool = True) -> contextlib.AbstractContextManager:
        """bf16 mixed precision where `precision` resolves to it. On the CPU only the training steps use it:
        evaluation runs in float32, as every later stage does, so the reported accuracy is the network's."""
        if self.precision == "bf16" and (training or self.cuda):
            return torch.autocast("cuda" if self.cuda else "cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _my_slice(self, n: int) -> slice:
        """This rank's part of a global batch of n (all ranks draw the same global batch)."""
        per = n // self.dist.world
        return slice(self.dist.rank * per, (self.dist.rank + 1) * per)

    # one epoch ------------------------------------------------------------------
    def train_epoch(self, epoch: int, on_step: StepHook | None) -> dict[str, float]:
        """One pass over the training data: draw the epoch's batches, take one optimiser step per batch."""
        es = epoch_seed(self.seed, epoch)
        gen = torch.Generator().manual_seed(es)
        torch.manual_seed(es)  # dropout
        self.model.train()
        batches, step_fn = self._epoch_plan(es, gen)
        tally = Tally()
        quiet = {} if self.dist.main else {"disable": True}
        bar = progress(batches, desc=f"{self.kind} epoch {epoch}/{self.cfg.epochs}", **quiet)
        for step, batch in enumerate(bar):
            out = step_fn(batch, gen, self.identity_weight(epoch, step))
            self._optimise(out.loss)
            tally.add(out)
            if self.dist.main and not bar.disable:
                bar.set_postfix(loss=f"{tally.loss / tally.seen:.3f}", acc=f"{tally.correct / tally.seen:.3f}")
            if on_step is not None:
                on_step(epoch, step)
        return tally.reduce(self.dist, self.device)

    def _epoch_plan(self, es: int, gen: torch.Generator) -> tuple[list[Any], Callable[..., StepOut]]:
        """The epoch's batches (index tensors, drawn from the epoch seed) and the step that takes one."""
        ts, b = self.train_set, self.batch
        if self.kind == "classifier" or self.cfg.pairs == "batch":
            order = torch.randperm(len(ts), generator=gen)
            batches = [order[k * b:(k + 1) * b] for k in range(self.steps)]
            return batches, (self.classifier_step if self.kind == "classifier" else self.batch_pairs_step)
        pa, pb, psame = make_pairs(ts.labels, self.n_items, es, ts.groups)
        batches = [(pa[k * b:(k + 1) * b], pb[k * b:(k + 1) * b], psame[k * b:(k + 1) * b])
                   for k in range(self.steps)]
        return batches, self.drawn_pairs_step

    def classifier_step(self, idx: torch.Tensor, gen: torch.Generator, _identity: float) -> StepOut:
        """Cross-entropy (with the recipe's label smoothing) on one batch of faces."""
        mine = self._my_slice(len(idx))
        x = self._to_input(self.train_set.images[idx], gen)[mine]
        y = self.train_set.labels[idx][mine].to(self.device)
        mix = self._mixup(len(idx), gen)
        if mix is not None:
            lam, partner = mix
            x = lam * x + (1 - lam) * x[partner[mine] - mine.start]
        with self._autocast():
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.cfg.label_smoothing)
        if mix is not None:
            other = y[partner[mine] - mine.start]
            loss = lam * loss + (1 - lam) * F.cross_entropy(logits.float(), other,
                                                            label_smoothing=self.cfg.label_smoothing)
        return StepOut(loss, logits, y)

    def _mixup(self, n: int, gen: torch.Generator) -> tuple[float, torch.Tensor] | None:
        """Mixup (Zhang et al. 2018): one weight λ ~ Beta(α, α) per batch and, for every face of this rank's
        slice, a partner from the same slice; None when the recipe does not mix. Drawn from the epoch's
        generator, so a resumed epoch mixes the same faces."""
        if self.cfg.mixup <= 0:
            return None
        lam = float(np.random.default_rng(int(torch.randint(2**31, (1,), generator=gen))).beta(
            self.cfg.mixup, self.cfg.mixup))
        mine = self._my_slice(n)
        partner = torch.arange(n)
        partner[mine] = torch.randperm(mine.stop - mine.start, generator=gen) + mine.start
        return lam, partner

    def drawn_pairs_step(self, batch: tuple[torch.Tensor, ...], gen: torch.Generator, identity: float) -> StepOut:
        """L+ + L− on a batch of drawn balanced pairs (the paper's pairs), blended with the identity warm-up."""
        pa, pb, psame = batch
        mine = self._my_slice(len(pa))
        ts = self.train_set
        xa = self._to_input(ts.images[pa], gen)[mine]
        xb = self._to_input(ts.images[pb], gen)[mine]
        same = psame[mine].to(self.device)
        with self._autocast():
            logits, fa, fb = self.model(xa, xb, with_embeddings=True)
        loss = siamese_loss(logits, same)
        who = torch.cat([ts.labels[pa][mine], ts.labels[pb][mine]]).to(self.device)
        return self._with_identity(StepOut(loss, logits, 1 - same, images=2 * len(same)), torch.cat([fa, fb]), who,
                                   identity)

    def batch_pairs_step(self, idx: torch.Tensor, gen: torch.Generator, identity: float) -> StepOut:
        """L+ + L− over every pair of faces in one batch: each face is embedded once and compared with all
        the others, so a batch of 32 faces gives 496 pairs for the price of 32 branch passes (not in the
        paper, which draws one pair per two branch passes). L+ and L− are averaged within their own
        group, so the loss stays balanced although most pairs of a batch are of one kind."""
        mine = self._my_slice(len(idx))
        x = self._to_input(self.train_set.images[idx], gen)[mine]
        who = self.train_set.labels[idx][mine].to(self.device)
        i, j = torch.triu_indices(len(who), len(who), offset=1, device=self.device)
        with self._autocast():
            logits, f = self.model(x, None, with_embeddings=True)
        same = (who[i] == who[j]).long()
        loss = siamese_loss(logits, same)
        return self._with_identity(StepOut(loss, logits, 1 - same, images=len(who)), f, who, identity)

    def _with_identity(self, out: StepOut, embeddings: torch.Tensor, who: torch.Tensor, weight: float) -> StepOut:
        """Blend the identity warm-up loss (a linear probe on each face's embedding) into the pair loss."""
        if weight <= 0:
            return out
        guess = self.probe_model(embeddings.float())
        out.loss = (1 - weight) * out.loss + weight * F.cross_entropy(guess, who)
        out.known, out.probed = float((guess.detach().argmax(1) == who).sum()), len(who)
        return out

    def _optimise(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self._parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()

    # evaluation ------------------------------------------------------------------
    @torch.inference_mode()
    def evaluate(self, fs: FaceSet, pairs: tuple[torch.Tensor, ...] | None = None) -> dict[str, Any]:
        """Loss, truth and P(class 1) on a split (classifier) or on fixed pairs of it (siamese)."""
        net = self.net.eval()
        bs = self.cfg.eval_batch_size
        chunks = []
        if pairs is None:
            truth = fs.labels
            for i in range(0, len(fs), bs):
                with self._autocast(training=False):
                    chunks.append(net(self._to_input(fs.images[i:i + bs], None)).float().cpu())
            logits = torch.cat(chunks)
            loss = float(F.cross_entropy(logits, truth))
        else:
            a, b, same = pairs
            truth = 1 - same
            faces = []  # in eval mode a face's embedding does not depend on its partner: embed each face once
            for i in range(0, len(fs), bs):
                with self._autocast(training=False):
                    faces.append(net.embed(self._to_input(fs.images[i:i + bs], None)).float())
            emb = torch.cat(faces)
            for i in range(0, len(a), bs):
                with self._autocast(training=False):
                    chunks.append(net.compare(emb[a[i:i + bs]], emb[b[i:i + bs]]).float().cpu())
            logits = torch.cat(chunks)
            loss = float(siamese_loss(logits, same))
        prob1 = torch.softmax(logits, dim=1)[:, 1].numpy()
        truth_np = truth.numpy()
        return {"loss": loss, "accuracy": float(((prob1 >= 0.5).astype(int) == truth_np).mean()),
                "truth": truth_np, "prob1": prob1, "logits": logits.numpy()}

    def _validate(self) -> dict[str, float]:
        res = self.evaluate(self.val_set, self.val_pairs if self.kind == "siamese" else None)
        return {"val_loss": res["loss"], "val_accuracy": res["accuracy"]}

    # checkpoints ------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def save_checkpoint(self, epoch: int, best: dict[str, Any]) -> None:
        state = {
            "epoch": epoch, "recipe": self.recipe, "best": best,
            "model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "probe": self.probe.state_dict() if self.probe is not None else None,
            "scheduler": self.scheduler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state()},
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.checkpoint_path, buf.getvalue())

    def load_checkpoint(self) -> tuple[int, dict[str, Any]]:
        """Restore the last finished epoch; returns (epoch, best-so-far)."""
        try:
            state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint gets the same advice
            raise InputError(f"cannot read {self.checkpoint_path} ({exc}); train again without --resume") from exc
        if state["recipe"] != self.recipe:
            changed = sorted(k for k in set(state["recipe"]) | set(self.recipe)
                             if state["recipe"].get(k) != self.recipe.get(k))
            raise SettingError(f"--resume: the checkpoint in {self.out} was trained with other settings "
                               f"({', '.join(changed)} differ); use the same settings or train without --resume")
        self.net.load_state_dict(state["model"])
        if self.probe is not None:
            self.probe.load_state_dict(state["probe"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        return int(state["epoch"]), dict(state["best"])

    # the whole run ------------------------------------------------------------------
    def fit(self, resume: bool = False, on_step: StepHook | None = None) -> NetworkSummary:
        main = self.dist.main
        start, best = 1, {"epoch": 0, "val_accuracy": -1.0}
        records: list[dict[str, Any]] = []
        if resume and self.checkpoint_path.exists():
            done, best = self.load_checkpoint()
            start = done + 1
            records = [r.to_json() for r in METRICS.read(self.run, kind=self.kind) if r.epoch <= done]
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            write_config(self.out, {**self.recipe, "device": self.device, "world_size": self.dist.world,
                                    "precision_used": self.precision})
            if self.kind == "siamese":
                write_test_pairs(self.run, self.test_set.paths, *self.test_pairs)
        t_run = time.perf_counter()
        for epoch in range(start, self.cfg.epochs + 1):
            if self._cannot_improve(best):
                _say(main, f"{self.kind}: validation accuracy reached 100 % at epoch {best['epoch']}; later epochs "
                     "cannot change the kept network, so training stops (--set stop_when_perfect=false trains "
                     f"all {self.cfg.epochs})")
                break
            t0 = time.perf_counter()
            rec: dict[str, Any] = {"epoch": epoch, **self.train_epoch(epoch, on_step)}
            train_seconds = time.perf_counter() - t0
            rec.update(self._validate())
            rec.update({"lr": self.optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - t0,
                        "images_per_s": rec.pop("train_images") / max(train_seconds, 1e-9)})
            records.append(rec)
            if rec["val_accuracy"] > best["val_accuracy"]:
                best = {"epoch": epoch, "val_accuracy": rec["val_accuracy"]}
                if main:
                    save_model(self.out, self.kind, self.net, extra={"epoch": epoch, "identities":
                                                                     self.train_set.identities})
            if main:
                METRICS.write(self.run, records, kind=self.kind)
                self.save_checkpoint(epoch, best)
                plot_curves(records, self.out, "Classifier" if self.kind == "classifier" else "Siamese network")
            ddp.barrier(self.dist)
        summary = self._test(records, best, time.perf_counter() - t_run)
        ddp.barrier(self.dist)
        ddp.teardown(self.dist)
        return summary

    def _cannot_improve(self, best: dict[str, Any]) -> bool:
        """Whether the kept network is final: it is the first epoch with the best validation accuracy, so once
        that is 100 % no later epoch replaces it."""
        return self.cfg.stop_when_perfect and best["val_accuracy"] >= 1.0

    def _calibrate(self, best: dict[str, Any]) -> dict[str, Any]:
        """Fit the temperature on the validation split and save it with the network (model.json), so every
        later stage reads calibrated probabilities. The answers, and so the accuracy, stay the same."""
        layer = _temperature_layer(self.net)
        layer.temperature = 1.0
        val = self.evaluate(self.val_set, self.val_pairs if self.kind == "siamese" else None)
        temperature = fit_temperature(val["logits"], val["truth"])
        layer.temperature = temperature
        self.net.config["temperature"] = temperature
        if self.dist.main:
            save_model(self.out, self.kind, self.net, extra={"epoch": best["epoch"],
                                                             "identities": self.train_set.identities})
        after = softmax(val["logits"] / temperature, axis=1)[:, 1]
        return {"method": "temperature scaling on the validation split", "temperature": temperature,
                "val_ece_before": expected_calibration_error(val["truth"], val["prob1"]),
                "val_ece_after": expected_calibration_error(val["truth"], after)}

    def _test(self, records: list[dict[str, Any]], best: dict[str, Any], seconds: float) -> NetworkSummary:
        from safetensors.torch import load_file

        self.net.load_state_dict(load_file(str(self.out / "model.safetensors"), device="cpu"))
        calibration = self._calibrate(best) if self.cfg.calibrate else None
        if self.kind == "classifier":
            res = self.evaluate(self.test_set)
            classes = list(self.test_set.identities)
        else:
            res = self.evaluate(self.test_set, self.test_pairs)
            classes = ["same", "different"]
        test = binary_metrics(res["truth"], res["prob1"], classes)
        test["loss"] = res["loss"]
        if calibration is not None:  # the same answers before temperature scaling
            raw = res["logits"] * calibration["temperature"]
            test["ece_before_calibration"] = expected_calibration_error(res["truth"], softmax(raw, axis=1)[:, 1])
        summary = {
            "model": self.kind, "preset": self.cfg.preset, "seed": self.seed, "device": self.device,
            "precision": self.precision,
            "world_size": self.dist.world,
            "epochs": self.cfg.epochs, "epochs_run": records[-1]["epoch"] if records else 0,
            "best_epoch": best["epoch"], "best_val_accuracy": best["val_accuracy"],
            "test_accuracy": test["accuracy"], "paper_test_accuracy": PAPER_TEST_ACCURACY[self.kind],
            "test": test, "calibration": calibration,
            "n_train": len(self.train_set), "n_val": len(self.val_set), "n_test": len(self.test_set),
            "test_unit": "images" if self.kind == "classifier" else "pairs",
            "parameters": sum(p.numel() for p in self.net.parameters()),
            "seconds_this_session": seconds,
            "images_per_s": float(np.mean([r["images_per_s"] for r in records])) if records else None,
            "final": records[-1] if records else None,
        }
        return NETWORK_SUMMARY.write(self.run, summary, kind=self.kind) if self.dist.main else NetworkSummary(**summary)


def _say(main: bool, msg: str) -> None:
    """One line on stderr from the main process, silent under LOOKALIKE_QUIET=1 like the progress lines."""
    if main and not quiet():
        print(msg, file=sys.stderr, flush=True)


def _temperature_layer(net: nn.Module) -> Temperature:
    return next(m for m in net.modules() if isinstance(m, Temperature))


def _spread_subset(fs: FaceSet, limit: int) -> FaceSet:
    """`limit` images spread evenly over the split (split.csv is sorted by person, so a plain head would
    hold one person only); the whole split when limit is 0 or larger than it."""
    if limit <= 0 or limit >= len(fs):
        return fs
    idx = torch.linspace(0, len(fs) - 1, limit).round().long().unique()
    pick = idx.tolist()
    return FaceSet(images=fs.images[idx], labels=fs.labels[idx], paths=[fs.paths[i] for i in pick],
                   groups=[fs.groups[i] for i in pick], identities=fs.identities)
