"""The study's SQLite store: links, per-participant plans and every answer.

WAL mode with `synchronous=FULL`: each answer is its own committed transaction,
so a crash (even `kill -9`) or a power cut never loses an answer that the
server acknowledged. One connection per process guarded by a lock keeps the
web server's worker threads from fighting over SQLite's write lock; other
processes (`lookalike study links|export`) wait through `busy_timeout`.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .design import ANSWERS, LINK_GROUPS, RANDOM_GROUPS

MAX_SHOWN_MS = 600_000.0  # a stimulus on screen while the tab was hidden is kept, not refused
MAX_RESPONSE_MS = 3_600_000.0

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


def _new_id() -> str:
    return secrets.token_urlsafe(12)


class Store:
    """All reads and writes of `study.sqlite` go through here."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def close(self) -> None:
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

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

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

    def design(self) -> Design:
        return Design(**self.meta("design"))

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
    def create_links(self, group: str, n: int) -> list[str]:
        """Make `n` participants of `group` (or `random`), each with a fresh plan; returns their tokens."""
        if group not in LINK_GROUPS:
            raise Refused(422, f"group must be one of {', '.join(LINK_GROUPS)}, not {group!r}")
        if not 1 <= n <= 10_000:
            raise Refused(422, f"n must be between 1 and 10000, not {n}")
        design, stimuli, seed = self.design(), self.stimuli(), int(self.meta("seed", 0))
        tokens = []
        with self.transaction() as db:
            for _ in range(n):
                token = secrets.token_urlsafe(16)
                rng = random.Random(f"{seed}:{token}")
                plan = make_plan(stimuli, design, rng)
                cur = db.execute(
                    "INSERT INTO participants (token, link_group, grp, first_label, created_at) VALUES (?,?,?,?,?)",
                    (token, group, None if group == "random" else group, plan["first_label"], time.time()))
                pid = cur.lastrowid
                for pos, (path, label) in enumerate(plan["training"]):
                    db.execute("INSERT INTO training (participant, pos, img_id, label) VALUES (?,?,?,?)",
                               (pid, pos, self._image_id(db, pid, path), label))
                for trial, (a, b, truth) in enumerate(plan["pairs"]):
                    db.execute("INSERT INTO trials (participant, trial, img_a, img_b, truth) VALUES (?,?,?,?,?)",
                               (pid, trial, self._image_id(db, pid, a), self._image_id(db, pid, b), truth))
                tokens.append(token)
        return tokens

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

    def assign_group(self, token: str) -> str:
        """A random link becomes pre or post on first use, keeping the two groups balanced."""
        with self.transaction() as db:
            row = db.execute("SELECT id, grp FROM participants WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise Refused(404, "unknown participant link")
            if row["grp"]:
                return str(row["grp"])
            counts = {g: db.execute("SELECT COUNT(*) FROM participants WHERE link_group = 'random' AND grp = ?",
                                    (g,)).fetchone()[0] for g in RANDOM_GROUPS}
            fewest = min(counts.values())
            group = secrets.choice([g for g in RANDOM_GROUPS if counts[g] == fewest])
            db.execute("UPDATE participants SET grp = ? WHERE id = ?", (group, row["id"]))
            return group

    def phase(self, row: sqlite3.Row) -> str:
        if row["completed_at"] is not None:
            return "done"
        if row["consent_at"] is None:
            return "consent"
        if row["grp"] == "post" and row["hint_at"] is None:
            return "hint"
        if row["training_at"] is None:
            return "training"
        return "test"

    def mark(self, token: str, step: str, needed_phase: str) -> None:
        """Move a participant past consent or hint; repeating a finished step is harmless."""
        column = {"consent": "consent_at", "hint": "hint_at"}[step]
        with self.transaction() as db:
            row = db.execute("SELECT * FROM participants WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise Refused(404, "unknown participant link")
            if row[column] is not None:
                return
            if self.phase(row) != needed_phase:
                raise Refused(409, f"this step belongs to the {needed_phase} screen; the session is at "
                                   f"{self.phase(row)}")
            db.execute(f"UPDATE participants SET {column} = ? WHERE id = ?", (time.time(), row["id"]))

    def training_plan(self, pid: int) -> list[sqlite3.Row]:
        return self.query("SELECT pos, img_id, label FROM training WHERE participant = ? ORDER BY pos", (pid,))

    def test_plan(self, pid: int) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM trials WHERE participant = ? ORDER BY trial", (pid,))

    def finish_training(self, token: str, shown_ms: list[float]) -> None:
        """Store the measured display time of every training picture, once."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM participants WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise Refused(404, "unknown participant link")
            if row["training_at"] is not None:
                return
            if self.phase(row) != "training":
                raise Refused(409, f"training comes after consent (and the hint); the session is at {self.phase(row)}")
            n = db.execute("SELECT COUNT(*) FROM training WHERE participant = ?", (row["id"],)).fetchone()[0]
            if len(shown_ms) != n:
                raise Refused(422, f"expected {n} display times, got {len(shown_ms)}")
            for value in shown_ms:
                check_ms(value, MAX_SHOWN_MS, "shown_ms")
            db.executemany("UPDATE training SET shown_ms = ? WHERE participant = ? AND pos = ?",
                           [(v, row["id"], pos) for pos, v in enumerate(shown_ms)])
            db.execute("UPDATE participants SET training_at = ? WHERE id = ?", (time.time(), row["id"]))

    def answer(self, token: str, trial: int, answer: str, response_ms: float, shown_ms: float) -> dict[str, Any]:
        """Store one answer in its own transaction; the same answer sent again is acknowledged, not stored."""
        if answer not in ANSWERS:
            raise Refused(422, f"answer must be one of {', '.join(ANSWERS)}")
        check_ms(response_ms, MAX_RESPONSE_MS, "response_ms")
        check_ms(shown_ms, MAX_SHOWN_MS, "shown_ms")
        with self.transaction() as db:
            row = db.execute("SELECT * FROM participants WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise Refused(404, "unknown participant link")
            pid, n = row["id"], db.execute("SELECT COUNT(*) FROM trials WHERE participant = ?", (row["id"],)).fetchone()[0]
            if not 0 <= trial < n:
                raise Refused(422, f"trial must be between 0 and {n - 1}")
            stored = db.execute("SELECT answer FROM trials WHERE participant = ? AND trial = ?", (pid, trial)).fetchone()
            if stored["answer"] is not None:
                if stored["answer"] != answer:
                    raise Refused(409, f"trial {trial} was already answered differently; answers cannot change")
                return self._progress(db, pid, n, duplicate=True)
            if self.phase(row) != "test":
                raise Refused(409, f"answers come after training; the session is at {self.phase(row)}")
            expected = db.execute("SELECT COUNT(*) FROM trials WHERE participant = ? AND answer IS NOT NULL",
                                  (pid,)).fetchone()[0]
            if trial != expected:
                raise Refused(409, f"trial {trial} is out of order: the next trial is {expected}")
            db.execute("UPDATE trials SET answer = ?, response_ms = ?, shown_ms = ?, answered_at = ? "
                       "WHERE participant = ? AND trial = ?", (answer, response_ms, shown_ms, time.time(), pid, trial))
            if trial == n - 1:
                db.execute("UPDATE participants SET completed_at = ? WHERE id = ?", (time.time(), pid))
            return self._progress(db, pid, n, duplicate=False)

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
            "SELECT p.id, p.grp, p.completed_at, t.trial, t.truth, t.answer, t.response_ms, t.shown_ms, "
            "ia.path AS path_a, ib.path AS path_b FROM trials t "
            "JOIN participants p ON p.id = t.participant "
            "JOIN images ia ON ia.participant = t.participant AND ia.img_id = t.img_a "
            "JOIN images ib ON ib.participant = t.participant AND ib.img_id = t.img_b "
            "WHERE t.answer IS NOT NULL ORDER BY p.id, t.trial")
        return [{"participant": f"p{r['id']:04d}", "group": r["grp"], "complete": int(r["completed_at"] is not None),
                 "trial": r["trial"], "image_a": r["path_a"], "image_b": r["path_b"], "truth": r["truth"],
                 "answer": r["answer"], "correct": int(r["answer"] == r["truth"]),
                 "response_ms": round(r["response_ms"], 1), "shown_ms": round(r["shown_ms"], 1)} for r in rows]

    def training_rows(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT p.id, p.grp, t.pos, t.label, t.shown_ms, i.path FROM training t "
            "JOIN participants p ON p.id = t.participant "
            "JOIN images i ON i.participant = t.participant AND i.img_id = t.img_id "
            "WHERE t.shown_ms IS NOT NULL ORDER BY p.id, t.pos")
        return [{"participant": f"p{r['id']:04d}", "group": r["grp"], "position": r["pos"], "image": r["path"],
                 "label": r["label"], "shown_ms": round(r["shown_ms"], 1)} for r in rows]

    def progress(self) -> dict[str, Any]:
        """Per group: links made, sessions started and completed, answers stored."""
        out: dict[str, Any] = {}
        for link in self.links():
            group = link["group"] or "random (unassigned)"
            g = out.setdefault(group, {"links": 0, "started": 0, "complete": 0, "answers": 0})
            g["links"] += 1
            g["started"] += int(link["started"])
            g["complete"] += int(link["complete"])
            g["answers"] += link["answered"]
        return out


def check_ms(value: float, upper: float, name: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) \
            or not 0 <= value <= upper:
        raise Refused(422, f"{name} must be a number of milliseconds between 0 and {upper:.0f}")


def make_plan(stimuli: dict[int, list[str]], design: Design, rng: random.Random) -> dict[str, Any]:
    """One participant's pictures: training blocks of both people, then pairs with no image used twice.

    Exactly half the pairs show the same person (half of those each person), so
    every participant sees both kinds of trial; order and sides are random. The
    training pictures are other images than the test ones: a named training picture seen
    again in the test would give its answer away.
    """
    n_same = design.pairs // 2
    n_diff = design.pairs - n_same
    same_label = [i % 2 for i in range(n_same)]
    rng.shuffle(same_label)
    need = {lab: 2 * same_label.count(lab) + n_diff for lab in (0, 1)}
    pools = {}
    for lab in (0, 1):
        pool = list(stimuli[lab])
        if len(pool) < need[lab] + design.train_per_person:
            raise ValueError(f"person {lab} has {len(pool)} study images; {need[lab] + design.train_per_person} "
                             f"are needed ({design.train_per_person} for training, {need[lab]} for "
                             f"{design.pairs} pairs, none shown twice)")
        rng.shuffle(pool)
        pools[lab] = pool
    test_imgs = {lab: pools[lab][:need[lab]] for lab in (0, 1)}
    rest = {lab: pools[lab][need[lab]:] for lab in (0, 1)}
    pairs: list[tuple[str, str, str]] = []
    for lab in same_label:
        pairs.append((test_imgs[lab].pop(), test_imgs[lab].pop(), "same"))
    for _ in range(n_diff):
        a, b = test_imgs[0].pop(), test_imgs[1].pop()
        pairs.append((a, b, "different") if rng.random() < 0.5 else (b, a, "different"))
    rng.shuffle(pairs)
    first = rng.randrange(2)
    training = []
    for lab in (first, 1 - first):
        training += [(p, lab) for p in rng.sample(rest[lab], design.train_per_person)]
    return {"first_label": first, "training": training, "pairs": pairs}
