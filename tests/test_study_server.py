"""The real server process: it survives kill -9 mid-session, and 200 participants at once lose nothing."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from lookalike.fakerun import make_fake_run
from lookalike.io import read_csv
from lookalike.study.server import free_socket
from lookalike.study.setup import db_path, open_study
from lookalike.study.simulate import simulate


def start_server(run_root: Path, port: int) -> subprocess.Popen:
    """`lookalike study serve` as its own process, waited for until it answers."""
    env = os.environ | {"LOOKALIKE_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lookalike", "study", "serve", str(run_root), "--port", str(port),
                             "--participants-per-group", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start within 60 s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def a_port() -> int:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


def answer_until_killed(api: str, acked: list[int]) -> None:
    """A second participant answering as fast as it can; records what the server acknowledged."""
    for trial in range(20):
        try:
            res = httpx.post(f"{api}/answer", json={"trial": trial, "answer": "same", "response_ms": 500.0,
                                                    "shown_ms": 1200.0}, timeout=5)
        except httpx.TransportError:
            return
        if res.status_code != 200:
            return
        acked.append(trial)


def test_answers_survive_kill_9_and_the_session_resumes(tmp_path):
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run)
    token, busy = store.create_links("pre", 2)
    truth = store.truth_of(token)
    store.close()
    port = a_port()
    proc = start_server(run.root, port)
    api = f"http://127.0.0.1:{port}/api/p/{token}"
    busy_api = f"http://127.0.0.1:{port}/api/p/{busy}"
    acked: list[int] = []
    try:
        for url in (api, busy_api):
            httpx.post(f"{url}/consent").raise_for_status()
            httpx.post(f"{url}/questionnaire", json={"familiarity_a": "never", "familiarity_b": "never"}).raise_for_status()
            httpx.post(f"{url}/training", json={"shown_ms": [400.0] * 40}).raise_for_status()
        for trial in range(7):
            httpx.post(f"{api}/answer", json={"trial": trial, "answer": truth[trial], "response_ms": 700.0 + trial,
                                              "shown_ms": 1200.0}).raise_for_status()
        worker = threading.Thread(target=answer_until_killed, args=(busy_api, acked))
        worker.start()
        while len(acked) < 3 and worker.is_alive():
            time.sleep(0.01)
    finally:
        stop(proc, signal.SIGKILL)  # mid-session, mid-request: no clean shutdown, no checkpoint
    worker.join(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(db_path(run)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [r[0] for r in db.execute("SELECT t.trial FROM trials t JOIN participants p ON p.id = t.participant "
                                           "WHERE p.token = ? AND t.answer IS NOT NULL ORDER BY t.trial", (token,))]
        busy_stored = [r[0] for r in db.execute(
            "SELECT t.trial FROM trials t JOIN participants p ON p.id = t.participant "
            "WHERE p.token = ? AND t.answer IS NOT NULL ORDER BY t.trial", (busy,))]
    assert stored == list(range(7))
    assert busy_stored[:len(acked)] == acked and len(busy_stored) <= len(acked) + 1  # every acknowledged answer kept

    proc = start_server(run.root, port)
    try:
        state = httpx.get(f"{api}/state").json()
        assert state["phase"] == "test" and state["next_trial"] == 7
        for trial in range(7, 22):  # 20 pairs and 2 catch trials
            httpx.post(f"{api}/answer", json={"trial": trial, "answer": "same", "response_ms": 700.0 + trial,
                                              "shown_ms": 1200.0}).raise_for_status()
        assert httpx.get(f"{api}/state").json()["phase"] == "done"
    finally:
        stop(proc)  # Ctrl-C: the server exports on the way out
    assert proc.returncode == 0, proc.stderr.read().decode()
    rows = read_csv(run.study / "trials.csv")
    mine = [r for r in rows if r["complete"] == "1"]
    assert [float(r["response_ms"]) for r in mine] == [700.0 + t for t in range(22)]
    assert [r["answer"] for r in mine[:7]] == truth[:7]


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def raw_request(port: int, head: str, body: bytes = b"") -> bytes:
    """Send a request line and headers (and the start of a body) and read the reply, as an attacker's script would."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        reply = b""
        while chunk := sock.recv(65536):  # the server closes after a refusal
            reply += chunk
        return reply


