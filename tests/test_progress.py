"""Progress: a bar on a terminal, one line per loop in a redirected log, nothing when quiet."""

from __future__ import annotations

import io
import shutil

import pytest

from lookalike import progress as progress_module
from lookalike.cli import main as cli_main
from lookalike.fakerun import make_fake_run
from lookalike.progress import LineProgress, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def loud(monkeypatch):
    monkeypatch.delenv("LOOKALIKE_QUIET", raising=False)
    monkeypatch.delenv("LOOKALIKE_PROGRESS", raising=False)


def test_a_terminal_gets_a_bar_and_a_file_gets_one_line_per_loop(loud):
    from tqdm.auto import tqdm

    assert isinstance(progress(range(3), file=Terminal()), tqdm)
    log = io.StringIO()
    bar = progress(range(250), desc="classifier epoch 3/40", file=log)
    assert isinstance(bar, LineProgress)
    for _ in bar:
        bar.set_postfix(loss="0.512", acc="0.780")
    text = log.getvalue()
    assert "\r" not in text and text.count("\n") == 1
    assert text.startswith("classifier epoch 3/40: 250/250 in ") and text.rstrip().endswith("(loss 0.512, acc 0.780)")


def test_manual_updates_a_loop_left_early_and_a_long_loop(loud, monkeypatch):
    log = io.StringIO()
    bar = progress(total=10, desc="write", unit="file", file=log)
    bar.update(4)
    bar.update()
    bar.close()
    bar.close()  # closing twice writes once
    assert log.getvalue() == log.getvalue().splitlines()[0] + "\n" and "write: 5/10 file in" in log.getvalue()
    log = io.StringIO()
    for k in progress(range(100), desc="regions", file=log):
        if k == 6:
            break
    assert log.getvalue().startswith("regions: 6/100 in ")
    monkeypatch.setattr(progress_module, "HEARTBEAT_S", 0.0)  # every update is "a long time" later
    log = io.StringIO()
    for _ in progress(range(3), desc="slow", file=log):
        pass
    assert log.getvalue().count("so far") == 3 and log.getvalue().count("\n") == 4


def test_quiet_and_forced_forms(loud, monkeypatch):
    log = io.StringIO()
    for _ in progress(range(5), desc="x", file=log, disable=True):
        pass
    assert log.getvalue() == ""
    monkeypatch.setenv("LOOKALIKE_QUIET", "1")
    for _ in progress(range(5), desc="x", file=log):
        pass
    assert log.getvalue() == ""
    monkeypatch.delenv("LOOKALIKE_QUIET")
    monkeypatch.setenv("LOOKALIKE_PROGRESS", "lines")
    assert isinstance(progress(range(2), file=Terminal()), LineProgress)


def test_a_redirected_training_log_has_one_line_per_epoch(loud, tmp_path, capsys, one_torch_thread):
    run = make_fake_run(tmp_path / "toy", 30, faces="cheeks", seed=0)
    shutil.copytree(run.data, tmp_path / "run" / "data")
    epochs = 4
    assert cli_main(["train", str(tmp_path / "run"), "--model", "classifier", "--preset", "tiny", "--epochs",
                     str(epochs), "--set", "limit_train=40", "--set", "stop_when_perfect=false",
                     "--device", "cpu"]) == 0
    log = capsys.readouterr().err
    assert "\r" not in log
    epoch_lines = [line for line in log.splitlines() if line.startswith("classifier epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == [f"classifier epoch {k}/{epochs}" for k in
                                                            range(1, epochs + 1)]
    assert all("loss" in line and "acc" in line for line in epoch_lines)
    assert len(log.encode()) < 200 * epochs + 1500, log  # 40 epochs: well under 10 KB
