"""Training recipes: the paper's exactly, a laptop one, and a tiny one for demos and tests.

A recipe is a flat `TrainConfig`; a preset fills it, then a JSON config file and
`--set key=value` flags override single fields, so every run is described by
one dictionary that is saved to `config.json` beside the weights.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, SettingError


@dataclass
class TrainConfig:
    """Every knob of a training run. Architecture fields are passed to the network."""

    preset: str = "fast"
    # architecture (classifier uses width/dense; siamese uses width/hidden)
    width: int = 64
    dense: int = 4096
    hidden: int = 256
    dropout: float = 0.3
    conv_bn: bool = False  # batch norm after each convolution (not in the paper)
    logit_bn: bool = True  # classifier: the paper's batch norm on the two logits (caps confidence at ~93 %)
    input_size: int = 0  # compute on an N×N copy of the 128×128 face (0 = 128; not in the paper)
    siamese_input_size: int = -1  # the same for the Siamese branch (-1 = as input_size)
    # optimisation
    epochs: int = 200
    batch_size: int = 30
    optimizer: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-7
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant | onecycle | cosine
    warmup: float = 0.2  # fraction of steps spent warming up (onecycle/cosine)
    grad_clip: float = 0.0  # 0 = off
    # auto: bf16 mixed precision on CUDA and on CPUs with native bf16 (about 2x faster there), else fp32
    precision: str = "auto"
    mixup: float = 0.0  # classifier: mixup's Beta(α, α) parameter (0 = off)
    label_smoothing: float = 0.0  # classifier only; the Siamese loss is L+ + L- as in the paper
    # Siamese only, not in the paper: for this fraction of the training steps the loss is blended from a
    # per-image identity loss on each branch's embedding (weight w falling linearly from 1 to 0) into
    # L+ + L- (weight 1 - w), so the branch first learns who is who and the pair head then compares;
    # afterwards the loss is L+ + L- alone. Pair training from scratch sits at a saddle: a pair of faces
    # tells "same" from "different" only once the branch already separates the two people.
    identity_warmup: float = 0.0
    identity_floor: float = 0.0  # the identity loss keeps this weight after the warm-up (0 = the paper's loss)
    # augmentation, drawn per image and per epoch from seed + epoch
    flip: bool = False
    shift: float = 0.0  # max translation in pixels
    scale: float = 0.0  # max relative zoom (0.1 = ±10 %)
    rotate: float = 0.0  # max rotation in degrees
    brightness: float = 0.0  # max relative change
    contrast: float = 0.0
    saturation: float = 0.0
    erase: float = 0.0  # probability of hiding a random rectangle of the face behind noise (random erasing)
    # Siamese training pairs: "drawn" = balanced pairs drawn per epoch as in the paper; "batch" = every pair
    # of the faces in each batch (each face embedded once; not in the paper)
    pairs: str = "drawn"
    # data
    train_pairs: int = 0  # Siamese pairs per epoch (0 = one per training image)
    val_pairs: int = 1000
    test_pairs: int = 2000  # paper: 2000; fewer when the split is small
    limit_train: int = 0  # use only the first N training images (0 = all); for smoke runs
    eval_batch_size: int = 100
    # stop once validation accuracy is 100 %: the kept network is the first epoch with the best validation
    # accuracy, and nothing can beat 100 %, so later epochs would change only the curves (the saved
    # network, its test scores and every later stage stay the same). false trains every epoch.
    stop_when_perfect: bool = True
    # after training, fit a temperature on the validation split so probabilities mean what they say
    # (not in the paper; the answers do not change)
    calibrate: bool = False

    def arch(self, model: str) -> dict[str, Any]:
        if model == "classifier":
            return dict(width=self.width, dense=self.dense, dropout=self.dropout, conv_bn=self.conv_bn,
                        logit_bn=self.logit_bn, input_size=self.input_size)
        if model == "siamese":
            size = self.input_size if self.siamese_input_size < 0 else self.siamese_input_size
            return dict(width=self.width, hidden=self.hidden, dropout=self.dropout, conv_bn=self.conv_bn,
                        input_size=size)
        raise ValueError(f"no architecture for model {model!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def paper() -> TrainConfig:
    """§4.1 exactly: dropout 0.3, batch 30, 200 epochs, learning rate 1e-7, full VGG widths (64 → 512,
    dense 4096). The paper names no optimiser; we assume Adam (β = 0.9, 0.999) with a constant rate,
    no augmentation, no weight decay. Takes days on a CPU: use a GPU."""
    return TrainConfig(preset="paper")


def fast() -> TrainConfig:
    """What a laptop runs: both networks on faces-dev (929 training faces) in a few minutes on 2 CPU cores.

    The paper's topology (21 weight layers; a 10-convolution Siamese branch) with these additions, each
    measured on faces-dev (see docs/training.md):
    - batch norm after every convolution (`conv_bn`) and none on the two logits (`logit_bn=False`): the
      plain narrow stack trains slowly, and batch norm on the logits pins their scale so the classifier
      was never more than about 93 % sure;
    - the classifier computes on a 64×64 copy of the 128×128 face (`input_size`), the Siamese branch on a
      112×112 copy (`siamese_input_size=112`): it gains from the detail (94.6 % of test pairs at 64×64,
      94.98–96.2 % at 96×96, 95.83 % at 112×112 in about 9 min, 97.5 % at 128×128, but 128 takes 11–14 min,
      beyond the budget); width 16 (16 → 128 filters), dense 128;
    - AdamW (lr 2e-3) with a one-cycle schedule, gradient clipping at 2, label smoothing 0.1, bf16 on CPUs
      that compute it natively (`precision=auto`); the classifier 60 epochs at batch 16, the Siamese network
      40 epochs at batch 32 (`PER_NETWORK`);
    - augmentation on the fly: flip, ±4 px shifts, ±6 % zoom, ±8° rotation, ±25 % brightness/contrast/
      saturation (faces are aligned, so only small geometric jitter is safe);
    - Siamese network: every pair of faces in a batch (`pairs=batch`) instead of drawn pairs, and the identity
      loss on each branch's embedding, first alone and then at half the weight for the rest of training
      (`identity_warmup=0.3`, `identity_floor=0.5`);
    - a temperature fitted on the validation split after training (`calibrate`), so probabilities mean what
      they say (test ECE ≈ 0.01–0.04)."""
    return TrainConfig(
        preset="fast", width=16, dense=128, hidden=128, dropout=0.3, conv_bn=True, logit_bn=False, input_size=64,
        siamese_input_size=112,
        epochs=40, batch_size=32, optimizer="adamw", lr=2e-3, weight_decay=5e-4, schedule="onecycle", warmup=0.2,
        grad_clip=2.0, label_smoothing=0.1, flip=True, shift=4.0, scale=0.06, rotate=8.0, brightness=0.25,
        contrast=0.25, saturation=0.25, val_pairs=1000, test_pairs=2000, pairs="batch", identity_warmup=0.3,
        identity_floor=0.5, calibrate=True,
    )


def tiny() -> TrainConfig:
    """For the demo and tests: ~1,200 synthetic faces train in about 2 minutes on 2 idle CPU cores.

    Width 8, dense/hidden 64, 8 epochs, the `fast` optimiser, milder augmentation, and batch norm after
    every convolution (`conv_bn`, not in the paper), the paper's batch norm on the logits, an identity
    warm-up over the first half of the Siamese network's steps, and temperature scaling on the validation
    split (which lifts the cap the logits' batch norm puts on confidence). Without the logits' batch norm
    this narrow classifier sat at chance for the demo's 14 epochs (50.7 % test, and 82.5 % in another run). On the
    demo's data (`synth --strength 2`, 669 training faces) the classifier reached 99 % in 10 epochs and the
    Siamese network 99.6 % of test pairs in 10 epochs (it stayed at chance without the warm-up). The
    classifier trains at batch 16 and lr 1e-3 (PER_NETWORK): on the demo's data with region dropout at
    strength 3 it reaches 96.6 %, and it learns planted worlds where lr 3e-3 stayed at chance."""
    return TrainConfig(
        preset="tiny", width=8, dense=64, hidden=64, dropout=0.1, conv_bn=True, logit_bn=True, epochs=8,
        batch_size=32, optimizer="adamw", lr=3e-3, weight_decay=1e-4, schedule="onecycle", warmup=0.2,
        grad_clip=2.0, flip=True, shift=2.0, brightness=0.1, contrast=0.1, val_pairs=300, test_pairs=600,
        identity_warmup=0.5, calibrate=True,
    )


PRESETS = {"paper": paper, "fast": fast, "tiny": tiny}

# Where one network of a preset trains better with its own value of a setting (applied before the config
# file and --set). `fast` classifier: batch 16 for 60 epochs (see docs/training.md); the Siamese network keeps
# batch 32 (32 faces give it 496 pairs a step) and 40 epochs, which already take most of its time budget.
# `tiny` classifier: batch 16 at lr 1e-3. At lr 3e-3 and batch 32 it stayed at chance on planted worlds
# whose difference a linear model on pooled pixels finds (cheekbones alone at strength 3: 44 % with batch 16
# and 30 epochs, 100 % at lr 1e-3); on the demo's data 14 epochs gave 96.6 % (95.5 % before; lr 1e-3 at
# batch 32: 83.6 %).
PER_NETWORK: dict[str, dict[str, dict[str, Any]]] = {
    "fast": {"classifier": {"batch_size": 16, "epochs": 60}},
    "tiny": {"classifier": {"batch_size": 16, "lr": 1e-3}},
}


def parse_value(text: str, kind: Any) -> Any:
    """Turn the text of `--set key=value` into the field's type (bool accepts true/false/1/0/yes/no)."""
    if kind in (bool, "bool"):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind in (int, "int"):
        try:
            return int(text)
        except ValueError:
            number = float(text)  # accept 1e3
            if not number.is_integer():
                raise ValueError(f"expected a whole number, got {text!r}") from None
            return int(number)
    if kind in (float, "float"):
        return float(text)
    return text


FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(TrainConfig)}