def flood(port: int, path: str, size: int, done: list[float]) -> None:
    """POST a `size`-byte JSON body as fast as the server takes it; record how long until the server let go."""
    t0 = time.monotonic()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head + b'{"trial": "' + b"x" * (size - 14) + b'"}')
            sock.recv(4096)
    except OSError:
        pass  # the server refused and closed while the body was still coming: that is the point
    done.append(time.monotonic() - t0)


def test_a_30_mb_body_with_a_bogus_link_is_refused_at_once(tmp_path):
    """Regression: such a request held the server 10-15 s (a health check waited 13 s) and doubled its memory."""
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run)
    token = store.create_links("pre", 1)[0]
    store.close()
    port = a_port()
    proc = start_server(run.root, port)
    try:
        before = peak_rss_kb(proc.pid)
        declared = "Content-Type: application/json\r\nContent-Length: 30000000"
        reply = raw_request(port, f"POST /api/p/bogus/answer HTTP/1.1\r\nHost: x\r\n{declared}", b"{")
        assert reply.startswith(b"HTTP/1.1 404") and b"unknown participant link" in reply  # from the headers alone
        reply = raw_request(port, f"POST /api/p/{token}/answer HTTP/1.1\r\nHost: x\r\n{declared}", b"{")
        assert reply.startswith(b"HTTP/1.1 413")  # a real link, but the body is too big to read
        chunked = "Content-Type: application/json\r\nTransfer-Encoding: chunked"
        chunks = b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(5))
        reply = raw_request(port, f"POST /api/p/{token}/answer HTTP/1.1\r\nHost: x\r\n{chunked}", chunks)
        assert reply.startswith(b"HTTP/1.1 413")  # no length given: cut off after 64 KiB

        done: list[float] = []
        attackers = [threading.Thread(target=flood, args=(port, path, 30_000_000, done))
                     for path in ("/api/p/bogus/answer", f"/api/p/{token}/answer", "/api/health")]
        for t in attackers:
            t.start()
        waits = []
        while any(t.is_alive() for t in attackers) or len(waits) < 5:
            t0 = time.monotonic()
            assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).status_code == 200
            waits.append(time.monotonic() - t0)
            time.sleep(0.02)
        for t in attackers:
            t.join()
        assert max(waits) < 1.0, waits  # the event loop never stopped for the attack
        assert max(done) < 5.0, done
        assert peak_rss_kb(proc.pid) - before < 20_000  # kB: none of the 3 x 30 MB was held
    finally:
        stop(proc)
    assert proc.returncode == 0, proc.stderr.read().decode()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_200_participants_at_once_lose_and_duplicate_nothing(tmp_path):
    run = make_fake_run(tmp_path / "run", 48, faces="plain")
    store = open_study(run)
    admin = store.admin_token()
    store.close()
    port = a_port()
    proc = start_server(run.root, port)
    try:
        result = simulate(f"http://127.0.0.1:{port}", admin, "random", 200, 0.7, seed=5, duplicate_rate=0.3,
                          timeout_s=300)
    finally:
        stop(proc)
    assert result["n_errors"] == 0, result["errors"]
    assert result["duplicates_sent"] > 500  # the idempotent path was exercised
    store = open_study(run)
    stored = {}
    for row in store.trial_rows():
        stored.setdefault(row["participant"], []).append(row)
    by_token = {link["token"]: link["participant"] for link in store.links()}
    for session in result["sessions"]:
        rows = stored[by_token[session["token"]]]
        assert [r["trial"] for r in rows] == list(range(22))  # none lost, none twice
        assert [r["answer"] for r in rows] == session["answers"]
        assert sum(r["correct"] for r in rows if not r["catch"]) == session["correct"]
    groups = store.progress()
    assert groups["pre"]["complete"] + groups["post"]["complete"] == 200
    assert abs(groups["pre"]["complete"] - groups["post"]["complete"]) <= 1
    store.close()
