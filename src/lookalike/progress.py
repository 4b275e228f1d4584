"""One progress-bar factory so every long loop looks the same and can be silenced."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> tqdm:
    """tqdm with our defaults; disabled when LOOKALIKE_QUIET=1 or stderr is not a terminal in CI."""
    quiet = os.environ.get("LOOKALIKE_QUIET") == "1"
    kwargs.setdefault("disable", quiet)
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)
