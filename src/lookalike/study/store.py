"""The study's SQLite store: links, per-participant plans and every answer.

WAL mode with `synchronous=FULL`: a write is on disk (fsync) before it is
acknowledged, so a crash (even `kill -9`) or a power cut never loses an answer
that the server acknowledged. Writes go through one connection guarded by a
lock; the web server hands them to `GroupCommit`, which commits the writes that
arrive together in one transaction (one fsync for many answers). Reads use a
connection per thread and never wait for a write (WAL). Other processes
(`lookalike study links|export`) wait through `busy_timeout`. The database holds
the admin token and every participant's link, so it is owner-only (0600).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import math
import os
import random
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import validation
from .design import ANSWERS, LINK_GROUPS, OPEN_LINKS, RANDOM_GROUPS
from .rules import AGE_BANDS, FAMILIARITY, UNCLASSIFIED, Recruitment, Rules

PLATFORM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # Prolific ids are 24 hex digits; others vary
COUNTRY = re.compile(r"^[^\W\d_][\w .,'()-]{0,55}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stimuli (path TEXT PRIMARY KEY, label INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL UNIQUE,
    link_group TEXT NOT NULL,
    grp TEXT,
    first_label INTEGER NOT NULL,
    created_at REAL NOT NULL,
    consent_at REAL, hint_at REAL, training_at REAL, completed_at REAL
);
CREATE TABLE IF NOT EXISTS images (
    participant INTEGER NOT NULL, img_id TEXT NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (participant, img_id)
);
CREATE TABLE IF NOT EXISTS training (
    participant INTEGER NOT NULL, pos INTEGER NOT NULL, img_id TEXT NOT NULL, label INTEGER NOT NULL,
    shown_ms REAL,
    PRIMARY KEY (participant, pos)
);
CREATE TABLE IF NOT EXISTS trials (
    participant INTEGER NOT NULL, trial INTEGER NOT NULL,
    img_a TEXT NOT NULL, img_b TEXT NOT NULL, truth TEXT NOT NULL,
    answer TEXT, response_ms REAL, shown_ms REAL, answered_at REAL,
    PRIMARY KEY (participant, trial)
);
"""
# Columns added after the first release: created on new databases and added to old ones on open.
ADDED_COLUMNS = {
    "participants": {
        "platform": "TEXT", "platform_pid": "TEXT", "study_id": "TEXT", "session_id": "TEXT",
        "familiarity_a": "TEXT", "familiarity_b": "TEXT", "age_band": "TEXT", "country": "TEXT",
        "questionnaire_at": "REAL", "frame_ms": "REAL", "device_pixel_ratio": "REAL",
        "window_w": "INTEGER", "window_h": "INTEGER", "simulated": "INTEGER NOT NULL DEFAULT 0",
    },
    "trials": {"catch": "INTEGER NOT NULL DEFAULT 0", "frame_ms": "REAL"},
}


class Refused(Exception):
    """A request the study must refuse; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Design:
    """How many pictures a participant sees: the paper's 20 per person and 20 pairs by default."""

    train_per_person: int = 20
    pairs: int = 20
    train_ms: int = 400
    pair_ms: int = 1200
    catch_trials: int = 2  # extra pairs that show one photo twice: an attention check, not in equation (1)
    face_px: int = 150  # CSS pixels per face on screen (the 128-pixel photo, slightly enlarged)

    def images_needed(self) -> int:
        """Photos of each person one participant needs: training, pairs and catch trials, none twice."""
        n_same = self.pairs // 2
        return self.train_per_person + 2 * math.ceil(n_same / 2) + (self.pairs - n_same) \
            + math.ceil(self.catch_trials / 2)


def _new_id() -> str:
    return secrets.token_urlsafe(12)


