"""The aligned-face geometry shared by synthesis, alignment and region analysis.

`TEMPLATE_68` is where dlib's 68 landmarks sit on an aligned 128×128 face.
It was measured, not copied: the median of dlib's 68-point landmarks over the
`faces-dev` crops (resized 112→128), mirrored to be left/right symmetric, then
shrunk by 0.85 about the centre so that chin and forehead fit in the crop.
"""

from __future__ import annotations

import numpy as np

SIZE = 128

TEMPLATE_68 = np.array(
    [[24.9, 63.6], [25.8, 72.9], [26.8, 83.1], [28.3, 92.5], [31.7, 101.4], [36.8, 109.5], [44.4, 115.8],
     [53.8, 119.2], [64.0, 119.2], [74.2, 119.2], [83.6, 115.8], [91.2, 109.5], [96.3, 101.4], [99.7, 92.5],
     [101.2, 83.1], [102.2, 72.9], [103.1, 63.6], [31.3, 53.8], [36.4, 50.0], [43.2, 48.7], [50.0, 49.6],
     [55.9, 52.5], [72.1, 52.5], [78.0, 49.6], [84.8, 48.7], [91.6, 50.0], [96.7, 53.8], [64.0, 60.6],
     [64.0, 67.4], [64.0, 74.2], [64.0, 81.0], [56.8, 85.2], [60.2, 87.0], [64.0, 87.8], [67.8, 87.0],
     [71.2, 85.2], [38.9, 61.4], [43.2, 58.9], [48.7, 58.9], [53.4, 62.7], [48.3, 64.0], [43.2, 63.6],
     [74.6, 62.7], [79.3, 58.9], [84.8, 58.9], [89.1, 61.4], [84.8, 63.6], [79.7, 64.0], [48.3, 97.2],
     [54.2, 95.4], [59.8, 94.6], [64.0, 95.4], [68.2, 94.6], [73.8, 95.4], [79.7, 97.2], [74.2, 102.7],
     [68.2, 104.8], [64.0, 105.6], [59.8, 104.8], [53.8, 102.7], [50.4, 98.0], [59.8, 98.0], [64.0, 98.0],
     [68.2, 98.0], [77.6, 98.0], [68.2, 99.7], [64.0, 100.1], [59.8, 99.7]],
    dtype=np.float32,
)

# dlib's 68-point index groups (iBUG 300-W order). "Left/right" are the image's left/right.
JAW = list(range(0, 17))
BROW_LEFT = list(range(17, 22))
BROW_RIGHT = list(range(22, 27))
NOSE_BRIDGE = list(range(27, 31))
NOSE_LOWER = list(range(31, 36))
EYE_LEFT = list(range(36, 42))
EYE_RIGHT = list(range(42, 48))
MOUTH_OUTER = list(range(48, 60))
MOUTH_INNER = list(range(60, 68))

# index of each point's mirror image, for flipping landmarks with the picture
MIRROR_68 = [16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
             27, 28, 29, 30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, 54, 53, 52, 51,
             50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65]


def landmark_columns() -> list[str]:
    """Column names of landmarks.csv after `path`: x0, y0, …, x67, y67."""
    return [f"{axis}{i}" for i in range(68) for axis in ("x", "y")]
