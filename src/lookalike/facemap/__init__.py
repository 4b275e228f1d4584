"""The map of the faces as each network sees them: embeddings of the faces laid out in 2-D (t-SNE)."""

from .stage import FacemapSettings, facemap

__all__ = ["FacemapSettings", "facemap"]