def _private_file(path: Path) -> None:
    """Create `path` owner-only (SQLite gives its -wal and -shm files the same mode), or make it so."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            os.chmod(p, 0o600)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # docs/study.md promises no acknowledged answer lost on a power cut
    return db


class Store:
    """All reads and writes of `study.sqlite` go through here.

    Each write exists twice: `x_op(db, ...)` does it inside a transaction its caller
    holds (`GroupCommit` batches these), and `x(...)` runs it in a transaction of its own.
    """

    clock: Callable[[], float] = staticmethod(time.time)  # the server's clock, which the pace rule trusts

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _private_file(self.path)
        self._lock = threading.Lock()  # the writing connection; GroupCommit takes it on one thread, frees it on another
        self._db = _connect(self.path)
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._known_tokens: set[str] = set()
        self._plans: dict[str, tuple[int, int]] = {}
        self._design: Design | None = None
        self._commits: GroupCommit | None = None
        with self.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            for table, columns in ADDED_COLUMNS.items():
                have = {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns.items():
                    if name not in have:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            db.execute("CREATE UNIQUE INDEX IF NOT EXISTS platform_id ON participants (platform, platform_pid) "
                       "WHERE platform_pid IS NOT NULL")

    def commits(self) -> GroupCommit:
        """The group commit that batches this store's writes from the web server (made on first use)."""
        with self._readers_lock:
            if self._commits is None:
                self._commits = GroupCommit(self)
            return self._commits

    def close(self) -> None:
        if self._commits is not None:
            self._commits.close()
        with self._readers_lock:
            for db in self._all_readers:
                db.close()
            self._all_readers.clear()
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE takes the write lock up front: no upgrade deadlocks)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def write(self, op: Callable[..., Any], *args: Any) -> Any:
        """Run one `*_op` in a transaction of its own."""
        with self.transaction() as db:
            return op(db, *args)

    def _reader(self) -> sqlite3.Connection:
        db = getattr(self._readers, "db", None)
        if db is None:
            db = self._readers.db = _connect(self.path)
            with self._readers_lock:
                self._all_readers.append(db)
        return db

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """A read on this thread's own connection: it never waits for a write in progress (WAL)."""
        return self._reader().execute(sql, params).fetchall()

    def pragma(self, name: str) -> Any:
        """A setting as the writing connection runs it (the tests read `synchronous` here)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._lock:
            return self._db.execute(f"PRAGMA {name}").fetchone()[0]

    # settings --------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def initialised(self) -> bool:
        return self.meta("design") is not None

    def initialise(self, stimuli: dict[int, list[str]], names: list[str], design: Design, seed: int) -> None:
        """Fix the stimuli, the design and the admin token once; later calls keep what is there."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM meta WHERE key = 'design'").fetchone():
                return
            for label, paths in stimuli.items():
                db.executemany("INSERT INTO stimuli (path, label) VALUES (?, ?)", [(p, label) for p in paths])
            for key, value in {"design": design.__dict__, "names": names, "seed": seed,
                               "admin_token": secrets.token_urlsafe(24)}.items():
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
            stimuli_hash = hashlib.sha256(json.dumps(stimuli, sort_keys=True).encode()).hexdigest()
            db.execute("INSERT INTO meta (key, value) VALUES ('stimuli_sha256', ?)", (json.dumps(stimuli_hash),))

    # settings: the declared rules and the recruitment platform -------------------
    def rules(self) -> Rules:
        return Rules.from_dict(self.meta("rules"))

    def recruitment(self) -> Recruitment:
        stored = self.meta("recruitment")
        if stored is None:  # a completion code is made once per study, so every participant gets the same
            stored = {"completion_code": secrets.token_hex(4).upper()}
            self.set_meta("recruitment", stored)
        return Recruitment.from_dict(stored)

    def settings(self) -> dict[str, Any]:
        return {"rules": self.rules().to_dict(), "recruitment": self.recruitment().__dict__}

    def update_settings(self, rules: dict[str, Any] | None = None,
                        recruitment: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change some settings (checked first); every change is logged with its time for the preregistration check."""
        new_rules = Rules.from_dict(self.rules().to_dict() | (rules or {}))
        new_recruitment = Recruitment.from_dict(self.recruitment().__dict__ | (recruitment or {}))
        changed = {"rules": new_rules.to_dict(), "recruitment": new_recruitment.__dict__}
        if changed != self.settings():
            log = list(self.meta("settings_log", []))
            log.append({"at": time.time(), **changed})
            with self.transaction() as db:
                for key, value in (("rules", changed["rules"]), ("recruitment", changed["recruitment"]),
                                   ("settings_log", log)):
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
        return changed

    def design(self) -> Design:
        """Fixed once the study is initialised, so read once."""
        if self._design is None:
            self._design = Design(**self.meta("design"))
        return self._design

    def names(self) -> list[str]:
        return list(self.meta("names"))

    def admin_token(self) -> str:
        return str(self.meta("admin_token"))

    def stimuli(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {0: [], 1: []}
        for row in self.query("SELECT path, label FROM stimuli ORDER BY path"):
            out[int(row["label"])].append(row["path"])
        return out

    # links -----------------------------------------------------------------
    def create_links(self, group: str, n: int, simulated: bool = False) -> list[str]:
        """Make `n` participants of `group` (or `random`), each with a fresh plan; returns their tokens."""
        if group not in LINK_GROUPS:
            raise Refused(422, f"group must be one of {', '.join(LINK_GROUPS)}, not {group!r}")
        if not 1 <= n <= 10_000:
            raise Refused(422, f"n must be between 1 and 10000, not {n}")
        design, stimuli, seed = self.design(), self.stimuli(), int(self.meta("seed", 0))
        with self.transaction() as db:
            return [self._new_participant(db, design, stimuli, seed, group, {"simulated": int(simulated)})
                    for _ in range(n)]

    def enrol(self, platform: str | None, platform_pid: str | None, study_id: str | None = None,
              session_id: str | None = None) -> tuple[str, bool]:
        """The public link: the participant with this platform id (resumed: True) or a new one (False)."""
        for name, value in (("participant id", platform_pid), ("STUDY_ID", study_id), ("SESSION_ID", session_id)):
            if value is not None and not PLATFORM_ID.match(value):
                raise Refused(422, f"the {name} in the link is not valid (letters, digits and _.:- only, "
                                   "at most 64 characters)")
        design, stimuli, seed = self.design(), self.stimuli(), int(self.meta("seed", 0))
        limit = self.recruitment().max_participants
        with self.transaction() as db:
            if platform_pid is not None:
                row = db.execute("SELECT token FROM participants WHERE platform = ? AND platform_pid = ?",
                                 (platform, platform_pid)).fetchone()
                if row is not None:
                    return str(row["token"]), True
            enrolled = db.execute("SELECT COUNT(*) FROM participants WHERE link_group = 'public'").fetchone()[0]
            if enrolled >= limit:
                raise Refused(409, "this study is full: thank you for your interest")
            extra = {"platform": platform, "platform_pid": platform_pid, "study_id": study_id,
                     "session_id": session_id}
            return self._new_participant(db, design, stimuli, seed, "public", extra), False

    def _new_participant(self, db: sqlite3.Connection, design: Design, stimuli: dict[int, list[str]], seed: int,
                         link_group: str, extra: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(16)
        plan = make_plan(stimuli, design, random.Random(f"{seed}:{token}"))
        grp = None if link_group in OPEN_LINKS else link_group
        columns = ["token", "link_group", "grp", "first_label", "created_at", *extra]
        cur = db.execute(f"INSERT INTO participants ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         (token, link_group, grp, plan["first_label"], self.clock(), *extra.values()))
        pid = cur.lastrowid
        for pos, (path, label) in enumerate(plan["training"]):
            db.execute("INSERT INTO training (participant, pos, img_id, label) VALUES (?,?,?,?)",
                       (pid, pos, self._image_id(db, pid, path), label))
        for trial, (a, b, truth, catch) in enumerate(plan["pairs"]):
            db.execute("INSERT INTO trials (participant, trial, img_a, img_b, truth, catch) VALUES (?,?,?,?,?,?)",
                       (pid, trial, self._image_id(db, pid, a), self._image_id(db, pid, b), truth, int(catch)))
        return token

    @staticmethod
    def _image_id(db: sqlite3.Connection, pid: int, path: str) -> str:
        """A fresh random id for one appearance of a picture: ids say nothing about person or file."""
        img_id = _new_id()
        db.execute("INSERT INTO images (participant, img_id, path) VALUES (?,?,?)", (pid, img_id, path))
        return img_id

    def links(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT p.id, p.token, p.link_group, p.grp, p.created_at, p.consent_at, p.completed_at, "
            "(SELECT COUNT(*) FROM trials t WHERE t.participant = p.id AND t.answer IS NOT NULL) AS answered "
            "FROM participants p ORDER BY p.id")
        return [{"participant": f"p{r['id']:04d}", "token": r["token"], "link_group": r["link_group"],
                 "group": r["grp"], "path": f"/p/{r['token']}", "started": r["consent_at"] is not None,
                 "answered": r["answered"], "complete": r["completed_at"] is not None} for r in rows]

    # participant flow ------------------------------------------------------
    def participant(self, token: str) -> sqlite3.Row:
        rows = self.query("SELECT * FROM participants WHERE token = ?", (token,))
        if not rows:
            raise Refused(404, "unknown participant link")
        return rows[0]

    def known(self, token: str) -> bool:
        """Whether `token` is a participant's link: checked before a request body is read.

        Links are never deleted, so a token once found is remembered; an unknown one is
        looked up each time (another process, `study links`, may have just made it).
        """
        if token in self._known_tokens:
            return True
        if len(token) > 64 or not self.query("SELECT 1 FROM participants WHERE token = ?", (token,)):
            return False
        self._known_tokens.add(token)
        return True

    @staticmethod
    def _row(db: sqlite3.Connection, token: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM participants WHERE token = ?", (token,)).fetchone()
        if row is None:
            raise Refused(404, "unknown participant link")
        return row


    def questionnaire(self, token: str, familiarity_a: str, familiarity_b: str, age_band: str | None = None,
                      country: str | None = None) -> str:
        return self.write(self.questionnaire_op, token, familiarity_a, familiarity_b, age_band, country)

    def questionnaire_op(self, db: sqlite3.Connection, token: str, familiarity_a: str, familiarity_b: str,
                         age_band: str | None = None, country: str | None = None) -> str:
        """Store the familiarity answers once; the group that is run follows from them (see rules.py).

        Experts by the rule get the expert group (no hint) whatever their link; novices keep their
        link's group, or on an open link are balanced between pre and post; answers that fit
        neither rule get no hint (the analysis excludes them by its declared rule).
        """
        for value in (familiarity_a, familiarity_b):
            if value not in FAMILIARITY:
                raise Refused(422, f"familiarity must be one of {', '.join(FAMILIARITY)}")
        if age_band not in (None, "", *AGE_BANDS):
            raise Refused(422, f"age_band must be one of {', '.join(AGE_BANDS)}, or empty")
        country = (country or "").strip() or None
        if country is not None and not COUNTRY.match(country):
            raise Refused(422, "country must be a country's name (letters, at most 56 characters), or empty")
        row = self._row(db, token)
        if row["questionnaire_at"] is not None:
            return str(row["grp"])
        if self.phase(row) != "questionnaire":
            raise Refused(409, f"the questions come after consent; the session is at {self.phase(row)}")
        role = self.rules().role(familiarity_a, familiarity_b)
        if role == "expert":
            group = "expert"  # whatever the link: experts see no hint
        elif role is None:
            group = UNCLASSIFIED
        else:
            group = row["grp"] or self._open_link_group(db)
        db.execute("UPDATE participants SET familiarity_a = ?, familiarity_b = ?, age_band = ?, country = ?, "
                   "questionnaire_at = ?, grp = ? WHERE id = ?",
                   (familiarity_a, familiarity_b, age_band or None, country, self.clock(), group, row["id"]))
        return group

    @staticmethod
    def _open_link_group(db: sqlite3.Connection) -> str:
        """pre or post for a novice from an open link, whichever has fewer so far."""
        marks = ",".join("?" * len(OPEN_LINKS))
        counts = {g: db.execute(f"SELECT COUNT(*) FROM participants WHERE link_group IN ({marks}) AND grp = ?",
                                (*OPEN_LINKS, g)).fetchone()[0] for g in RANDOM_GROUPS}
        fewest = min(counts.values())
        return secrets.choice([g for g in RANDOM_GROUPS if counts[g] == fewest])

    def phase(self, row: sqlite3.Row) -> str:
        if row["completed_at"] is not None:
            return "done"
        if row["consent_at"] is None:
            return "consent"
        if row["questionnaire_at"] is None:
            return "questionnaire"
        if row["grp"] == "post" and row["hint_at"] is None:
            return "hint"
        if row["training_at"] is None:
            return "training"
        return "test"

    def mark_op(self, db: sqlite3.Connection, token: str, step: str, needed_phase: str) -> str:
        """Move a participant past consent or hint (repeating a finished step is harmless); returns the phase."""
        column = {"consent": "consent_at", "hint": "hint_at"}[step]
        row = self._row(db, token)
        if row[column] is None:
            if self.phase(row) != needed_phase:
                raise Refused(409, f"this step belongs to the {needed_phase} screen; the session is at "
                                   f"{self.phase(row)}")
            db.execute(f"UPDATE participants SET {column} = ? WHERE id = ?", (self.clock(), row["id"]))
        return self.phase(self._row(db, token))

    def mark(self, token: str, step: str, needed_phase: str) -> str:
        return self.write(self.mark_op, token, step, needed_phase)

    def training_plan(self, pid: int) -> list[sqlite3.Row]:
        return self.query("SELECT pos, img_id, label FROM training WHERE participant = ? ORDER BY pos", (pid,))

    def test_plan(self, pid: int) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM trials WHERE participant = ? ORDER BY trial", (pid,))

    def finish_training_op(self, db: sqlite3.Connection, token: str, shown_ms: list[float],
                           display: dict[str, Any] | None = None) -> str:
        """Store the measured display time of every training picture, and the display it was shown on, once;
        returns the phase."""
        row = self._row(db, token)
        if row["training_at"] is None:
            if self.phase(row) != "training":
                raise Refused(409, f"training comes after the questions (and the hint); the session is at "
                                   f"{self.phase(row)}")
            n = db.execute("SELECT COUNT(*) FROM training WHERE participant = ?", (row["id"],)).fetchone()[0]
            if len(shown_ms) != n:
                raise Refused(422, f"expected {n} display times, got {len(shown_ms)}")
            try:
                validation.check_training(shown_ms, self.design().train_ms)
            except validation.TimingRefused as exc:
                raise Refused(422, str(exc)) from None
            display = check_display(display or {})
            db.executemany("UPDATE training SET shown_ms = ? WHERE participant = ? AND pos = ?",
                           [(v, row["id"], pos) for pos, v in enumerate(shown_ms)])
            db.execute("UPDATE participants SET training_at = ?, frame_ms = ?, device_pixel_ratio = ?, window_w = ?, "
                       "window_h = ? WHERE id = ?",
                       (self.clock(), display.get("frame_ms"), display.get("device_pixel_ratio"),
                        display.get("window_w"), display.get("window_h"), row["id"]))
        return self.phase(self._row(db, token))

    def finish_training(self, token: str, shown_ms: list[float], display: dict[str, Any] | None = None) -> str:
        return self.write(self.finish_training_op, token, shown_ms, display)

    def answer_op(self, db: sqlite3.Connection, token: str, trial: int, answer: str, response_ms: float,
                  shown_ms: float, frame_ms: float | None = None) -> dict[str, Any]:
        """Store one answer; the same answer sent again is acknowledged, not stored."""
        if answer not in ANSWERS:
            raise Refused(422, f"answer must be one of {', '.join(ANSWERS)}")
        try:
            validation.check_answer(response_ms, shown_ms, self.design().pair_ms)
        except validation.TimingRefused as exc:
            raise Refused(422, str(exc)) from None
        if frame_ms is not None:
            check_display({"frame_ms": frame_ms})
        pid, n = self._plan_size(db, token)
        if not 0 <= trial < n:
            raise Refused(422, f"trial must be between 0 and {n - 1}")
        now = self.clock()
        stored_now = db.execute(  # the usual case in one statement: the next trial of a session in its test
            "UPDATE trials SET answer = ?, response_ms = ?, shown_ms = ?, frame_ms = ?, answered_at = ? "
            "WHERE participant = ? AND trial = ? AND answer IS NULL "
            "AND trial = (SELECT COUNT(*) FROM trials WHERE participant = ? AND answer IS NOT NULL) "
            "AND EXISTS (SELECT 1 FROM participants WHERE id = ? AND training_at IS NOT NULL AND completed_at IS NULL)",
            (answer, response_ms, shown_ms, frame_ms, now, pid, trial, pid, pid)).rowcount == 1
        if stored_now:
            if trial == n - 1:
                db.execute("UPDATE participants SET completed_at = ? WHERE id = ?", (now, pid))
            return {"stored": True, "duplicate": False, "next_trial": trial + 1, "done": trial == n - 1}
        return self._answer_not_stored(db, token, pid, n, trial, answer)

    def _answer_not_stored(self, db: sqlite3.Connection, token: str, pid: int, n: int, trial: int,
                           answer: str) -> dict[str, Any]:
        """Why an answer was not stored: a duplicate (acknowledged), a change, a wrong phase or order (refused)."""
        row = self._row(db, token)
        stored = db.execute("SELECT answer FROM trials WHERE participant = ? AND trial = ?", (pid, trial)).fetchone()
        if stored["answer"] is not None:
            if stored["answer"] != answer:
                raise Refused(409, f"trial {trial} was already answered differently; answers cannot change")
            return self._progress(db, pid, n, duplicate=True)
        if self.phase(row) != "test":
            raise Refused(409, f"answers come after training; the session is at {self.phase(row)}")
        expected = db.execute("SELECT COUNT(*) FROM trials WHERE participant = ? AND answer IS NOT NULL",
                              (pid,)).fetchone()[0]
        raise Refused(409, f"trial {trial} is out of order: the next trial is {expected}")

    def _plan_size(self, db: sqlite3.Connection, token: str) -> tuple[int, int]:
        """(participant id, number of pairs) of a link; fixed when the link is made, so remembered."""
        if token not in self._plans:
            pid = self._row(db, token)["id"]
            self._plans[token] = pid, db.execute("SELECT COUNT(*) FROM trials WHERE participant = ?",
                                                 (pid,)).fetchone()[0]
        return self._plans[token]

    def answer(self, token: str, trial: int, answer: str, response_ms: float, shown_ms: float,
               frame_ms: float | None = None) -> dict[str, Any]:
        return self.write(self.answer_op, token, trial, answer, response_ms, shown_ms, frame_ms)

    @staticmethod
    def _progress(db: sqlite3.Connection, pid: int, n: int, duplicate: bool) -> dict[str, Any]:
        answered = db.execute("SELECT COUNT(*) FROM trials WHERE participant = ? AND answer IS NOT NULL",
                              (pid,)).fetchone()[0]
        return {"stored": not duplicate, "duplicate": duplicate, "next_trial": answered, "done": answered == n}

    def image_path(self, token: str, img_id: str) -> str:
        rows = self.query("SELECT i.path FROM images i JOIN participants p ON p.id = i.participant "
                          "WHERE p.token = ? AND i.img_id = ?", (token, img_id))
        if not rows:
            raise Refused(404, "unknown image")
        return str(rows[0]["path"])

    # admin -----------------------------------------------------------------
    def truth_of(self, token: str) -> list[str]:
        """The true answers of a participant's pairs (admin only: simulated participants use it)."""
        row = self.participant(token)
        return [r["truth"] for r in self.test_plan(row["id"])]

    def trial_rows(self) -> list[dict[str, Any]]:
        """Every answered trial, one row each, in the column order of `trials.csv`."""
        rows = self.query(
            "SELECT p.id, p.grp, p.completed_at, t.trial, t.truth, t.answer, t.response_ms, t.shown_ms, t.catch, "
            "t.frame_ms, "
            "ia.path AS path_a, ib.path AS path_b FROM trials t "
            "JOIN participants p ON p.id = t.participant "
            "JOIN images ia ON ia.participant = t.participant AND ia.img_id = t.img_a "
            "JOIN images ib ON ib.participant = t.participant AND ib.img_id = t.img_b "
            "WHERE t.answer IS NOT NULL ORDER BY p.id, t.trial")
        return [{"participant": f"p{r['id']:04d}", "group": r["grp"], "complete": int(r["completed_at"] is not None),
                 "trial": r["trial"], "image_a": r["path_a"], "image_b": r["path_b"], "truth": r["truth"],
                 "answer": r["answer"], "correct": int(r["answer"] == r["truth"]),
                 "response_ms": round(r["response_ms"], 1), "shown_ms": round(r["shown_ms"], 1),
                 "catch": r["catch"], "frame_ms": _round(r["frame_ms"], 3)} for r in rows]

    def training_rows(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT p.id, p.grp, p.frame_ms, t.pos, t.label, t.shown_ms, i.path FROM training t "
            "JOIN participants p ON p.id = t.participant "
            "JOIN images i ON i.participant = t.participant AND i.img_id = t.img_id "
            "WHERE t.shown_ms IS NOT NULL ORDER BY p.id, t.pos")
        return [{"participant": f"p{r['id']:04d}", "group": r["grp"], "position": r["pos"], "image": r["path"],
                 "label": r["label"], "shown_ms": round(r["shown_ms"], 1), "frame_ms": _round(r["frame_ms"], 3)}
                for r in rows]

    def session_rows(self) -> list[dict[str, Any]]:
        """One row per participant who opened their link: link, platform ids, questionnaire, display, timing."""
        rows = self.query("SELECT * FROM participants WHERE consent_at IS NOT NULL ORDER BY id")
        out = []
        for r in rows:
            start = r["hint_at"] if r["hint_at"] is not None else r["questionnaire_at"]
            duration = r["completed_at"] - start if r["completed_at"] is not None and start is not None else None
            out.append({
                "participant": f"p{r['id']:04d}", "link_group": r["link_group"], "group": r["grp"],
                "simulated": int(bool(r["simulated"])), "platform": r["platform"], "platform_pid": r["platform_pid"],
                "study_id": r["study_id"], "session_id": r["session_id"], "familiarity_a": r["familiarity_a"],
                "familiarity_b": r["familiarity_b"], "age_band": r["age_band"], "country": r["country"],
                "hint_seen": int(r["hint_at"] is not None), "frame_ms": _round(r["frame_ms"], 3),
                "device_pixel_ratio": r["device_pixel_ratio"], "window_w": r["window_w"], "window_h": r["window_h"],
                "started_at": _iso(r["consent_at"]), "duration_s": _round(duration, 2),
                "complete": int(r["completed_at"] is not None)})
        return out

    def progress(self) -> dict[str, Any]:
        """Per group: links made, sessions started and completed, answers stored."""
        out: dict[str, Any] = {}
        for link in self.links():
            group = link["group"] or "not yet assigned (open link)"
            g = out.setdefault(group, {"links": 0, "started": 0, "complete": 0, "answers": 0})
            g["links"] += 1
            g["started"] += int(link["started"])
            g["complete"] += int(link["complete"])
            g["answers"] += link["answered"]
        return out


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return _dt.datetime.fromtimestamp(timestamp, _dt.UTC).isoformat(timespec="seconds")


DISPLAY_RANGES = {"frame_ms": (2.0, 100.0), "device_pixel_ratio": (0.1, 10.0), "window_w": (1, 100_000),
                  "window_h": (1, 100_000)}


def check_display(display: dict[str, Any]) -> dict[str, Any]:
    """The browser's frame period and screen: numbers in plausible ranges, or absent."""
    for key, value in display.items():
        if key not in DISPLAY_RANGES:
            raise Refused(422, f"unknown display field {key[:40]!r}")
        lo, hi = DISPLAY_RANGES[key]
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)
                                  or not math.isfinite(value) or not lo <= value <= hi):
            raise Refused(422, f"{key} must be a number between {lo:g} and {hi:g}")
    return display


