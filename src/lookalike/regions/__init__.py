"""Named face regions, the region ranking of every map, and the hint for people (§6)."""
