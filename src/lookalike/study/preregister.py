"""`lookalike study preregister`: the plan written down before any data, and every way the study departed from it.

`preregistration.json` is the plan for machines (hypotheses, design, rules, sample
size, analysis), `preregistration.md` the same for people, with the SHA-256 of the
JSON so anyone can check that the plan was not edited later. The hash is also kept
in the study database at registration time. `deviations()` compares the plan with
what was run and analysed; `study analyze` lists the result and the report shows it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ..io import atomic_write_bytes, atomic_write_text, read_json
from ..runfolder import Run
from . import stats
from .analysis.scoring import GROUP_LABELS, PAPER
from .rules import Rules, exclusion_rules
from .store import Design, Store

FORMAT = "lookalike-preregistration/1"
ASSUMED_SD = 0.15  # SD of a participant's accuracy: binomial spread of 20 pairs at 58% is 0.11; people differ too
ALPHA, POWER = 0.05, 0.8
PAPER_EFFECT = PAPER["post"]["accuracy"] - PAPER["pre"]["accuracy"]
EXPERT_EFFECT = PAPER["expert"]["accuracy"] - PAPER["pre"]["accuracy"]


class PreregistrationError(ValueError):
    """A preregistration that cannot be written now (data already in, one already there)."""


def json_path(run: Run) -> Path:
    return run.study / "preregistration.json"


def md_path(run: Run) -> Path:
    return run.study / "preregistration.md"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample_size(effect_size: float | None) -> dict[str, Any]:
    """Participants per group for 80% power at alpha 0.05 (two-sided two-sample t-test), from the paper's effects."""
    d_hint = effect_size if effect_size is not None else PAPER_EFFECT / ASSUMED_SD
    d_expert = EXPERT_EFFECT / ASSUMED_SD
    n_hint = stats.participants_for_power(d_hint, POWER, ALPHA)
    n_expert = max(stats.participants_for_power(d_expert, POWER, ALPHA) or 2, PAPER["expert"]["participants"])
    source = ("given with --effect-size" if effect_size is not None else
              f"the paper's +{100 * PAPER_EFFECT:.1f} points (52.67% -> 63.67%) over an assumed SD of a "
              f"participant's accuracy of {ASSUMED_SD} (the binomial spread of 20 pairs at 58% is 0.11; "
              "people also differ, so the SD is taken larger)")
    return {
        "per_group": {"pre": n_hint, "post": n_hint, "expert": n_expert},
        "power_analysis": {
            "test": "two-sided two-sample t-test (statsmodels TTestIndPower), the permutation test's "
                    "large-sample equivalent", "alpha": ALPHA, "power": POWER,
            "hint_effect_cohens_d": round(d_hint, 4), "hint_effect_source": source,
            "expert_effect_cohens_d": round(d_expert, 4),
            "expert_note": f"experts vs pre-test at the paper's +{100 * EXPERT_EFFECT:.1f} points; at least the "
                           f"paper's {PAPER['expert']['participants']} experts",
        },
        "stopping_rule": "recruit until every group has this many participants who pass the exclusion rules; "
                         "no analysis of the hypotheses before then",
    }


def plan(run: Run, store: Store, effect_size: float | None, trials: int, n_boot: int, n_permutations: int,
         seed: int) -> dict[str, Any]:
    design, rules, names = store.design(), store.rules(), store.names()
    recruitment = store.recruitment()
    return {
        "format": FORMAT,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "title": f"Does a hint from an interpretable network help novices tell {names[0]} and {names[1]} apart?",
        "people": names,
        "hypotheses": [
            {"id": "H1", "primary": True, "comparison": ["post", "pre"], "direction": "greater",
             "statement": "Novices told where to look (post-test, shown the hint) answer more pairs correctly "
                          "than novices without the hint (pre-test)."},
            {"id": "H2", "primary": False, "comparison": ["expert", "pre"], "direction": "greater",
             "statement": "Experts (who know both people) answer more pairs correctly than pre-test novices."},
        ],
        "design": {**design.__dict__, "groups": dict(GROUP_LABELS),
                   "stimuli_per_person": {str(k): len(v) for k, v in store.stimuli().items()},
                   "stimuli_sha256": store.meta("stimuli_sha256"),
                   "summary": f"between subjects; {2 * design.train_per_person} named training photos at "
                              f"{design.train_ms} ms, then {design.pairs} pairs at {design.pair_ms} ms (half "
                              f"the same person) and {design.catch_trials} catch trials (one photo twice); "
                              "each photo on screen for the whole number of frames nearest its time"},
        "assignment": {"rule": rules.assignment_text(), "novice_max": rules.novice_max,
                       "expert_min": rules.expert_min},
        "rules": rules.to_dict(),
        "exclusions": [{"id": r.id, "rule": r.text} for r in exclusion_rules(rules)],
        "sample_size": sample_size(effect_size),
        "analysis": {
            "primary": "H1: post vs pre, difference in correct answers per participant (equation 1)",
            "test": "two-sided permutation test (exact when every relabelling fits the budget), Holm-adjusted "
                    "over the three comparisons (post-pre, expert-pre, expert-post); H1 is supported when the "
                    "difference is positive and its Holm-adjusted p < alpha",
            "alpha": ALPHA, "trials_per_participant": trials, "bootstrap_resamples": n_boot,
            "permutations": n_permutations, "seed": seed,
            "also_reported": "Wilson and bootstrap 95% intervals, Cohen's d, Cliff's delta, d' and criterion",
        },
        "recruitment": {"public_link": "/join (Prolific: ?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}"
                                       "&SESSION_ID={{%SESSION_ID%}}; others: ?pid=ID)",
                        "completion_url": recruitment.completion_url or None,
                        "max_participants": recruitment.max_participants},
        "data_at_registration": _people_started(store),
    }


