"""`lookalike study simulate`: participants played by code, through the real HTTP API.

Each one does what a browser does (state, consent, questions, hint, training, one
answer per pair) and answers correctly with probability `accuracy` (catch trials,
the same photo twice, always right). Their links are marked simulated, so the
analysis and the report say so beside every result. To know what is
correct it asks the admin-only truth endpoint, so the simulation needs the
run's admin token (read from the run's database). Some answers are sent twice
on purpose, as a flaky network would, to exercise the idempotent answer path.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import SettingError

RETRIES = 6
FRAME_MS = 1000 / 60  # the simulated display: 60 Hz


@dataclass
class Simulated:
    token: str
    answers: list[str] = field(default_factory=list)
    correct: int = 0
    pairs: int = 0  # answers to real pairs (not catch trials)
    duplicates_sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    error: str | None = None


async def _call(client: Any, method: str, url: str, **kwargs: Any) -> Any:
    """One request, retried on connection trouble and 5xx; a 4xx is a bug in the simulation and raises."""
    import httpx

    delay = 0.1
    for attempt in range(RETRIES):
        try:
            res = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise
        else:
            if res.status_code < 500:
                res.raise_for_status()
                return res.json() if res.headers.get("content-type", "").startswith("application/json") else res
            if attempt == RETRIES - 1:
                res.raise_for_status()
        await asyncio.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


async def _participant(client: Any, token: str, group: str, accuracy: float, rng: random.Random,
                       admin: dict[str, str], fetch_images: bool, duplicate_rate: float) -> Simulated:
    sim = Simulated(token)
    api = f"/api/p/{token}"
    state = await _call(client, "GET", f"{api}/state")
    if state["phase"] == "consent":
        await _call(client, "POST", f"{api}/consent")
        state = await _call(client, "GET", f"{api}/state")
    if state["phase"] == "questionnaire":  # experts know both people well; novices have never seen them
        level = "well" if group == "expert" else "never"
        await _call(client, "POST", f"{api}/questionnaire", json={"familiarity_a": level, "familiarity_b": level})
        state = await _call(client, "GET", f"{api}/state")
    if state["phase"] == "hint":
        if state["hint"].get("picture") and fetch_images:
            await _call(client, "GET", state["hint"]["picture"])
        await _call(client, "POST", f"{api}/hint")
        state = await _call(client, "GET", f"{api}/state")
    if state["phase"] == "training":
        if fetch_images:
            for item in state["training"]:
                await _call(client, "GET", item["img"])
        shown = [max(0.0, rng.gauss(state["design"]["train_ms"], 4.0)) for _ in state["training"]]
        await _call(client, "POST", f"{api}/training", json={"shown_ms": shown, "frame_ms": FRAME_MS})
        state = await _call(client, "GET", f"{api}/state")
    if state["phase"] != "test":
        return sim
    plan = await _call(client, "GET", f"/api/admin/truth/{token}", headers=admin)
    truth, catch = plan["truth"], plan["catch"]
    for pair in state["test"]:
        if fetch_images:
            await _call(client, "GET", pair["a"])
            await _call(client, "GET", pair["b"])
        right = truth[pair["trial"]]
        attentive = catch[pair["trial"]] or rng.random() < accuracy  # the same photo twice: always right
        answer = right if attentive else ("different" if right == "same" else "same")
        body = {"trial": pair["trial"], "answer": answer, "shown_ms": max(0.0, rng.gauss(state["design"]["pair_ms"], 4.0)),
                "response_ms": min(rng.lognormvariate(6.9, 0.4), 60_000.0), "frame_ms": FRAME_MS}
        sends = 2 if rng.random() < duplicate_rate else 1
        for _ in range(sends):
            t0 = time.perf_counter()
            await _call(client, "POST", f"{api}/answer", json=body)
            sim.latencies_ms.append(1000 * (time.perf_counter() - t0))
        sim.duplicates_sent += sends - 1
        sim.answers.append(answer)
        if not catch[pair["trial"]]:  # accuracy is over the real pairs, as in equation (1)
            sim.pairs += 1
            sim.correct += answer == right
    return sim


async def simulate_async(url: str, admin_token: str, group: str, n: int, accuracy: float, seed: int = 0,
                         concurrency: int | None = None, fetch_images: bool = False,
                         duplicate_rate: float = 0.1, timeout_s: float = 600.0) -> dict[str, Any]:
    """Make `n` links of `group` through the admin API and run them all at once (at most `concurrency`)."""
    import httpx

    if not 0.0 <= accuracy <= 1.0:
        raise SettingError(f"--accuracy must be a probability between 0 and 1, not {accuracy}")
    admin = {"Authorization": f"Bearer {admin_token}"}
    concurrency = concurrency or n
    tls = ssl.create_default_context()  # loading the CA certificates once, not once per participant's client

    def new_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url, timeout=60.0, verify=tls)

    started = time.perf_counter()
    async with new_client() as client:
        made = await _call(client, "POST", "/api/admin/links", json={"group": group, "n": n, "simulated": True},
                           headers=admin)
    tokens = made["tokens"]
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int, token: str) -> Simulated:
        """Each participant has a client (one connection) of its own, as each has a browser: one pool shared
        by all of them spent most of the simulation's time in httpcore's pool bookkeeping."""
        async with gate:
            try:
                async with new_client() as client:
                    return await _participant(client, token, group, accuracy,
                                              random.Random(f"{seed}:{group}:{i}"), admin, fetch_images,
                                              duplicate_rate)
            except Exception as exc:  # noqa: BLE001 - reported per participant, the rest go on
                return Simulated(token, error=f"{type(exc).__name__}: {exc}")

    sims = await asyncio.wait_for(asyncio.gather(*(one(i, t) for i, t in enumerate(tokens))), timeout_s)
    seconds = time.perf_counter() - started
    answers = sum(len(s.answers) for s in sims)
    pairs = sum(s.pairs for s in sims)
    done = [s for s in sims if s.error is None and s.answers]
    return {
        "url": url, "group": group, "participants": n, "accuracy_asked": accuracy,
        "completed": len(done), "errors": [s.error for s in sims if s.error][:5],
        "n_errors": sum(s.error is not None for s in sims),
        "answers_sent": answers, "duplicates_sent": sum(s.duplicates_sent for s in sims),
        "accuracy_simulated": round(sum(s.correct for s in sims) / pairs, 4) if pairs else None,
        "answer_latency_ms": _percentiles([v for s in sims for v in s.latencies_ms]),
        "seconds": round(seconds, 2), "answers_per_s": round(answers / seconds, 1) if seconds else None,
        "sessions": [{"token": s.token, "answers": s.answers, "correct": s.correct} for s in sims],
    }


def _percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    values = sorted(values)
    pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 1)  # noqa: E731
    return {"p50": pick(0.5), "p95": pick(0.95), "max": round(values[-1], 1)}


def simulate(url: str, admin_token: str, group: str, n: int, accuracy: float, **kwargs: Any) -> dict[str, Any]:
    return asyncio.run(simulate_async(url, admin_token, group, n, accuracy, **kwargs))
