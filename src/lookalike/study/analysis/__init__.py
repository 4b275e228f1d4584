"""`lookalike study analyze`: what the human study shows (paper §6, equation 1, Figure 9).

Reads `RUN/study/trials.csv` (one row per trial, written by `lookalike study
export`), keeps the participants who finished, and writes to
`RUN/study/analysis/`: equation-(1) accuracy per group with 95% intervals,
the Figure-9 histograms, permutation tests with effect sizes, d′ and
criterion, and the group size a replication needs for 80% power.

`loading` reads and validates the trials, `scoring` turns them into numbers,
`plots` draws the figures and `stage` writes the folder; the command is
`lookalike.cli.study_analysis`.
"""

from __future__ import annotations

from .loading import COLUMNS, load_trials
from .stage import analyze

__all__ = ["COLUMNS", "analyze", "load_trials"]