def _people_started(store: Store) -> int:
    """Real (not simulated) participants who had consented when the plan was written."""
    return int(store.query("SELECT COUNT(*) AS n FROM participants WHERE consent_at IS NOT NULL "
                           "AND simulated = 0")[0]["n"])


def preregister(run: Run, store: Store, effect_size: float | None = None, trials: int = 20, n_boot: int = 10_000,
                n_permutations: int = 20_000, seed: int = 0, force: bool = False) -> dict[str, Any]:
    """Write study/preregistration.json and .md and record the JSON's hash; returns the plan and its hash."""
    if effect_size is not None and not 0 < effect_size < 10:
        raise PreregistrationError(f"--effect-size must be a Cohen's d between 0 and 10, not {effect_size}")
    if json_path(run).exists() and not force:
        raise PreregistrationError(f"{json_path(run)} exists: a preregistration is written once (pass --force to "
                                   "replace it; the analysis then lists the change as a deviation)")
    started = _people_started(store)
    if started and not force:
        raise PreregistrationError(f"{started} participant(s) have already started: a preregistration is written "
                                   "before any data (pass --force to write one anyway; the analysis lists it as a "
                                   "deviation)")
    registered = plan(run, store, effect_size, trials, n_boot, n_permutations, seed)
    data = (json.dumps(registered, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    atomic_write_bytes(json_path(run), data)
    digest = hashlib.sha256(data).hexdigest()
    previous = store.meta("preregistration")
    store.set_meta("preregistration", {"sha256": digest, "at": time.time(),
                                       "replaced": (previous or {}).get("sha256")})
    atomic_write_text(md_path(run), markdown(registered, digest))
    return {"preregistration": str(json_path(run)), "markdown": str(md_path(run)), "sha256": digest,
            "sample_size": registered["sample_size"]["per_group"], "data_at_registration": started}


def markdown(p: dict[str, Any], digest: str) -> str:
    """The plan for people: every section of the JSON in words."""
    n = p["sample_size"]["per_group"]
    pa = p["sample_size"]["power_analysis"]
    lines = [f"# Preregistration: {p['title']}", "", f"Written {p['created_at']} by lookalike before data "
             f"collection ({p['data_at_registration']} participants had started).", "",
             f"SHA-256 of preregistration.json: `{digest}`", "", "## Hypotheses", ""]
    lines += [f"- **{h['id']}**{' (primary)' if h['primary'] else ''}: {h['statement']}" for h in p["hypotheses"]]
    d = p["design"]
    lines += ["", "## Design", "", d["summary"] + ".", "",
              f"Stimuli: {d['stimuli_per_person']} photos per person (SHA-256 of the list `{d['stimuli_sha256']}`).",
              "", "Groups: " + "; ".join(f"{k}: {v}" for k, v in d["groups"].items()) + ".", "",
              "## Who is a novice or an expert", "", p["assignment"]["rule"], "",
              "## Sample size", "",
              f"{n['pre']} pre-test and {n['post']} post-test novices and {n['expert']} experts, after exclusions. "
              f"Power analysis: {pa['test']}, alpha {pa['alpha']}, power {pa['power']}, Cohen's d "
              f"{pa['hint_effect_cohens_d']} ({pa['hint_effect_source']}); experts: d {pa['expert_effect_cohens_d']} "
              f"({pa['expert_note']}).", "", f"Stopping rule: {p['sample_size']['stopping_rule']}.", "",
              "## Exclusion rules", ""]
    lines += [f"- `{r['id']}`: {r['rule']}" for r in p["exclusions"]]
    a = p["analysis"]
    lines += ["", "## Planned analysis", "", f"Primary: {a['primary']}. {a['test']}. Alpha {a['alpha']}; "
              f"{a['trials_per_participant']} pairs per participant; {a['bootstrap_resamples']} bootstrap resamples, "
              f"{a['permutations']} permutations, seed {a['seed']}. Also reported: {a['also_reported']}.", "",
              "## Recruitment", "", f"Public link {p['recruitment']['public_link']}; at most "
              f"{p['recruitment']['max_participants']} participants; completion URL "
              f"{p['recruitment']['completion_url'] or '(none: the code is shown)'}.", ""]
    return "\n".join(lines)


# checking a study against its plan ---------------------------------------------------------
def _deviation(kind: str, what: str, planned: Any = None, actual: Any = None) -> dict[str, Any]:
    return {"kind": kind, "what": what, "planned": planned, "actual": actual}


def _compare(kind: str, planned: dict[str, Any], actual: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    return [_deviation(kind, f"{kind} setting {k!r} differs from the plan", planned.get(k), actual.get(k))
            for k in keys if planned.get(k) != actual.get(k)]


def deviations(run: Run, design: Design, rules: Rules, analysis: dict[str, Any],
               analysed: dict[str, int], checked: dict[str, bool], simulated: int,
               stimuli_sha256: str | None) -> dict[str, Any] | None:
    """Every way the study and its analysis departed from study/preregistration.json (None: no plan)."""
    path = json_path(run)
    if not path.is_file():
        return None
    digest = sha256(path)
    try:
        p = read_json(path)
    except ValueError as exc:
        return {"file": str(path), "sha256": digest, "deviations": [
            _deviation("plan", f"preregistration.json is not valid JSON ({exc})")]}
    out: list[dict[str, Any]] = []
    out += _registration_deviations(run, p, digest)
    keys = [k for k in Design.__dataclass_fields__]
    out += _compare("design", p.get("design") or {}, design.__dict__, keys)
    if stimuli_sha256 and (p.get("design") or {}).get("stimuli_sha256") not in (None, stimuli_sha256):
        out.append(_deviation("design", "the stimulus set differs from the registered one",
                              p["design"]["stimuli_sha256"], stimuli_sha256))
    out += _compare("rules", p.get("rules") or {}, rules.to_dict(), list(rules.to_dict()))
    planned_analysis = p.get("analysis") or {}
    out += _compare("analysis", planned_analysis, analysis, ["trials_per_participant", "bootstrap_resamples",
                                                             "permutations", "seed", "alpha"])
    for group, planned_n in ((p.get("sample_size") or {}).get("per_group") or {}).items():
        n = analysed.get(group, 0)
        if planned_n is not None and n != planned_n:
            out.append(_deviation("sample size", f"{group}: {n} participants analysed, {planned_n} planned "
                                                 f"({'fewer' if n < planned_n else 'more'} than planned)",
                                  planned_n, n))
    for rule, done in checked.items():
        if not done:
            out.append(_deviation("exclusions", f"the '{rule}' rule could not be checked: the data it needs "
                                                "(sessions.csv, catch trials or frame timing) are missing"))
    if simulated:
        out.append(_deviation("data", f"{simulated} of the analysed participants were simulated by code, "
                                      "not people", 0, simulated))
    return {"file": str(path), "sha256": digest, "registered_at": p.get("created_at"), "deviations": out}


def _registration_deviations(run: Run, p: dict[str, Any], digest: str) -> list[dict[str, Any]]:
    """Deviations about the plan itself: edited after registration, written after data, settings changed since."""
    out = []
    if p.get("format") != FORMAT:
        out.append(_deviation("plan", "preregistration.json is not in the format lookalike writes", FORMAT,
                              p.get("format")))
    if p.get("data_at_registration"):
        out.append(_deviation("plan", f"the plan was written after {p['data_at_registration']} participant(s) "
                                      "had started", 0, p["data_at_registration"]))
    db = run.study / "study.sqlite"
    if not db.is_file():
        return out
    store = Store(db)
    try:
        registered = store.meta("preregistration") or {}
        if registered.get("sha256") and registered["sha256"] != digest:
            out.append(_deviation("plan", "preregistration.json was changed after it was registered (its SHA-256 "
                                          "is not the one recorded in study.sqlite)", registered["sha256"], digest))
        if registered.get("replaced"):
            out.append(_deviation("plan", "the preregistration was written again (--force), replacing an "
                                          "earlier one", registered["replaced"], registered.get("sha256")))
        at = registered.get("at") if isinstance(registered.get("at"), float) else _timestamp(p.get("created_at"))
        if at is not None:
            changes = [c for c in store.meta("settings_log", []) if c["at"] > at]
            if changes:
                out.append(_deviation("settings", f"the study's settings were changed {len(changes)} time(s) "
                                                  "after registration", None, changes[-1]))
    finally:
        store.close()
    return out


def _timestamp(iso: str | None) -> float | None:
    try:
        return _dt.datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None
