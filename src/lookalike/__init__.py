"""lookalike: teach people to tell two look-alike faces apart with an interpretable CNN."""

__version__ = "0.1.0"
