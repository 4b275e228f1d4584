"""Shared fixtures: where the shared real data lives, and small runs built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LOOKALIKE_QUIET", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LOOKALIKE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(sub: str) -> Path:
    """Path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared research data is only on developer and CI machines)")
    return path


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests on one PyTorch thread: tiny networks are fastest so, and leave the other core free."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Clock:
    """The store's clock: each reading is 2 s after the last (a pair takes at least 1.2 s), and `advance`
    moves it on, so sessions here take as long as a person's would, without the wait."""

    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 2.0
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def study(tmp_path):
    """A toy run's study (seed 3) on a hand-moved clock, and a test client of its app: (run, store, client)."""
    from fastapi.testclient import TestClient

    from lookalike.study.app import create_app
    from lookalike.study.setup import open_study
    from lookalike.study.toyrun import make_toy_run

    run = make_toy_run(tmp_path / "run")
    store = open_study(run, seed=3)
    store.clock = Clock()
    client = TestClient(create_app(run, store))
    yield run, store, client
    client.close()
    store.close()
