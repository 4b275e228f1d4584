"""The study's vocabulary, shared by the server, the export and the analysis: groups, answers, columns."""

from __future__ import annotations

from ..contract import TRAINING, TRIALS

GROUPS = ("pre", "post", "expert")
LINK_GROUPS = (*GROUPS, "random")
RANDOM_GROUPS = ("pre", "post")  # a random link makes a novice: experts are chosen, not drawn
ANSWERS = ("same", "different")

TRIAL_COLUMNS = TRIALS.columns  # study/trials.csv, defined with its record in lookalike.contract
TRAINING_COLUMNS = TRAINING.columns