def make_config(preset: str = "fast", overrides: dict[str, Any] | None = None,
                config_file: str | Path | None = None, model: str | None = None) -> TrainConfig:
    """Preset (with its settings for `model`, see PER_NETWORK), then the JSON config file, then `overrides`
    (values may be strings from --set)."""
    if preset not in PRESETS:
        raise SettingError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    cfg = PRESETS[preset]().to_dict()
    cfg.update(PER_NETWORK.get(preset, {}).get(model or "", {}))
    updates: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        if not path.exists():
            raise InputError(f"config file {path} does not exist")
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"config file {path} is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InputError(f"config file {path} must hold a JSON object of settings")
        updates.update(loaded)
    updates.update(overrides or {})
    for key, value in updates.items():
        if key not in FIELD_TYPES:
            raise SettingError(f"unknown training setting {key!r}; known: {', '.join(sorted(FIELD_TYPES))}")
        if key == "preset":
            continue
        kind = FIELD_TYPES[key]
        try:
            cfg[key] = parse_value(value, kind) if isinstance(value, str) else _coerce(value, kind, key)
        except ValueError as exc:
            raise SettingError(f"bad value for {key}: {exc}") from exc
    out = TrainConfig(**cfg)
    _validate(out)
    return out


def _coerce(value: Any, kind: Any, key: str) -> Any:
    if kind in (float, "float") and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in (int, "int") and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in (int, "int") and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind in (bool, "bool") and isinstance(value, bool):
        return value
    if kind in (str, "str") and isinstance(value, str):
        return value
    raise ValueError(f"{value!r} is not a {kind}")


