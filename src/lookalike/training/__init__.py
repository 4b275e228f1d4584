"""Training of the paper's two networks (§4.1, §4.3): presets, the loop, metrics and curves.

The entry point is `lookalike.train(run, model="classifier", preset="fast", ...)` (the API);
`loop.train` is the stage behind it for the two networks.
"""
