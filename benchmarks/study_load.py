"""Load on the study server: 200 participants at human pace, then 200 answering as fast as they can.

Starts the real server (`lookalike study serve`, synchronous=FULL) as its own process on
a free loopback port over a toy run, and plays N participants through the HTTP API:
state, consent, questions, (hint,) training, then every answer (20 % of them sent twice, as a flaky
network would). Two loads, each on a fresh database:

- human: each participant waits 1-2 s (uniform) before every request; goal p99 < 50 ms.
- burst: no waiting at all; once every participant has trained, all send their 20 answers
  back to back, and answers/s is timed over that burst; goal >= 1,000 answers/s on 2 cores.

Each load then checks that the database holds exactly one row per trial with the answer
that was sent (nothing lost, nothing stored twice). The client speaks raw HTTP/1.1 over
keep-alive connections so that on a 2-core machine it leaves the server most of the CPU.
Reports p50/p95/p99/max answer latency, answers/s, the load average before and after,
and peak memory; writes benchmarks/results/study_load.json.

After the loads, `disk` measures the floor that durability puts under any design on this machine:
the same number of 4 KB appends to a file beside the database, each followed by fdatasync (what a
synchronous=FULL commit of one answer costs the disk at least), paced at the human load's answer
rate, with no server and no SQLite. When its p99 is above the human goal, no server that waits for
the disk before it answers can meet that goal here.

    .venv/bin/python benchmarks/study_load.py [--n 200] [--load human|burst|both] [--no-disk]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import peak_rss_mb, write_result

from lookalike.fakerun import make_fake_run
from lookalike.study.server import free_socket
from lookalike.study.setup import open_study

GOALS = {"human": "p99 < 50 ms", "burst": ">= 1000 answers/s"}


class Connection:
    """One keep-alive HTTP/1.1 connection; `request` returns (status, parsed JSON body)."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None, headers: str = "") -> tuple[int, Any]:
        for attempt in range(3):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            payload = b"" if body is None else json.dumps(body).encode()
            head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n{headers}\r\n").encode()
            try:
                self.writer.write(head + payload)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionError("closed")
                length, close = 0, False
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                data = await self.reader.readexactly(length) if length else b""
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if close:
                self.close()
            return int(status_line.split()[1]), json.loads(data) if data else None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def participant(port: int, token: str, truth: list[str], rng: random.Random, pace: bool,
                      latencies: list[float], sent: dict[str, list[str]], start: Barrier) -> None:
    conn = Connection(port)
    api = f"/api/p/{token}"

    async def call(method: str, path: str, body: Any = None, answer: bool = False) -> Any:
        if pace:
            await asyncio.sleep(rng.uniform(1.0, 2.0))
        t0 = time.perf_counter()
        status, data = await conn.request(method, api + path, body)
        if answer:
            latencies.append(1000 * (time.perf_counter() - t0))
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {data}")
        return data

    state = await call("GET", "/state")
    await call("POST", "/consent")
    await call("POST", "/questionnaire", {"familiarity_a": "never", "familiarity_b": "never"})
    state = await call("GET", "/state")
    if state["phase"] == "hint":
        await call("POST", "/hint")
        state = await call("GET", "/state")
    await call("POST", "/training", {"shown_ms": [rng.gauss(400, 4) for _ in state["training"]]})
    state = await call("GET", "/state")
    await start.wait()
    answers = []
    for pair in state["test"]:
        answer = truth[pair["trial"]] if rng.random() < 0.7 else rng.choice(["same", "different"])
        body = {"trial": pair["trial"], "answer": answer, "shown_ms": rng.gauss(1200, 4),
                "response_ms": rng.lognormvariate(6.9, 0.4)}
        for _ in range(2 if rng.random() < 0.2 else 1):
            await call("POST", "/answer", body, answer=True)
        answers.append(answer)
    sent[token] = answers
    conn.close()


class Barrier:
    """Where the burst participants wait until all are at their first pair; then every answer goes at once."""

    def __init__(self, parties: int, enabled: bool):
        self.parties, self.enabled, self.arrived = parties, enabled, 0
        self.go = asyncio.Event()
        self.opened_at, self.cpu_at = time.perf_counter(), time.process_time()
        if not enabled:
            self.go.set()

    async def wait(self) -> None:
        self.arrived += 1
        if self.enabled and self.arrived == self.parties:
            self.opened_at, self.cpu_at = time.perf_counter(), time.process_time()
            self.go.set()
        await self.go.wait()


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 2)  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": round(values[-1], 2)}


