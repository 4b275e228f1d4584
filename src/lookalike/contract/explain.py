"""`explain/`: activation maps per network and method, their sanity check, faithfulness and the region test (§5)."""

from __future__ import annotations

from .files import Artefact, JsonFile, RunFile
from .records import Record, Summary, shown


class Similarity(Record):
    """How alike the maps of the trained and of a randomised network are, averaged over the maps."""

    spearman_mean: float  # rank correlation with absolute values: what the maps show
    spearman_std: float | None = None
    spearman_signed_mean: float | None = None  # without absolute values (signed attributions)
    ssim_mean: float | None = None  # SSIM of the maps scaled to [0, 1]


class CascadeStep(Similarity):
    """The top `layers_randomised` weight layers re-initialised, from the output down to `down_to`."""

    layers_randomised: int
    down_to: str | None = None


class IndependentStep(Similarity):
    """One weight layer re-initialised alone (counted from the output), every other layer trained."""

    layer_index: int
    layer: str | None = None


class SanityResult(Record):
    """Cascading and independent weight randomisation of one network's method: does the map depend on what
    the network learned? (Adebayo et al. 2018)"""

    method: str | None = None
    passed: bool
    final_spearman: float  # every weight layer random: the verdict's number
    final_spearman_signed: float | None = None
    final_ssim: float | None = None
    top_layers_spearman: float | None = None  # with only the `top_layers` top layers random
    top_layers: int | None = None
    threshold: float | None = None
    n_maps: int | None = None
    weight_layers: int | None = None
    every_layer: bool | None = None  # the cascade was evaluated after every weight layer
    cascade: list[CascadeStep] = []
    independent: list[IndependentStep] = []

    def finding(self, name: str) -> str:
        """One sentence on what the check found for the method `name` (the log and the report say it)."""
        ssim = f"{self.final_ssim:.2f}" if self.final_ssim is not None else "n/a"
        text = (f"{name}: {'passes' if self.passed else 'FAILS'} (ρ = {self.final_spearman:.2f} with every weight "
                f"layer random, SSIM {ssim})")
        if self.top_layers_spearman is not None:
            text += f"; with the top {self.top_layers or 3} layers random ρ = {self.top_layers_spearman:.2f}"
            if self.top_layers_spearman >= 0.8:
                text += " (nearly unchanged, as Adebayo et al. found for guided backpropagation)"
        return text


class Sanity(Record):
    """explain/sanity.json: every checked `<network>-<method>` with the verdict."""

    threshold: float | None = None
    rule: str | None = None
    methods: dict[str, SanityResult] = {}
    passed: list[str] = []
    failed: list[str] = []
    not_checked: list[str] = []


class FaithfulnessResult(Record):
    """Deletion and insertion curves of one network's method, and the same for a random pixel order."""

    deletion_auc: float
    insertion_auc: float
    random_deletion_auc: float
    random_insertion_auc: float
    beats_random: bool
    n_units: int | None = None
    steps: int | None = None
    deletion_curve: list[float] = []
    insertion_curve: list[float] = []
    random_deletion_curve: list[float] = []
    random_insertion_curve: list[float] = []


class Faithfulness(Record):
    methods: dict[str, FaithfulnessResult] = {}


class FeatureDrop(Record):
    """Covering the feature (drop) and showing it alone on the mean face (gain), with 95 % intervals."""

    drop: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    needed: bool = False
    gain: float | None = None
    gain_ci_low: float | None = None
    gain_ci_high: float | None = None
    sufficient: bool = False
    # the further drop once the network's most needed feature (RegionTestResult.given) is covered already
    drop_given: float | None = None
    given_ci_low: float | None = None
    given_ci_high: float | None = None


class RegionTestResult(Record):
    """One network's region test: the fall of P(right answer) when each face feature is covered."""

    n_units: int
    features: dict[str, FeatureDrop] = {}
    needed: list[str] = []
    sufficient: list[str] = []
    given: str | None = None  # the feature covered first for each FeatureDrop.drop_given


class RegionTest(Record):
    rule: str | None = None
    networks: dict[str, RegionTestResult] = {}


class MethodRun(Record):
    """What `explain` did for one method of one network."""

    maps: str | None = None
    seconds: float | None = None
    sanity: SanityResult | None = None
    faithfulness: FaithfulnessResult | None = None
    figure: str | None = None


