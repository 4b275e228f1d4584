"""The paper's two networks (§4.1, §4.3) and how they are saved and loaded.

Every network takes float images in [0, 1] (N×3×128×128) and normalises
internally, so attacks and attribution methods work in plain pixel space.
"""

from .classifier import VGGClassifier
from .registry import build_model, load_model, save_model
from .siamese import SiameseNet, siamese_loss

__all__ = ["VGGClassifier", "SiameseNet", "siamese_loss", "build_model", "load_model", "save_model"]
