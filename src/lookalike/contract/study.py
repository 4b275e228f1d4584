"""`study/`: the human study's answers, its export and its analysis (paper §6, equation 1, Figure 9)."""

from __future__ import annotations

from typing import Any

from .files import Artefact, CsvFile, JsonFile, RunFile
from .records import Record, Summary, shown


class TrialRow(Record):
    """One answered trial; image paths relative to data/; truth and answer ∈ same | different."""

    participant: str
    group: str | None = None
    complete: int  # 1 when the participant answered every pair
    trial: int
    image_a: str | None = None
    image_b: str | None = None
    truth: str
    answer: str | None = None
    correct: int | None = None
    response_ms: float | None = None
    shown_ms: float | None = None  # measured display time of the pair
    catch: int | None = None  # 1 for an attention check (left out of equation 1)
    frame_ms: float | None = None  # the display's frame period, as the browser measured it


class TrainingRow(Record):
    """One training picture as a participant saw it, with its measured display time."""

    participant: str
    group: str | None = None
    position: int
    image: str
    label: int
    shown_ms: float | None = None
    frame_ms: float | None = None


class SessionRow(Record):
    """One participant who consented: link, platform ids, questionnaire, display and timing."""

    participant: str
    link_group: str | None = None
    group: str | None = None
    simulated: int | None = None
    platform: str | None = None
    platform_pid: str | None = None
    study_id: str | None = None
    session_id: str | None = None
    familiarity_a: str | None = None
    familiarity_b: str | None = None
    age_band: str | None = None
    country: str | None = None
    hint_seen: int | None = None
    frame_ms: float | None = None
    device_pixel_ratio: float | None = None
    window_w: int | None = None
    window_h: int | None = None
    started_at: str | None = None
    duration_s: float | None = None
    complete: int | None = None


class GroupProgress(Record):
    links: int = 0
    started: int = 0
    complete: int = 0
    answers: int = 0
    accuracy_complete: float | None = None
    simulated: int | None = None


class Timing(Record):
    n: int
    target_ms: float
    median_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    within_50ms: float | None = None


class StudySummary(Summary):
    """`lookalike study export`: who took part so far and how well the browsers kept the display times."""

    participants: int = shown("links made", default=0)
    complete: int = shown("sessions complete", default=0)
    answers: int = shown("answers stored", default=0)
    groups: dict[str, GroupProgress] = {}
    design: dict[str, Any] = {}
    stimuli_per_person: dict[str, int] = {}
    stimuli_note: str | None = None
    simulated_participants: int | None = shown("simulated participants (not real data)")
    settings: dict[str, Any] = {}
    shown_test: Timing | None = None
    shown_training: Timing | None = None
    files: dict[str, Any] = {}  # where each export is; psychds: its folder and the result of its validation


class GroupResult(Record):
    """Equation (1) for one group, with its intervals, the Figure-9 histogram and d′."""

    label: str | None = None
    participants: int
    excluded_incomplete: int = 0
    correct: int = 0
    trials: int = 0
    accuracy: float | None = None
    wilson_95: list[float | None] = [None, None]
    bootstrap_95: list[float | None] = [None, None]
    correct_min: int | None = None
    correct_max: int | None = None
    histogram: list[int] = []
    dprime_mean: float | None = None
    dprime_sd: float | None = None
    criterion_mean: float | None = None
    dprime_pooled: float | None = None
    criterion_pooled: float | None = None
    median_response_ms: float | None = None
    median_shown_ms: float | None = None
    paper_accuracy: float | None = None
    paper_participants: int | None = None
    simulated: int | None = None  # how many of the analysed participants were simulated
    excluded: dict[str, int] = {}  # per declared rule: how many it excluded from this group


class Comparison(Record):
    """Group a against group b: a permutation test with effect sizes, or a note why it was not tested."""

    a: str
    b: str
    question: str | None = None
    n_a: int = 0
    n_b: int = 0
    note: str | None = None  # set instead of the numbers when a group has nobody
    accuracy_difference: float | None = None
    p_value: float | None = None
    p_value_holm: float | None = None
    exact: bool | None = None
    permutations: int | None = None
    cohens_d: float | None = None
    cliffs_delta: float | None = None
    dprime_difference: float | None = None
    dprime_p_value: float | None = None
    participants_per_group_for_80_power: int | None = None

    @property
    def tested(self) -> bool:
        return self.p_value is not None


