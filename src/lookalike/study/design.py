"""The study's vocabulary, shared by the server, the export and the analysis: groups, answers, columns."""

from __future__ import annotations

GROUPS = ("pre", "post", "expert")
LINK_GROUPS = (*GROUPS, "random")
RANDOM_GROUPS = ("pre", "post")  # novices from a random or public link are balanced between these two
OPEN_LINKS = ("random", "public")  # links whose group follows from the questionnaire, not the researcher
ANSWERS = ("same", "different")

TRIAL_COLUMNS = ["participant", "group", "complete", "trial", "image_a", "image_b", "truth", "answer",
                 "correct", "response_ms", "shown_ms", "catch", "frame_ms"]
TRAINING_COLUMNS = ["participant", "group", "position", "image", "label", "shown_ms", "frame_ms"]
SESSION_COLUMNS = ["participant", "link_group", "group", "simulated", "platform", "platform_pid", "study_id",
                   "session_id", "familiarity_a", "familiarity_b", "age_band", "country", "hint_seen", "frame_ms",
                   "device_pixel_ratio", "window_w", "window_h", "started_at", "duration_s", "complete"]
