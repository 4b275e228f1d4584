"""`regions/`: from maps to named face regions, a ranking with intervals, and the hint for people (§6)."""

from __future__ import annotations

from typing import Literal

from .files import Artefact, CsvFile, JsonFile, RunFile, TextFile
from .records import Record, Summary, shown

Verdict = Literal["pass", "fail", "unchecked", "n/a"]


class RankingRow(Record):
    """One source's score for one region: attribution share ÷ area share (1 = no preference), with its interval."""

    source: str
    region: str
    rank: int
    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    attribution_share: float | None = None
    area_share: float | None = None
    sanity: Verdict | None = None


class FeatureRow(Record):
    """The same for the plain-language features (left and right halves joined: cheekbones, cheeks …)."""

    source: str
    feature: str
    rank: int
    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    attribution_share: float | None = None
    area_share: float | None = None


class Recovery(Record):
    """How much of a source's attribution falls on the planted difference (synthetic data only)."""

    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None


class SourceInfo(Record):
    """One source of region scores: a map file of one network and method, or the fooling aggregate."""

    source: str
    kind: Literal["map", "fooling"]
    network: str | None = None  # the network whose maps these are (None for the fooling aggregate)
    file: str | None = None
    sanity: Verdict | None = None
    region_test: Literal["agrees", "disagrees", "n/a"] | None = None
    used_for_hint: bool = False
    n_images: int | None = None
    dropped_empty: int | None = None


class NeededFeatures(Record):
    needed: list[str] = []
    sufficient: list[str] = []
    n_units: int | None = None


class Evidence(Record):
    sources_used: list[str] = []  # "region-test" first when the region test names the features
    sources_left_out: dict[str, str] = {}  # source → why
    drops: dict[str, float] = {}  # named feature → its largest drop of the right answer over the networks
    gains: dict[str, float] = {}  # named feature → its largest gain of the right answer when shown alone
    maps_illustrating: dict[str, list[str]] = {}  # named feature → the trusted maps that rank it in their top 3
    rule: str | None = None


class Interval(Record):
    """A feature's drop when covered and gain when shown alone, with their 95 % intervals."""

    drop: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    gain: float | None = None
    gain_ci_low: float | None = None
    gain_ci_high: float | None = None


class RestsOn(Record):
    """What the hint rests on: region-test units per network, the named features' drops, who agrees."""

    units: dict[str, int] = {}
    features: dict[str, dict[str, Interval]] = {}  # feature → network → drop with its 95 % interval
    networks_agreeing: dict[str, list[str]] = {}  # feature → the networks (or "maps") that name it
    tentative: bool = False
    tentative_because: list[str] = []


class NetworkQuality(Record):
    """Does a trained network tell the two people apart better than chance? (one-sided binomial test)"""

    test_accuracy: float | None = None
    n_test: int | None = None
    unit: str | None = None
    p_value: float | None = None
    better_than_chance: bool = True
    note: str | None = None


class RegionsSummary(Summary):
    """`lookalike regions`: the hint, what it rests on, and every source's ranking."""

    stage: str = "regions"
    seconds: float | None = None
    hint: str = shown("hint", "text", default=...)
    look_at: list[str] = shown("look at", "list", default_factory=list)  # ranked
    avoid: list[str] = shown("do not rely on", "list", default_factory=list)  # features shown to mislead
    no_hint: bool = False  # no network better than chance: nothing to say
    basis: str | None = shown("the hint rests on", "text")  # region test | maps (…) | none
    tentative: bool = False
    tentative_because: list[str] = []
    rests_on: RestsOn | None = None
    networks: dict[str, NetworkQuality] = {}
    trusted: bool = True
    warning: str | None = None
    not_confirmed: list[str] = []  # top features of maps the hint does not name
    region_test: dict[str, NeededFeatures] | None = None
    evidence: Evidence = Evidence()
    top_regions: dict[str, list[str]] = {}
    agreement: dict[str, dict[str, float | None]] = {}
    planted_recovery: dict[str, Recovery] | None = None
    sources: list[SourceInfo] = []
    files: list[str] = []


REGIONS_SUMMARY = JsonFile("regions/summary.json", "regions", "hint, look_at (ranked), avoid (features shown to "
                           "mislead), no_hint, tentative, tentative_because, basis (region test | maps (…) | none), "
                           "rests_on {units, features: {<feature>: {<model>: {drop, ci_low, ci_high, gain, gain_ci_low, "
                           "gain_ci_high}}}, "
                           "networks_agreeing}, networks {<model>: {test_accuracy, n_test, p_value, "
                           "better_than_chance}}, trusted, warning, evidence, top_regions, agreement, not_confirmed "
                           "(top features of maps the hint does not name), region_test (needed and sufficient "
                           "features per network), sources (each with its network, sanity and region_test ∈ "
                           "agrees|disagrees|n/a). The hint names the features whose covering drops the right "
                           "answer, or which shown alone on the mean face lift it by >= 0.05 (95 % interval above "
                           "0, >= 0.3 x the network's largest such effect) in a network better than chance "
                           "(binomial p < 0.01); maps and the fooling aggregate illustrate it and speak "
                           "only when the region test names nothing (then tentative). No network better than "
                           "chance: no hint (hint.txt says so)", record=RegionsSummary)
RANKING = CsvFile("regions/ranking.csv", "regions", "source,region,rank,score,ci_low,ci_high,attribution_share,"
                  "area_share,sanity (score = attribution share ÷ area share; sanity ∈ pass|fail|unchecked|n/a)",
                  row=RankingRow)
FEATURE_RANKING = CsvFile("regions/features.csv", "regions", "the same for plain-language features (left+right joined: "
                   "cheekbones …)", row=FeatureRow)
HINT = TextFile("regions/hint.txt", "regions", "the sentence for the study's \"post\" group")
PLANTED = JsonFile("regions/planted.json", "regions", "synthetic data only: {source: {score, ci_low, ci_high, n}}, "
                   "the share of each map on the planted difference ÷ its area", record=Record)
REGIONS_FILES: list[RunFile] = [
    Artefact("regions/regions.png", "regions", "named regions on the mean face"),
    RANKING, FEATURE_RANKING,
    Artefact("regions/ranking.png", "regions", "bars with 95 % bootstrap intervals (agreement.png: Spearman agreement "
             "between sources)"),
    HINT, Artefact("regions/hint.png", "regions", "the mean face with the hinted regions lit"), PLANTED,
    REGIONS_SUMMARY,
]
