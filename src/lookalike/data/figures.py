"""`data/overview.png`: what the prepared data set looks like, at a glance.

One row of sample faces per person and, beside them, the mean face of each
person with the template landmarks drawn on top: if alignment worked, the
mean face is sharp around the eyes and the dots sit on the eyes, nose and
mouth. A blurry mean face or dots beside the features means bad alignment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..face.template import TEMPLATE_68
from ..io import save_figure


def overview_figure(path: Path, persons: list[str], crops: list[list[np.ndarray]], per_row: int = 8,
                    seed: int = 0) -> Path | None:
    """Save the overview PNG; `crops[i]` are the kept 128×128 crops of person i."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not any(crops):
        return None
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(persons), per_row + 1, figsize=(1.3 * (per_row + 1), 1.45 * len(persons)),
                             squeeze=False)
    for row, (name, faces) in enumerate(zip(persons, crops)):
        pick = rng.choice(len(faces), size=min(per_row, len(faces)), replace=False) if faces else []
        for col in range(per_row):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(pick):
                ax.imshow(faces[int(pick[col])])
        ax = axes[row, 0]
        ax.set_title(f"{name} ({len(faces)})", fontsize=8, loc="left")
        mean = axes[row, per_row]
        mean.axis("off")
        if faces:
            total = np.zeros(faces[0].shape, np.float64)
            for face in faces:  # running sum: stacking thousands of crops as floats would take GBs
                total += face
            mean.imshow((total / len(faces)).astype(np.uint8))
            mean.scatter(TEMPLATE_68[:, 0], TEMPLATE_68[:, 1], s=1.5, c="#00e5ff")
            mean.set_title("mean + template", fontsize=7)
    fig.suptitle("kept faces (random sample) and mean aligned face", fontsize=9)
    fig.tight_layout()
    return save_figure(path, fig)
