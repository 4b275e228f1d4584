"""The study's declared rules: who is a novice or an expert, and who is excluded from the analysis.

This is the one place these rules live. The study app reads it to decide who sees the hint, `study
analyze` to assign groups and exclude participants (with a count per rule), `study preregister` to
write the rules down before any data, and the report to show them. Each rule's wording is built
from its settings, so what is written is what is applied.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

FAMILIARITY = ("never", "seen", "well")  # ordered: how well a participant knows one of the two people
FAMILIARITY_LABELS = {
    "never": "I have never seen this person",
    "seen": "I have seen this person (for example in a film or online)",
    "well": "I know this person well (I would recognise them anywhere)",
}
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
ARMS = ("pre", "post", "expert")  # what the server ran: no hint, hint, expert (no hint)
UNCLASSIFIED = "unclassified"  # an enrolled participant whose answers fit neither rule (sees no hint)


class RuleError(ValueError):
    """A rule setting that makes no sense (for example an expert threshold below the novice one)."""


@dataclass(frozen=True)
class Rules:
    """The study's assignment and exclusion settings (the paper's rule by default)."""

    novice_max: str = "never"  # a novice knows each of the two people at most this well
    expert_min: str = "well"  # an expert knows both at least this well
    catch_errors_allowed: int = 0  # catch trials (the same photo twice) a participant may get wrong
    min_duration_share: float = 0.8  # faster than this share of the design's on-screen time = too fast
    max_off_frame_share: float = 0.1  # share of presentations more than one frame off that excludes

    def __post_init__(self) -> None:
        for name in ("novice_max", "expert_min"):
            if getattr(self, name) not in FAMILIARITY:
                raise RuleError(f"{name} must be one of {', '.join(FAMILIARITY)}, not {getattr(self, name)!r}")
        if FAMILIARITY.index(self.expert_min) <= FAMILIARITY.index(self.novice_max):
            raise RuleError(f"expert_min ({self.expert_min}) must be a higher familiarity than novice_max "
                            f"({self.novice_max}): nobody may be both a novice and an expert")
        if isinstance(self.catch_errors_allowed, bool) or not isinstance(self.catch_errors_allowed, int) \
                or self.catch_errors_allowed < 0:
            raise RuleError("catch_errors_allowed must be a whole number >= 0")
        for name in ("min_duration_share", "max_off_frame_share"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise RuleError(f"{name} must be a share between 0 and 1, not {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Rules:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def role(self, familiarity_a: str | None, familiarity_b: str | None) -> str | None:
        """'novice', 'expert', or None when the answers fit neither rule (or are missing)."""
        if familiarity_a not in FAMILIARITY or familiarity_b not in FAMILIARITY:
            return None
        levels = (FAMILIARITY.index(familiarity_a), FAMILIARITY.index(familiarity_b))
        if max(levels) <= FAMILIARITY.index(self.novice_max):
            return "novice"
        if min(levels) >= FAMILIARITY.index(self.expert_min):
            return "expert"
        return None

    def assignment_text(self) -> str:
        return (f"novice: knows each of the two people at most '{FAMILIARITY_LABELS[self.novice_max]}'; "
                f"expert: knows both at least '{FAMILIARITY_LABELS[self.expert_min]}'. Novices are shown the "
                "hint (post) or not (pre), balanced at enrolment; experts are never shown it.")


@dataclass(frozen=True)
class Recruitment:
    """How participants arrive and leave: the public link's limit and the platform's completion code."""

    completion_code: str = ""
    completion_url: str = ""  # where to send a finished participant; {code} is replaced by the code
    max_participants: int = 1000  # the public link enrols at most this many

    def __post_init__(self) -> None:
        if self.completion_url and not self.completion_url.startswith(("https://", "http://")):
            raise RuleError(f"the completion URL must start with https:// or http://, not {self.completion_url[:40]!r}")
        if not isinstance(self.completion_code, str) or len(self.completion_code) > 64:
            raise RuleError("the completion code must be text of at most 64 characters")
        if isinstance(self.max_participants, bool) or not isinstance(self.max_participants, int) \
                or self.max_participants < 1:
            raise RuleError("max_participants must be a whole number >= 1")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Recruitment:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def redirect(self) -> str | None:
        return self.completion_url.replace("{code}", self.completion_code) if self.completion_url else None


@dataclass(frozen=True)
class Rule:
    id: str
    text: str


def exclusion_rules(rules: Rules) -> list[Rule]:
    """Every exclusion rule in the order they are checked, worded from their settings."""
    return [
        Rule("incomplete", "did not answer every pair, or the session is not marked complete"),
        Rule("no_questionnaire", "did not answer the familiarity questions"),
        Rule("familiarity", f"familiarity fits neither rule ({rules.assignment_text().split('. ')[0]})"),
        Rule("expert_saw_hint", "an expert by the familiarity rule who was shown the hint"),
        Rule("catch", f"answered more than {rules.catch_errors_allowed} catch trial(s) (the same photo shown "
                      "twice) wrongly"),
        Rule("too_fast", f"took less than {rules.min_duration_share:.0%} of the time the design keeps photos on "
                         "screen, from the end of the questionnaire (or the hint) to the last answer, by the "
                         "server's clock (simulated participants are exempt: code answers at machine speed)"),
        Rule("display", f"more than {rules.max_off_frame_share:.0%} of the session's photos or pairs were on "
                        "screen for a time more than one frame period away from their planned whole number of "
                        "frames, as the browser measured it"),
    ]


def planned_frames(target_ms: float, frame_ms: float) -> int:
    """The whole number of frames nearest to `target_ms` (at least one)."""
    return max(1, round(target_ms / frame_ms))


def off_by_more_than_a_frame(shown_ms: float, target_ms: float, frame_ms: float | None) -> bool | None:
    """Whether a presentation missed its planned frames by more than one frame period (None: unknown)."""
    if frame_ms is None or not math.isfinite(frame_ms) or frame_ms <= 0 or shown_ms is None \
            or not math.isfinite(shown_ms):
        return None
    return abs(shown_ms - planned_frames(target_ms, frame_ms) * frame_ms) > frame_ms


@dataclass
class Session:
    """What the rules need to know about one participant (from sessions.csv, trials.csv, training.csv)."""

    participant: str
    arm: str | None  # the group the server ran (pre, post, expert, unclassified), or trials.csv's group
    complete: bool = False
    hint_seen: bool | None = None  # None: not known (no sessions.csv): the arm decides
    familiarity: tuple[str | None, str | None] | None = None  # None: no questionnaire data at all
    simulated: bool = False
    duration_s: float | None = None
    catch_answers: list[bool] = field(default_factory=list)  # correct or not, per catch trial
    presentations_off: list[bool] = field(default_factory=list)  # per timed presentation with a frame period


@dataclass
class Decision:
    participant: str
    group: str | None  # the analysis group, None when excluded before a group could be assigned
    excluded_by: list[str]
    simulated: bool = False

    @property
    def included(self) -> bool:
        return not self.excluded_by


def decide(session: Session, rules: Rules, min_duration_s: float) -> Decision:
    """Assign the analysis group from the familiarity answers and the hint, and list every rule that excludes."""
    hits: list[str] = []
    if not session.complete:
        hits.append("incomplete")
    group = session.arm
    if session.familiarity is None:
        pass  # no questionnaire data at all (a hand-made trials.csv): the arm stands, noted as a deviation
    elif session.familiarity[0] is None or session.familiarity[1] is None:
        hits.append("no_questionnaire")
        group = None
    else:
        role = rules.role(*session.familiarity)
        hint = session.hint_seen if session.hint_seen is not None else session.arm == "post"
        if role is None:
            hits.append("familiarity")
            group = None
        elif role == "expert":
            group = "expert"
            if hint:
                hits.append("expert_saw_hint")
        else:
            group = "post" if hint else "pre"
    if len(session.catch_answers) - sum(session.catch_answers) > rules.catch_errors_allowed:
        hits.append("catch")
    if not session.simulated and session.duration_s is not None and session.complete \
            and session.duration_s < rules.min_duration_share * min_duration_s:
        hits.append("too_fast")
    if session.presentations_off and \
            sum(session.presentations_off) / len(session.presentations_off) > rules.max_off_frame_share:
        hits.append("display")
    return Decision(session.participant, group, hits, session.simulated)


def on_screen_s(design: Any) -> float:
    """Seconds the design keeps photos on screen: training photos plus every pair (catch trials too)."""
    pairs = design.pairs + getattr(design, "catch_trials", 0)
    return (2 * design.train_per_person * design.train_ms + pairs * design.pair_ms) / 1000


def tally(decisions: Iterable[Decision], rules: Rules) -> dict[str, Any]:
    """Counts per assignment and per rule (a participant may meet several rules; each is counted)."""
    decisions = list(decisions)
    by_rule = []
    for rule in exclusion_rules(rules):
        who = [d.participant for d in decisions if rule.id in d.excluded_by]
        by_rule.append({"id": rule.id, "rule": rule.text, "n": len(who), "participants": who})
    assigned: dict[str, int] = {}
    for d in decisions:
        if d.included:
            assigned[d.group or "?"] = assigned.get(d.group or "?", 0) + 1
    return {
        "participants": len(decisions),
        "included": sum(d.included for d in decisions),
        "excluded": sum(not d.included for d in decisions),
        "simulated": sum(d.simulated for d in decisions),
        "included_per_group": assigned,
        "rules": by_rule,
    }
