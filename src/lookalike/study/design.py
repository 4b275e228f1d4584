"""The study's vocabulary, shared by the server, the export and the analysis: groups, answers, columns."""

from __future__ import annotations

GROUPS = ("pre", "post", "expert")
LINK_GROUPS = (*GROUPS, "random")
RANDOM_GROUPS = ("pre", "post")  # a random link makes a novice: experts are chosen, not drawn
ANSWERS = ("same", "different")

TRIAL_COLUMNS = ["participant", "group", "complete", "trial", "image_a", "image_b", "truth", "answer",
                 "correct", "response_ms", "shown_ms"]
TRAINING_COLUMNS = ["participant", "group", "position", "image", "label", "shown_ms"]
