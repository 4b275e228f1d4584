"""`models/<kind>/`: the trained networks (classifier, siamese) and the face-embedding baseline (embedding).

The summaries are meant to grow: every field but the model's name is
optional, so a stage can add one (declare it here, with `shown(...)` when the
report should list it) without breaking older run folders.
"""

from __future__ import annotations

from typing import Any

from .files import Artefact, CsvFile, JsonFile, JsonlFile, RunFile
from .records import Record, Summary, shown

NETWORKS = ("classifier", "siamese")
KINDS = (*NETWORKS, "embedding")
PAPER_TEST_ACCURACY = {"classifier": 0.873, "siamese": 0.8504}  # paper §4.1 and §4.3


class Scores(Record):
    """Two-class test metrics at threshold 0.5 (class 1 = the second person, or "different" for pairs)."""

    n: int | None = None
    accuracy: float | None = None
    balanced_accuracy: float | None = None
    roc_auc: float | None = None
    confusion_matrix: list[list[int]] | None = None
    confusion_labels: dict[str, Any] | None = None
    loss: float | None = None
    ece: float | None = None  # expected calibration error (15 bins)
    ece_before_calibration: float | None = None


class Epoch(Record):
    """One line of metrics.jsonl: one training epoch."""

    epoch: int
    train_loss: float | None = None
    train_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    lr: float | None = None
    seconds: float | None = None
    images_per_s: float | None = None
    identity_accuracy: float | None = None  # Siamese identity warm-up: the probe on the embedding


class Calibration(Record):
    """Temperature scaling fitted on the validation split (saved with the network); answers stay the same."""

    method: str | None = None
    temperature: float | None = None
    val_ece_before: float | None = None  # expected calibration error on the validation split, before
    val_ece_after: float | None = None  # and after scaling


class ModelSummary(Summary):
    """What every trained model reports; `test` holds the test metrics of its own task."""

    model: str
    seed: int | None = None
    device: str | None = None
    test_accuracy: float | None = shown("test accuracy", "percent")
    paper_test_accuracy: float | None = None
    test: Scores | None = None
    test_unit: str | None = None  # images | pairs
    n_train: int | None = shown("training images")
    n_val: int | None = None
    n_test: int | None = None

    def paper_accuracy(self) -> float | None:
        return self.paper_test_accuracy or PAPER_TEST_ACCURACY.get(self.model)


class NetworkSummary(ModelSummary):
    """`lookalike train --model classifier|siamese`: the best epoch's network on the test split (or pairs)."""

    preset: str | None = shown("preset", "text")
    precision: str | None = None
    world_size: int | None = None
    calibration: Calibration | None = None
    epochs: int | None = shown("epochs")
    epochs_run: int | None = shown("epochs run")  # fewer than `epochs` once validation accuracy reached 100 %
    best_epoch: int | None = shown("best epoch (validation)")
    best_val_accuracy: float | None = shown("best validation accuracy", "percent")
    parameters: int | None = shown("parameters")
    seconds_this_session: float | None = shown("training time", "seconds")
    images_per_s: float | None = shown("images per second")
    final: Epoch | None = None


class BaselineSummary(ModelSummary):
    """`lookalike train --model embedding`: dlib's ResNet embedding with a linear head, and pair distances."""

    backbone: str | None = shown("backbone", "text")
    accuracy: float | None = None
    balanced_accuracy: float | None = None
    roc_auc: float | None = None
    confusion_matrix: list[list[int]] | None = None
    val_accuracy: float | None = None
    C: float | None = None
    pair_accuracy: float | None = shown("same/different pairs: accuracy", "percent")
    pair_balanced_accuracy: float | None = None
    pair_roc_auc: float | None = None
    pair_test: Scores | None = None
    pair_threshold: float | None = None
    pair_slope: float | None = None
    pair_accuracy_dlib_threshold: float | None = None
    pair_accuracy_via_classifier: float | None = None
    n_val_pairs: int | None = None
    n_test_pairs: int | None = None
    test_pairs_source: str | None = None
    embed_seconds: float | None = None
    seconds: float | None = shown("seconds", "seconds")


class ModelInfo(Record):
    """`model.json` beside the weights: what to build before loading them."""

    kind: str
    arch: dict[str, Any] = {}
    epoch: int | None = None
    identities: list[str] | None = None


class Pair(Record):
    """One test pair: two data paths and whether they show one person."""

    a: str
    b: str
    same: int


class ScoredPair(Pair):
    distance: float | None = None


class CSearchRow(Record):
    C: float
    val_balanced_accuracy: float
    val_log_loss: float


class Prediction(Record):
    path: str
    label: int
    pred: int
    p1: float


NETWORK_SUMMARY = JsonFile("models/{kind}/summary.json", "train RUN --model", "test accuracy, balanced accuracy, "
                           "ROC AUC, confusion matrix", record=NetworkSummary)
BASELINE_SUMMARY = JsonFile("models/embedding/summary.json", "train RUN --model embedding", "the keys above plus "
                            "pair_accuracy, pair_roc_auc, pair_threshold, pair_test", record=BaselineSummary)
MODEL_INFO = JsonFile("models/{kind}/model.json", "train RUN --model", "{kind, arch} (baseline: arch holds C, "
                      "scale, pair threshold)", record=ModelInfo)
METRICS = JsonlFile("models/{kind}/metrics.jsonl", "train RUN --model", "one line per epoch: train/val loss and "
                    "accuracy, lr, seconds, images/s; Siamese during its identity warm-up also identity_accuracy",
                    row=Epoch)
TEST_PAIRS = CsvFile("models/siamese/test_pairs.csv", "train RUN --model siamese", "the fixed test pairs (a, b, same)",
                     row=Pair)
BASELINE_PAIRS = CsvFile("models/embedding/test_pairs.csv", "train RUN --model embedding", "the pairs it was scored "
                         "on (a, b, same, distance): the Siamese ones when present", row=ScoredPair)
C_SEARCH = CsvFile("models/embedding/c_search.csv", "train RUN --model embedding", "validation score of each C",
                   row=CSearchRow)
TEST_PREDICTIONS = CsvFile("models/embedding/test_predictions.csv", "train RUN --model embedding", "path, label, "
                           "pred, p1 of every test face", row=Prediction)

TRAINING_FILES: list[RunFile] = [
    Artefact("models/{kind}/model.safetensors", "train RUN --model", "weights"), MODEL_INFO,
    Artefact("models/{kind}/checkpoint.pt", "train RUN --model", "last epoch (for --resume)"), METRICS,
    Artefact("models/{kind}/curves_accuracy.png", "train RUN --model", "Figure 3 (curves_loss.png: Figure 4)"),
    TEST_PAIRS, NETWORK_SUMMARY,
    Artefact("models/embedding/embeddings.npz", "train RUN --model embedding", "cache: paths, stamps (size:mtime:"
             "landmarks crc), emb (N×128)"),
    BASELINE_PAIRS, C_SEARCH, TEST_PREDICTIONS,
    Artefact("models/embedding/pair_distances.png", "train RUN --model embedding", "distances of same and different "
             "test pairs with the threshold"),
    BASELINE_SUMMARY,
]


def model_summary(kind: str) -> JsonFile:
    """The summary file of a model kind (the baseline's has more fields)."""
    return BASELINE_SUMMARY if kind == "embedding" else NETWORK_SUMMARY