class GroupCommit:
    """The writes that arrive together are committed in one transaction: one fsync for many answers.

    With `synchronous=FULL` every COMMIT waits for the disk. Each write (a Store `*_op`) is a
    few indexed statements, run on the event loop itself, each in its own SAVEPOINT so that a
    refused one is undone alone; the waits (the write lock, which another process may hold,
    and the COMMIT's fsync) happen on one database thread, while the loop goes on serving.
    Writes that arrive during a COMMIT form the next batch. A caller's `await run(...)`
    returns only after the COMMIT that holds its write, so nothing acknowledged is lost.
    """

    MAX_BATCH = 1000

    def __init__(self, store: Store):
        from concurrent.futures import ThreadPoolExecutor

        self.store = store
        self.batches = 0
        self.writes = 0
        self._pending: list[tuple[Callable[..., Any], tuple, asyncio.Future]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="study-commit")
        self._closed = False

    async def run(self, op: Callable[..., Any], *args: Any) -> Any:
        """`op(db, *args)` in the next group transaction; its result once that transaction is on disk."""
        if self._closed:
            raise RuntimeError("the group commit has stopped")
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._committer(), name="study-group-commit")
        future = loop.create_future()
        self._pending.append((op, args, future))
        self._wake.set()
        return await future

    def close(self) -> None:
        """Stop taking writes (those already acknowledged are on disk) and let the database thread go."""
        self._closed = True
        self._disk.shutdown(wait=True)

    async def _committer(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:self.MAX_BATCH], self._pending[self.MAX_BATCH:]
                await self._commit([item for item in batch if not item[2].done()])  # done = caller gone

    async def _commit(self, batch: list[tuple[Callable[..., Any], tuple, asyncio.Future]]) -> None:
        if not batch:
            return
        loop, db, lock = asyncio.get_running_loop(), self.store._db, self.store._lock
        outcomes: list[tuple[bool, Any]] = []
        try:
            await loop.run_in_executor(self._disk, self._begin)
        except Exception as exc:  # noqa: BLE001 - the database cannot be written now: every caller hears so
            self._finish(batch, [(False, exc)] * len(batch))
            return
        try:
            for op, args, _ in batch:
                db.execute("SAVEPOINT one_write")
                try:
                    outcomes.append((True, op(db, *args)))
                except Exception as exc:  # noqa: BLE001 - handed to the caller of this write only
                    db.execute("ROLLBACK TO one_write")
                    outcomes.append((False, exc))
                db.execute("RELEASE one_write")
            await loop.run_in_executor(self._disk, db.execute, "COMMIT")
        except BaseException as exc:  # the COMMIT failed (disk full …): nothing of the batch is stored
            await loop.run_in_executor(self._disk, _rollback, db)
            lock.release()
            self._finish(batch, [(False, exc if isinstance(exc, Exception) else RuntimeError(str(exc)))] * len(batch))
            if not isinstance(exc, Exception):
                raise
            return
        lock.release()
        self.batches += 1
        self.writes += len(batch)
        self._finish(batch, outcomes)

    def _begin(self) -> None:
        """Take the write lock and SQLite's (waiting out another process's transaction, off the event loop)."""
        self.store._lock.acquire()
        try:
            self.store._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise

    @staticmethod
    def _finish(batch: list[tuple[Callable[..., Any], tuple, asyncio.Future]], outcomes: list[tuple[bool, Any]]) -> None:
        for (ok, value), (_, _, future) in zip(outcomes, batch):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def make_plan(stimuli: dict[int, list[str]], design: Design, rng: random.Random) -> dict[str, Any]:
    """One participant's pictures: training blocks of both people, then pairs with no image used twice.

    Exactly half the pairs show the same person (half of those each person), so
    every participant sees both kinds of trial; order and sides are random. The
    training pictures are other images than the test ones: a named training picture seen
    again in the test would give its answer away. Catch trials show one photo on
    both sides (under two different ids, so the page cannot tell them apart) at random
    places after the first pair.
    """
    n_same = design.pairs // 2
    n_diff = design.pairs - n_same
    same_label = [i % 2 for i in range(n_same)]
    rng.shuffle(same_label)
    start = rng.randrange(2)  # catch photos alternate between the people: at most half (rounded up) each
    catch_label = [(start + i) % 2 for i in range(design.catch_trials)]
    need = {lab: 2 * same_label.count(lab) + n_diff + catch_label.count(lab) for lab in (0, 1)}
    pools = {}
    for lab in (0, 1):
        pool = list(stimuli[lab])
        if len(pool) < need[lab] + design.train_per_person:
            raise ValueError(f"person {lab} has {len(pool)} study images; {need[lab] + design.train_per_person} "
                             f"are needed ({design.train_per_person} for training, {need[lab]} for "
                             f"{design.pairs} pairs and {design.catch_trials} catch trials, none shown twice)")
        rng.shuffle(pool)
        pools[lab] = pool
    test_imgs = {lab: pools[lab][:need[lab]] for lab in (0, 1)}
    rest = {lab: pools[lab][need[lab]:] for lab in (0, 1)}
    pairs: list[tuple[str, str, str, bool]] = []
    for lab in same_label:
        pairs.append((test_imgs[lab].pop(), test_imgs[lab].pop(), "same", False))
    for _ in range(n_diff):
        a, b = test_imgs[0].pop(), test_imgs[1].pop()
        pairs.append((a, b, "different", False) if rng.random() < 0.5 else (b, a, "different", False))
    rng.shuffle(pairs)
    for lab in catch_label:  # never first: the first pair is where people find their feet
        photo = test_imgs[lab].pop()
        pairs.insert(rng.randrange(1, len(pairs) + 1) if pairs else 0, (photo, photo, "same", True))
    first = rng.randrange(2)
    training = []
    for lab in (first, 1 - first):
        training += [(p, lab) for p in rng.sample(rest[lab], design.train_per_person)]
    return {"first_label": first, "training": training, "pairs": pairs}
