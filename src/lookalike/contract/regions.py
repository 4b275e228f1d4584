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
    n_units: int | None = None


class Evidence(Record):
    sources_used: list[str] = []
    sources_left_out: dict[str, str] = {}
    consensus_feature_scores: dict[str, float | None] = {}
    feature_order: list[str] = []
    per_source_features: dict[str, list[FeatureRow]] = {}
    rule: str | None = None


class RegionsSummary(Summary):
    """`lookalike regions`: the hint, what it rests on, and every source's ranking."""

    stage: str = "regions"
    seconds: float | None = None
    hint: str = shown("hint", "text", default=...)
    look_at: list[str] = shown("look at", "list", default_factory=list)
    less: list[str] = shown("tell them apart less", "list", default_factory=list)
    trusted: bool = True
    warning: str | None = None
    tentative: bool = False
    not_confirmed: list[str] = []  # features the maps favour that the region test does not confirm
    region_test: dict[str, NeededFeatures] | None = None
    evidence: Evidence = Evidence()
    top_regions: dict[str, list[str]] = {}
    agreement: dict[str, dict[str, float | None]] = {}
    planted_recovery: dict[str, Recovery] | None = None
    sources: list[SourceInfo] = []
    files: list[str] = []


REGIONS_SUMMARY = JsonFile("regions/summary.json", "regions", "hint, look_at, less, trusted, warning, evidence, "
                           "top_regions, agreement, not_confirmed (features the maps favour that the region test "
                           "does not), region_test (needed features per network), sources (each with its network, "
                           "sanity and region_test ∈ agrees|disagrees|n/a: is its top feature one its network needs?)",
                           record=RegionsSummary)
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