CHECKS: list[tuple[Any, str]] = [  # (what must hold, what to say when it does not), in this order
    (lambda c: c.epochs >= 1, "epochs must be ≥ 1"),
    (lambda c: c.batch_size >= 2, "batch_size must be ≥ 2 (batch normalisation needs two samples)"),
    (lambda c: c.lr > 0, "lr must be > 0"),
    (lambda c: min(c.width, c.dense, c.hidden) >= 1, "width, dense and hidden must be ≥ 1"),
    (lambda c: 0 <= c.dropout < 1, "dropout must be in [0, 1)"),
    (lambda c: c.optimizer in ("adam", "adamw", "sgd"), "optimizer must be adam, adamw or sgd"),
    (lambda c: c.schedule in ("constant", "onecycle", "cosine"), "schedule must be constant, onecycle or cosine"),
    (lambda c: 0 < c.warmup < 1, "warmup must be in (0, 1)"),
    (lambda c: c.precision in ("auto", "fp32", "bf16"), "precision must be auto, fp32 or bf16"),
    (lambda c: c.pairs in ("drawn", "batch"), "pairs must be drawn or batch"),
    (lambda c: 0 <= c.identity_floor < 1, "identity_floor must be in [0, 1)"),
    (lambda c: not (c.input_size != 0 and c.input_size < 32
                    or c.siamese_input_size not in (-1, 0) and c.siamese_input_size < 32),
     "input_size and siamese_input_size must be 0 (the full 128) or at least 32 (five poolings)"),
    (lambda c: c.mixup >= 0, "mixup must be ≥ 0"),
    (lambda c: 0 <= c.erase <= 1, "erase must be in [0, 1]"),
    (lambda c: 0 <= c.identity_warmup <= 1, "identity_warmup must be in [0, 1]"),
]


def _validate(cfg: TrainConfig) -> None:
    problems = [message for holds, message in CHECKS if not holds(cfg)]
    if problems:
        raise SettingError("bad training settings: " + "; ".join(problems))


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """`["lr=1e-3", "epochs=5"]` → {"lr": "1e-3", "epochs": "5"} with a clear error for a missing '='."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SettingError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


__all__ = ["TrainConfig", "PRESETS", "make_config", "parse_sets"]
