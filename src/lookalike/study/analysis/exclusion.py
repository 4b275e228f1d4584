"""Who is analysed, in which group: the declared rules of `study/rules.py` applied to the exported data.

Reads `sessions.csv` (questionnaire, hint, display, server-clock duration) and
`training.csv` beside `trials.csv` when they exist, and the study's settings
from `study/config.json` (written by `study export`). A hand-made trials.csv
alone still analyses: its groups stand as written and the rules that need the
missing files are reported as not checked.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...io import read_csv, read_json
from ..rules import Decision, Rules, Session, decide, off_by_more_than_a_frame, on_screen_s, tally
from ..store import Design


def study_settings(folder: Path) -> tuple[Design, Rules]:
    """The design and rules the study ran with (config.json of `study export`), or the defaults."""
    path = folder / "config.json"
    config = read_json(path) if path.is_file() else {}
    design = Design(**{k: v for k, v in (config.get("design") or {}).items() if k in Design.__dataclass_fields__})
    return design, Rules.from_dict(config.get("rules"))


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def read_optional(path: Path) -> list[dict[str, str]] | None:
    if not path.is_file():
        return None
    try:
        return read_csv(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def build_sessions(rows: list[dict[str, Any]], sessions: list[dict[str, str]] | None,
                   training: list[dict[str, str]] | None, design: Design, trials_per_participant: int
                   ) -> list[Session]:
    """One rules record per participant in trials.csv, from all three exports."""
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_person[row["participant"]].append(row)
    info = {s["participant"]: s for s in sessions or []}
    shown_training: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    for t in training or []:
        shown = _float(t.get("shown_ms"))
        if shown is not None:
            shown_training[t["participant"]].append((shown, _float(t.get("frame_ms"))))
    out = []
    for pid, trials in by_person.items():
        real = [t for t in trials if not t["catch"]]
        catch = [t for t in trials if t["catch"] and t["answer"]]
        answered = [t for t in real if t["answer"]]
        s = info.get(pid)
        off = [off_by_more_than_a_frame(t["shown_ms"], design.pair_ms, t["frame_ms"]) for t in trials if t["answer"]]
        off += [off_by_more_than_a_frame(v, design.train_ms, f) for v, f in shown_training.get(pid, [])]
        session = Session(
            participant=pid, arm=trials[0]["group"],
            complete=all(t["complete"] for t in trials) and len(answered) >= trials_per_participant,
            catch_answers=[t["answer"] == t["truth"] for t in catch],
            presentations_off=[bool(o) for o in off if o is not None])
        if s is not None:
            session.hint_seen = s.get("hint_seen") == "1"
            session.familiarity = (s.get("familiarity_a") or None, s.get("familiarity_b") or None)
            session.simulated = s.get("simulated") == "1"
            session.duration_s = _float(s.get("duration_s"))
        elif sessions is not None:
            session.familiarity = (None, None)  # sessions.csv exists but has no row: no answers given
        out.append(session)
    return out


def apply_rules(rows: list[dict[str, Any]], source: Path, study_folder: Path,
                trials_per_participant: int) -> tuple[list[Decision], dict[str, Any], list[dict[str, Any]]]:
    """Decide every participant; return the decisions, the counts for the summary, and the rows to score.

    The rows to score are the real pairs (no catch trials) of participants no rule excludes, with the
    group the rules assigned; participants excluded only for being unfinished stay in, so the scoring
    counts them per group as before.
    """
    design, rules = study_settings(study_folder)
    sessions = read_optional(source.parent / "sessions.csv")
    training = read_optional(source.parent / "training.csv")
    records = build_sessions(rows, sessions, training, design, trials_per_participant)
    decisions = [decide(s, rules, on_screen_s(design)) for s in records]
    by_id = {d.participant: d for d in decisions}
    arms = {s.participant: s.arm for s in records}
    keep = []
    for row in rows:
        d = by_id[row["participant"]]
        if row["catch"] or (d.excluded_by and d.excluded_by != ["incomplete"]):
            continue
        keep.append(row | {"group": d.group or arms[row["participant"]]})
    counts = tally(decisions, rules)
    counts["rules_settings"] = rules.to_dict()
    counts["assignment_rule"] = rules.assignment_text()
    counts["checked"] = {"familiarity": sessions is not None, "catch": any(r["catch"] for r in rows),
                         "too_fast": sessions is not None,
                         "display": any(s.presentations_off for s in records)}
    counts["reassigned"] = _reassigned(records, decisions)
    return decisions, counts, keep


def _reassigned(records: list[Session], decisions: list[Decision]) -> dict[str, int]:
    """How many participants the rules put in another group than the one the server ran ('pre -> expert': 1)."""
    out: dict[str, int] = {}
    for s, d in zip(records, decisions):
        if d.included and d.group != s.arm:
            key = f"{s.arm} -> {d.group}"
            out[key] = out.get(key, 0) + 1
    return out


def excluded_per_group(decisions: list[Decision], rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per group the server ran: how many participants each rule excluded."""
    arm = {r["participant"]: r["group"] for r in rows}
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for d in decisions:
        for rule in d.excluded_by:
            group = d.group or arm[d.participant]
            out[group][rule] = out[group].get(rule, 0) + 1
    return dict(out)
