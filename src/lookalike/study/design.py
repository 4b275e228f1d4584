"""The study's vocabulary, shared by the server, the export and the analysis: groups, answers, columns."""

from __future__ import annotations

from ..contract import SESSIONS, TRAINING, TRIALS

GROUPS = ("pre", "post", "expert")
LINK_GROUPS = (*GROUPS, "random")
RANDOM_GROUPS = ("pre", "post")  # novices from a random or public link are balanced between these two
OPEN_LINKS = ("random", "public")  # links whose group follows from the questionnaire, not the researcher
ANSWERS = ("same", "different")

TRIAL_COLUMNS = TRIALS.columns  # study/trials.csv, sessions.csv and training.csv: records in lookalike.contract
TRAINING_COLUMNS = TRAINING.columns
SESSION_COLUMNS = SESSIONS.columns
