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


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory):
    """`lookalike demo --quick` once per session: the end-to-end test and the reader's tests share it."""
    from lookalike.cli import main

    run = tmp_path_factory.mktemp("quick-demo") / "demo"
    assert main(["demo", str(run), "--quick"]) == 0
    return run


@pytest.fixture
def cli_error(capsys):
    """`cli_error(argv, pattern)`: `lookalike ARGV` stops with exit status 1 and a message matching `pattern`."""
    import re

    from lookalike.cli import main

    def check(argv: list[str], pattern: str = "") -> str:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 1, f"exit status {code}, stderr: {err}"
        assert re.search(pattern, err), f"{pattern!r} not in stderr: {err}"
        return err

    return check