class NetworkRun(Record):
    """What `explain` did for one network (or why it skipped it)."""

    skipped: str | None = None
    n_units: int | None = None
    mean_target_probability: float | None = None
    test_accuracy: float | None = None
    near_chance: bool = False
    methods: dict[str, MethodRun] = {}
    region_test: RegionTestResult | None = None


class MethodInfo(Record):
    label: str
    about: str | None = None


class ExplainSummary(Summary):
    """`lookalike explain`: which maps exist and which of them can be trusted."""

    stage: str = "explain"
    seconds: float | None = shown("seconds", "seconds")
    networks: dict[str, NetworkRun] = {}
    maps: list[str] = []
    trusted_methods: list[str] = []  # maps that pass the sanity check (`<network>-<method>`)
    failed_methods: list[str] = []
    statement: str | None = None
    method_info: dict[str, MethodInfo] = {}
    sanity_rule: str | None = None
    log: list[str] = []


def map_name(network: str, method: str) -> str:
    """How the explain stage names one network's maps of one method (files, sanity.json keys): `<network>-<method>`."""
    return f"{network}-{method}"


def split_map_name(name: str) -> tuple[str, str]:
    """`<network>-<method>` → (network, method); a name without a network gives ("", name)."""
    network, _, method = name.partition("-")
    return (network, method) if method else ("", name)


EXPLAIN_SUMMARY = JsonFile("explain/summary.json", "explain", "trusted_methods, failed_methods, statement",
                           record=ExplainSummary)
SANITY = JsonFile("explain/sanity.json", "explain", '{threshold, rule, methods: {"<model>-<method>": {passed, '
                  "final_spearman, final_spearman_signed, final_ssim, top_layers_spearman, every_layer, cascade: "
                  "[{layers_randomised, down_to, spearman_mean, spearman_std, spearman_signed_mean, ssim_mean}], "
                  "independent: [{layer_index, layer, …same}]}}, passed: [...], failed: [...], not_checked: "
                  "[...]}: cascading and independent re-initialisation through every weight layer (Adebayo et "
                  "al. 2018)", record=Sanity)
FAITHFULNESS = JsonFile("explain/faithfulness.json", "explain", '{methods: {"<model>-<method>": {deletion_auc, '
                        "insertion_auc, random_deletion_auc, random_insertion_auc, beats_random, curves}}}",
                        record=Faithfulness)
REGION_TEST = JsonFile("explain/region_test.json", "explain", "{rule, networks: {<model>: {n_units, needed: [...], "
                       "sufficient: [...], given, features: {<feature>: {drop, ci_low, ci_high, needed, gain, "
                       "gain_ci_low, gain_ci_high, sufficient, drop_given, given_ci_low, given_ci_high}}}}}: each face "
                       "feature of region_n test faces (pairs: both faces) covered with the mean test face; drop = "
                       "fall of P(right answer); needed = 95 % bootstrap interval above 0; gain = rise of P(right "
                       "answer) over the mean face when only that feature is shown; sufficient = its interval above "
                       "0; drop_given = the further fall when the most needed feature (given) is covered already",
                       record=RegionTest)
EXPLAIN_FILES: list[RunFile] = [
    Artefact("explain/maps/{model}-{method}.npz", "explain", "maps (N×128×128 float32, ≥ 0), paths (relative to "
             "data/), model, method, target; per row: pair, side (Siamese: rows 2k, 2k+1 = the two images of pair k; "
             "-1 for single images), label (person shown), prob; embedding-occlusion.npz, embedding-rise.npz: "
             "black-box maps of the baseline, 0 outside the part of the face its chip reads"),
    Artefact("explain/figure7_{model}-{method}.png", "explain", "Figure-7 grids (title says when the method failed "
             "the sanity check)"),
    Artefact("explain/checks/", "explain", "per model-method results with the settings they were computed with "
             "(resume)"),
    SANITY, FAITHFULNESS, REGION_TEST,
    Artefact("explain/sanity.png", "explain", "sanity.png, faithfulness.png, region_test.png: the three checks"),
    EXPLAIN_SUMMARY,
]


def sanity_verdicts(sanity: Sanity | None) -> dict[str, bool]:
    """`<network>-<method>` → passed, for every checked map."""
    return {} if sanity is None else {k: v.passed for k, v in sanity.methods.items()}


