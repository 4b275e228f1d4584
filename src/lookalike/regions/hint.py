"""Turn region scores into the sentence people are given (paper §6: "focus on the forehead and cheekbones").

Only evidence we can trust is used: the maps of methods that passed the
sanity check, plus the fooling aggregate (a different kind of evidence: where
the attack had to change the face). A feature is named when its mean score
over those sources is at least LOOK_MIN (20 % more attribution than its area)
and at least LOOK_FRACTION of the best feature's score, at most three of them;
the two features with the lowest scores below 1 are named as the ones that
"tell them apart less".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .masks import PLAIN

LOOK_MIN = 1.2
LOOK_FRACTION = 0.6
MAX_LOOK = 3
MAX_LESS = 2
PLURAL = {"eyes", "eyebrows", "cheekbones", "cheeks"}


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def choose(scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    """`scores[source][feature]` → the features to look at and to mind less, with the consensus scores."""
    features = sorted({f for s in scores.values() for f in s})
    consensus = {f: float(np.nanmean([scores[s].get(f, np.nan) for s in scores])) for f in features}
    ranked = sorted(features, key=lambda f: -np.nan_to_num(consensus[f], nan=-np.inf))
    if not ranked:
        return {"look": [], "less": [], "consensus": {}, "ranked": []}
    best = consensus[ranked[0]]
    look = [f for f in ranked if consensus[f] >= max(LOOK_MIN, LOOK_FRACTION * best)][:MAX_LOOK]
    tentative = not look
    look = look or ranked[:1]
    less = [f for f in reversed(ranked) if consensus[f] < 1.0 and f not in look][:MAX_LESS]
    return {"look": look, "less": less, "consensus": consensus, "ranked": ranked, "tentative": tentative}


def sentence(look: list[str], less: list[str]) -> str:
    """Plain words, e.g. "Look at the forehead and the cheekbones; the eyes and the mouth tell them apart less."."""
    if not look:
        return "Look at the whole face."
    text = f"Look at {join_words([PLAIN.get(f, f) for f in look])}"
    if less:
        verb = "tell" if len(less) > 1 or less[0] in PLURAL else "tells"
        text += f"; {join_words([PLAIN.get(f, f) for f in less])} {verb} them apart less"
    return text + "."