async def play(port: int, admin: str, n: int, pace: bool) -> dict[str, Any]:
    conn = Connection(port)
    status, made = await conn.request("POST", "/api/admin/links", {"group": "random", "n": n},
                                      headers=f"Authorization: Bearer {admin}\r\n")
    assert status == 200, made
    truths = {}
    for token in made["tokens"]:
        status, data = await conn.request("GET", f"/api/admin/truth/{token}",
                                          headers=f"Authorization: Bearer {admin}\r\n")
        truths[token] = data["truth"]
    conn.close()
    latencies: list[float] = []
    sent: dict[str, list[str]] = {}
    start = Barrier(n, enabled=not pace)
    results = await asyncio.gather(*(participant(port, t, truths[t], random.Random(f"{pace}:{i}"), pace,
                                                 latencies, sent, start) for i, t in enumerate(made["tokens"])),
                                   return_exceptions=True)
    seconds = time.perf_counter() - start.opened_at  # burst: the answers alone; human: whole sessions
    client_cpu = time.process_time() - start.cpu_at
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    answers = sum(len(a) for a in sent.values())
    return {"seconds": round(seconds, 2), "answers": answers, "answer_requests": len(latencies),
            "answers_per_s": round(answers / seconds, 1), "answer_requests_per_s": round(len(latencies) / seconds, 1),
            "answer_latency_ms": percentiles(latencies) if latencies else None,
            "client_cpu_s": round(client_cpu, 2), "errors": len(errors), "first_errors": errors[:3], "sent": sent}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident memory of a live process (Linux), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def one_load(name: str, n: int) -> dict[str, Any]:
    """A fresh toy run and server, one load played against it, then the database checked row by row."""
    with tempfile.TemporaryDirectory() as tmp:
        run = make_fake_run(Path(tmp) / "run", 48, faces="plain")
        store = open_study(run)
        admin, synchronous = store.admin_token(), store.pragma("synchronous")
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        proc = subprocess.Popen([sys.executable, "-m", "lookalike", "study", "serve", str(run.root), "--port",
                                 str(port), "--participants-per-group", "0"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=os.environ | {"LOOKALIKE_QUIET": "1"})
        try:
            deadline = time.monotonic() + 600  # a loaded machine may take minutes to import the server
            while True:
                try:
                    asyncio.run(Connection(port).request("GET", "/api/health"))
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("the study server did not start") from None
                    time.sleep(0.2)
            load_before, cpu_before = os.getloadavg(), cpu_seconds(proc.pid)
            result = asyncio.run(play(port, admin, n, pace=name == "human"))
            load_after, cpu_used = os.getloadavg(), cpu_seconds(proc.pid) - cpu_before
            server_mb = vm_hwm_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        stored: dict[str, list[str]] = {}
        token_of = {link["participant"]: link["token"] for link in store.links()}
        for row in store.trial_rows():
            stored.setdefault(token_of[row["participant"]], []).append((row["trial"], row["answer"]))
        store.close()
    sent = result.pop("sent")
    wrong = sum(stored.get(t, []) != list(enumerate(a)) for t, a in sent.items())
    return {**result, "goal": GOALS[name], "participants": n, "synchronous": {2: "FULL", 1: "NORMAL"}.get(synchronous),
            "rows_stored": sum(len(v) for v in stored.values()), "sessions_lost_or_duplicated": wrong,
            "server_cpu_s": round(cpu_used, 2), "server_cpu_ms_per_request": round(
                1000 * cpu_used / (result["answer_requests"] + 5 * n + 1 + n), 3),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load_after],
            "peak_rss_mb": {"server": server_mb, "client": peak_rss_mb()}}


def disk_floor(rate: float, n: int) -> dict[str, Any]:
    """Latency of `n` appends of 4 KB, each made durable with fdatasync, at `rate` per second."""
    block = os.urandom(4096)
    lat = []
    with tempfile.TemporaryDirectory() as tmp:
        fd = os.open(Path(tmp) / "probe.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            start = time.perf_counter()
            for i in range(n):
                t = time.perf_counter()
                os.write(fd, block)
                os.fdatasync(fd)
                lat.append(1000 * (time.perf_counter() - t))
                time.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
        finally:
            os.close(fd)
    return {"appends": n, "rate_per_s": round(rate, 1), "fdatasync_ms": percentiles(lat),
            "what": "4 KB append + fdatasync per answer, no server, no SQLite: the floor durability sets"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="participants at once (default 200)")
    ap.add_argument("--load", choices=["human", "burst", "both"], default="both")
    ap.add_argument("--no-disk", action="store_true", help="skip the fdatasync probe of the disk")
    args = ap.parse_args()
    loads = ["human", "burst"] if args.load == "both" else [args.load]
    out = {"cpus": os.cpu_count(), **{name: one_load(name, args.n) for name in loads}}
    if not args.no_disk:
        human = out.get("human", {})
        # as many appends as the human load sent answers, at its rate (without it: 2,000 at 130/s)
        out["disk"] = disk_floor(human.get("answer_requests_per_s") or 130.0, human.get("answer_requests") or 2000)
    write_result("study_load.json", out)
    print(json.dumps(out, indent=2))
    bad = any(out[name]["errors"] or out[name]["sessions_lost_or_duplicated"] for name in loads)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
