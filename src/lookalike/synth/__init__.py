"""Synthetic look-alikes: two made-up people who differ only in planted face regions.

`generate(out, n_per_identity)` writes the data set (see docs/run-folder.md,
`synth/`); `render` draws one face from identity and nuisance parameters.
"""

from .generate import generate, image_path, nuisance_for, render_with_truth
from .params import DEFAULT_REGIONS, IDENTITIES, REGIONS, clean, identity_params, sample_nuisance, swap_region
from .render import render

__all__ = ["DEFAULT_REGIONS", "IDENTITIES", "REGIONS", "clean", "generate", "identity_params", "image_path",
           "nuisance_for", "render", "render_with_truth", "sample_nuisance", "swap_region"]

from ..callable import make_callable  # noqa: E402

make_callable(__name__)  # `lookalike.synth(run, ...)` runs the stage (lookalike.api.synth)