class AnalysisSummary(Summary):
    """`lookalike study analyze`: accuracy per group, the tests between groups, and how each is computed."""

    stage: str = "study analyze"
    trials_csv: str | None = None
    rows: int | None = None
    participants_analysed: int = shown("participants analysed", default=0)
    simulated_participants: int | None = shown("of them simulated (not real data)")
    exclusions: dict[str, Any] = {}  # who was assigned where and excluded by which declared rule
    preregistration: dict[str, Any] | None = None  # the deviations from study/preregistration.json
    no_hint: str | None = None  # set when regions found no hint: the post group then tests no hint
    excluded_incomplete: int = shown("incomplete sessions excluded", default=0)
    trials_per_participant: int | None = None
    groups: dict[str, GroupResult] = {}
    comparisons: list[Comparison] = []
    conventions: dict[str, str] = {}
    figures: dict[str, str] = {}
    files: list[str] = []

    def comparison(self, a: str, b: str) -> Comparison | None:
        return next((c for c in self.comparisons if (c.a, c.b) == (a, b)), None)


class ParticipantRow(Record):
    """One participant who finished: accuracy, the signal-detection tally, d′ and median times."""

    participant: str
    group: str
    trials: int
    correct: int
    accuracy: float
    hits: int
    misses: int
    false_alarms: int
    correct_rejections: int
    hit_rate: float
    false_alarm_rate: float
    dprime: float
    criterion: float
    median_response_ms: float | None = None
    median_shown_ms: float | None = None


class Link(Record):
    participant: str
    token: str
    link_group: str
    group: str | None = None
    url: str
    started: bool = False
    answered: int = 0
    complete: bool = False


class Links(Record):
    base_url: str
    links: list[Link] = []


class Screens(Record):
    """`lookalike study screens`: Figure 8's screenshots, or why there are none."""

    screens: dict[str, str] = {}  # training | test | answer → file name in study/screens/
    browser: str | None = None
    window: dict[str, int] = {}
    group: str | None = None
    made_at: str | None = None
    note: str | None = None
    unavailable: str | None = None  # why no screenshots could be made on this machine


SCREENS = JsonFile("study/screens/screens.json", "study screens", "Figure 8: {screens: {training, test, answer → "
                   "PNG beside it}, browser, window, note} or {unavailable: why not}", record=Screens)
STUDY_SUMMARY = JsonFile("study/summary.json", "study export", "participants, answers and display-time checks so "
                         "far (simulated_participants, settings, psychds check); config.json beside it has design, "
                         "rules and stimuli_sha256 for the analysis", record=StudySummary)
TRIALS = CsvFile("study/trials.csv", "study export", "one row per answered trial: participant,group,complete,trial,"
                 "image_a,image_b,truth,answer,correct,response_ms,shown_ms,catch,frame_ms (truth/answer ∈ same|different; "
                 "image_a/b = paths relative to data/; complete = 1 when all pairs answered; catch = 1 for a catch "
                 "trial, the same photo twice)", row=TrialRow)
TRAINING = CsvFile("study/training.csv", "study export", "participant,group,position,image,label,shown_ms,frame_ms "
                   "(measured training display)", row=TrainingRow)
SESSIONS = CsvFile("study/sessions.csv", "study export", "one row per participant who consented: participant, "
                   "link_group, group, simulated, platform, platform_pid, study_id, session_id, familiarity_a, "
                   "familiarity_b (never|seen|well), age_band, country, hint_seen, frame_ms, device_pixel_ratio, "
                   "window_w, window_h, started_at, duration_s, complete", row=SessionRow)
LINKS = JsonFile("study/links.json", "study serve", "{base_url, links: [{participant, token, link_group, group, "
                 "url, …}]} (owner-only: every participant's link)", record=Links, private=True)
ANALYSIS_SUMMARY = JsonFile("study/analysis/summary.json", "study analyze", "equation 1, intervals, tests, d′, "
                            "power, and how each is computed; exclusions: counts per rule of study/rules.py; "
                            "preregistration: deviations or null; simulated counts per group", record=AnalysisSummary)
PARTICIPANTS = CsvFile("study/analysis/participants.csv", "study analyze", "one row per participant who finished: "
                       "accuracy, hits, misses, false alarms, correct rejections, d′, criterion", row=ParticipantRow)
STUDY_FILES: list[RunFile] = [
    Artefact("study/study.sqlite", "study serve", "settings (rules, recruitment, settings_log), links, "
             "per-participant plans, questionnaire, display, every answer (WAL, synchronous=FULL; safe to read "
             "while serving; owner-only: it holds the admin token)"),
    LINKS,
    Artefact("study/preregistration.json", "study preregister", "the plan before data (.md beside it; its SHA-256 "
             "in the .md and in study.sqlite)"),
    TRIALS, TRAINING, SESSIONS,
    Artefact("study/psychds/", "study export", "the same data as a Psych-DS 1.5.0 dataset, without platform ids: "
             "dataset_description.json, README.md, data/study-lookalike_description-{trials,training,sessions}"
             "_data.csv"),
    STUDY_SUMMARY, ANALYSIS_SUMMARY, PARTICIPANTS,
    SCREENS,
    Artefact("study/analysis/figure9.png", "study analyze", "Figure 9 (accuracy.png, dprime.png beside it)"),
]
