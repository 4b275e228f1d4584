"""Turn region scores into the sentence people are given (paper §6: "focus on the forehead and cheekbones").

Only evidence we can trust is used: the maps of methods that passed the
sanity check, plus the fooling aggregate (a different kind of evidence: where
the attack had to change the face). A feature is named when its mean score
over those sources is at least LOOK_MIN (20 % more attribution than its area)
and at least LOOK_FRACTION of the best feature's score, at most three of them;
the two features with the lowest scores below 1 are named as the ones that
"tell them apart less".

Maps show where gradients are large, and gradients are drawn to high-contrast
parts (eyes, brows) whether or not the network needs them. So when the region
test of `lookalike explain` is at hand (each feature covered with the mean
face: does the answer change?), a feature is named only if a trusted network
needs it, and a feature a network needs is never called one that tells them
apart less. Features the maps favour but the test does not confirm are
reported as `unconfirmed`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..face.regions import PLAIN

LOOK_MIN = 1.2
LOOK_FRACTION = 0.6
MAX_LOOK = 3
MAX_LESS = 2
PLURAL = {"eyes", "eyebrows", "cheekbones", "cheeks"}


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def choose(scores: dict[str, dict[str, float]], needed: set[str] | None = None) -> dict[str, Any]:
    """`scores[source][feature]` → the features to look at and to mind less, with the consensus scores.

    `needed`: the features the region test found a trusted network needs (None: no region test)."""
    features = sorted({f for s in scores.values() for f in s})
    consensus = {f: float(np.nanmean([scores[s].get(f, np.nan) for s in scores])) for f in features}
    ranked = sorted(features, key=lambda f: -np.nan_to_num(consensus[f], nan=-np.inf))
    if not ranked:
        return {"look": [], "less": [], "consensus": {}, "ranked": [], "tentative": True, "unconfirmed": []}
    ok = (lambda f: True) if needed is None else (lambda f: f in needed)
    best = consensus[ranked[0]]
    strong = [f for f in ranked if consensus[f] >= max(LOOK_MIN, LOOK_FRACTION * best)]
    look = [f for f in strong if ok(f)][:MAX_LOOK]
    tentative = not look
    look = look or [f for f in ranked if ok(f)][:1] or ranked[:1]
    less = [f for f in reversed(ranked) if consensus[f] < 1.0 and f not in look and not (needed and f in needed)]
    return {"look": look, "less": less[:MAX_LESS], "consensus": consensus, "ranked": ranked,
            "tentative": tentative, "unconfirmed": [f for f in strong if not ok(f)]}


def from_region_test(tests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The hint from the region test alone (when no map can be trusted): the features a network needs, by their
    largest drop; the least needed two as the ones that tell them apart less."""
    drop: dict[str, float] = {}
    for test in tests.values():
        for f, row in test["features"].items():
            drop[f] = max(drop.get(f, -np.inf), float(np.nan_to_num(row["drop"], nan=-np.inf)))
    needed = {f for test in tests.values() for f in test["needed"]}
    ranked = sorted(drop, key=lambda f: -drop[f])
    look = [f for f in ranked if f in needed][:MAX_LOOK]
    less = [f for f in reversed(ranked) if f not in needed][:MAX_LESS]
    return {"look": look, "less": less, "consensus": drop, "ranked": ranked, "tentative": not look,
            "unconfirmed": []}


def sentence(look: list[str], less: list[str]) -> str:
    """Plain words, e.g. "Look at the forehead and the cheekbones; the eyes and the mouth tell them apart less."."""
    if not look:
        return "Look at the whole face."
    text = f"Look at {join_words([PLAIN.get(f, f) for f in look])}"
    if less:
        verb = "tell" if len(less) > 1 or less[0] in PLURAL else "tells"
        text += f"; {join_words([PLAIN.get(f, f) for f in less])} {verb} them apart less"
    return text + "."
