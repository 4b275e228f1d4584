"""The `lookalike` command: a thin argparse layer over the Python API (`lookalike.api`).

Each module here has `register(subparsers, common)` that adds one stage's
subcommand(s); its handler calls the API and returns the stage's summary,
which `--json` prints. The API imports a stage only when it runs, so
`lookalike --help` stays fast. `main` is the one place where a
`LookalikeError` becomes a message and an exit status.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..errors import LookalikeError
from ..io import to_json

# Order is the order of the pipeline; each module registers its own subcommands.
STAGE_MODULES = [
    "lookalike.cli.synth",      # synth
    "lookalike.cli.data",       # prepare, review
    "lookalike.cli.training",   # train, predict
    "lookalike.cli.facemap",    # facemap
    "lookalike.cli.fooling",    # fool
    "lookalike.cli.explain",    # explain
    "lookalike.cli.regions",    # regions
    "lookalike.cli.study",      # study serve|links|export|simulate|analyze
    "lookalike.cli.report",     # report
    "lookalike.cli.demo",       # demo
]


def common_options(suppress: bool) -> argparse.ArgumentParser:
    """Global options, accepted before or after the subcommand."""
    default = argparse.SUPPRESS
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("global options")
    g.add_argument("--seed", type=int, default=default if suppress else 0,
                   help="random seed for everything the command draws (default 0)")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default=default if suppress else "auto",
                   help="where networks run: auto picks CUDA when available (default auto)")
    g.add_argument("--json", action="store_true", default=default if suppress else False,
                   help="print the stage summary as JSON on stdout")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike",
        description="Tell two look-alike faces apart with an interpretable CNN, and teach people how.",
        parents=[common_options(suppress=False)],
        epilog="Run `lookalike demo` for the whole pipeline on synthetic faces. Docs: docs/run-folder.md",
    )
    parser.add_argument("--version", action="version", version=f"lookalike {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_options(suppress=True)
    for name in STAGE_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def run_command(args: argparse.Namespace) -> Any:
    """Run a parsed command and return its result; errors propagate (see `main`)."""
    from ..runtime import set_seed

    set_seed(args.seed)
    return args.func(args)


def main(argv: Sequence[str] | None = None) -> int:
    """The `lookalike` command: the one place where errors become messages and exit statuses."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        result = run_command(args)
    except LookalikeError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted: finished work is kept; rerun the same command to resume", file=sys.stderr)
        return 130
    if args.json and result is not None:
        try:
            print(to_json(result), flush=True)
        except BrokenPipeError:  # `lookalike … --json | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
