"""Stage packages you can call: `lk.explain(run)` runs the stage, `lk.explain.sanity` is still its code.

`import lookalike as lk` offers one function per stage, and some stages live in a
package of the same name (`lookalike.explain`, `lookalike.regions`, `lookalike.report`,
`lookalike.synth`, `lookalike.demo`). Python binds a package's name to the package
once it is imported, so those packages are made callable instead: calling one calls
the function of the same name in `lookalike.api`, looked up when called.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class StagePackage(types.ModuleType):
    """A module that, called, runs `lookalike.api.<its name>` with the same arguments."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module("lookalike.api")
        return getattr(api, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Turn the (already imported) module `module_name` into a StagePackage."""
    sys.modules[module_name].__class__ = StagePackage
