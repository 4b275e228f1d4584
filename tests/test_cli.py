"""The command line: every registered subcommand (nested ones too) answers --help; synth runs from it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from lookalike import contract as c
from lookalike.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every subcommand path, e.g. ("synth",), ("study", "simulate"): new stages are covered automatically."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found.extend(_commands(sub, (*prefix, name)))
    return found


COMMANDS = _commands(build_parser())


def test_the_basic_stages_are_registered() -> None:
    names = {c[0] for c in COMMANDS}
    assert {"synth", "demo"} <= names


def test_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "synth" in capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_of_every_subcommand(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lookalike {' '.join(command)}")
    assert "--seed" in out  # the global options reach every subcommand


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "usage: lookalike" in capsys.readouterr().out


def test_synth_from_the_command_line_prints_its_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth"
    assert main(["synth", str(out), "--n-per-identity", "2", "--workers", "1", "--json", "--seed", "7"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 4 and summary["seed"] == 7
    assert c.SYNTH_SUMMARY.read_at(out / "summary.json").images == 4
    assert len(list((out / "faces" / "person_b").glob("*.png"))) == 2


@pytest.mark.parametrize("argv, message", [
    (["--regions", "ears"], "unknown region"),
    (["--n-per-identity", "0"], "at least 1"),
    (["--strength", "-1"], "strength"),
])
def test_synth_bad_input_is_a_clear_message(tmp_path: Path, argv: list[str], message: str, cli_error) -> None:
    cli_error(["synth", str(tmp_path / "s"), "--workers", "1", *argv], message)
    assert not (tmp_path / "s" / "faces").exists()


def test_train_takes_epochs_from_set_or_shortcut() -> None:
    """`--set epochs=N` (as `lookalike train --help` shows) reaches the recipe; `--epochs` is the same and wins."""
    from lookalike.cli.training import training_settings

    assert training_settings(["epochs=60", "lr=1e-3"], None) == {"epochs": "60", "lr": "1e-3"}
    assert training_settings(["epochs=60"], 5)["epochs"] == "5"


def test_train_set_may_not_name_an_option_of_the_command(tmp_path: Path, cli_error) -> None:
    cli_error(["train", str(tmp_path / "run"), "--set", "seed=3"], "use --seed")
