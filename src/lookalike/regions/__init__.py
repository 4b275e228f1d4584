"""Named face regions, the region ranking of every map, and the hint for people (§6)."""

from ..callable import make_callable  # noqa: E402

make_callable(__name__)  # `lookalike.regions(run, ...)` runs the stage (lookalike.api.regions)
