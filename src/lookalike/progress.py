"""One progress factory so every long loop looks the same: a bar on a terminal, one line in a log.

On a terminal (or in a notebook) `progress` is a tqdm bar. When stderr is redirected to a
file or a pipe, a bar's carriage-return frames would fill the log (a 40-epoch `train` wrote
158 KB of them), so the loop instead writes ONE line when it ends, with its count, time and
last postfix ("classifier epoch 3/40: 25/25 steps in 4.1 s (loss 0.512, acc 0.780)"), and,
on a loop that runs for minutes, a line every `HEARTBEAT_S` seconds so the log shows it is alive.

LOOKALIKE_QUIET=1 silences both; LOOKALIKE_PROGRESS=bar|lines forces one form.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

T = TypeVar("T")
HEARTBEAT_S = 120.0


def _interactive(stream: IO[str]) -> bool:
    """Whether a person watches `stream` live: a terminal, or a Jupyter kernel (tqdm draws a widget there)."""
    forced = os.environ.get("LOOKALIKE_PROGRESS", "").lower()
    if forced in ("bar", "lines"):
        return forced == "bar"
    if "ipykernel" in sys.modules:
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def quiet() -> bool:
    """LOOKALIKE_QUIET=1: no progress lines, and no other lines about long work either."""
    return os.environ.get("LOOKALIKE_QUIET") == "1"


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> Any:
    """A tqdm bar on a terminal, a `LineProgress` otherwise; silent when LOOKALIKE_QUIET=1 or disable=True."""
    kwargs.setdefault("disable", quiet())
    kwargs.setdefault("file", sys.stderr)
    if not _interactive(kwargs["file"]):
        return LineProgress(iterable, **kwargs)
    from tqdm.auto import tqdm

    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class LineProgress:
    """The part of tqdm's interface our loops use, writing one line per loop instead of a redrawn bar."""

    def __init__(self, iterable: Iterable[Any] | None = None, desc: str | None = None, total: float | None = None,
                 unit: str = "it", file: IO[str] | None = None, disable: bool = False, **_: Any):
        self.iterable, self.desc, self.unit, self.disable = iterable, desc or "", unit, bool(disable)
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total, self.n, self.postfix = total, 0.0, ""
        self.file = file if file is not None else sys.stderr
        self.start = self.last_line = time.monotonic()
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("LineProgress made without an iterable cannot be iterated")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        self.n += n
        if not self.disable and time.monotonic() - self.last_line >= HEARTBEAT_S:
            self._write(done=False)

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k} {v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:
        """Nothing to redraw: a line is written when the loop ends."""

    def write(self, s: str) -> None:
        print(s, file=self.file, flush=True)

    def line(self, done: bool = True) -> str:
        """The text of the line: `desc: n/total unit in t s (postfix)`; 'so far' while the loop runs."""
        seconds = time.monotonic() - self.start
        count = _count(self.n) + (f"/{_count(self.total)}" if self.total else "")
        unit = "" if self.unit == "it" else f" {self.unit}"
        head = f"{self.desc}: " if self.desc else ""
        tail = f" ({self.postfix})" if self.postfix else ""
        return f"{head}{count}{unit} in {seconds:.1f} s{'' if done else ' so far'}{tail}"

    def _write(self, done: bool) -> None:
        self.last_line = time.monotonic()
        try:
            print(self.line(done), file=self.file, flush=True)
        except (OSError, ValueError):  # a closed pipe must not stop the work
            self.disable = True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.disable:
            self._write(done=True)
