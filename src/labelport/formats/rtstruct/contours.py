"""Planar contours of a mask slice and back, exact for masks on a pixel grid.

Contours run through the centres of a region's boundary pixels (OpenCV ``findContours``: outer boundaries and,
one level down, the boundaries of holes), which is how RT planning systems and rt-utils draw them. Rasterising
is the inverse: a pixel is inside when it lies inside an odd number of contours (holes are XOR-ed out, as the
RTSTRUCT standard combines nested contours) or on any contour. For contours traced from a mask this gives the
mask back exactly; other tools' contours (sub-pixel vertices) come back within one pixel of their boundary.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

# Sub-pixel precision of rasterised vertices: OpenCV's fixed-point shift (1/256 px).
_SHIFT = 8


def trace(mask: npt.NDArray[Any]) -> list[npt.NDArray[np.float64]]:
    """The contours of a 2-D mask [row, column] as (n, 2) arrays of (x = column, y = row) pixel centres;
    outer boundaries and the boundaries of their holes, each closed implicitly (first point not repeated)."""
    image = np.ascontiguousarray(mask, dtype=np.uint8)
    found, _hierarchy = cv2.findContours(image, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return [np.asarray(c, dtype=np.float64).reshape(-1, 2) for c in found]


def fill(contours: list[npt.NDArray[np.float64]], height: int, width: int) -> npt.NDArray[np.bool_]:
    """The mask [row, column] of contours given as (x, y) pixel coordinates (pixel centres at integers)."""
    parity = np.zeros((height, width), dtype=np.uint8)
    edges = np.zeros((height, width), dtype=np.uint8)
    for contour in contours:
        points = np.round(contour * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
        inside = np.zeros((height, width), dtype=np.uint8)
        cv2.fillPoly(inside, [points], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        parity ^= inside
        cv2.polylines(edges, [points], True, 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return np.asarray((parity | edges) != 0)


__all__ = ["fill", "trace"]
