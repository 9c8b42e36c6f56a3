"""Rasterisation with Labelbox's semantics (OpenCV), and Labelbox-style MaskData / Mask.

Semantics (anchors/labelbox/referee/draw_semantics.json, labelbox 5.2.1 to 7.17.0):

- coordinates are truncated to int32, never rounded, no anti-aliasing;
- polygons and rectangles fill with ``cv2.fillPoly`` when ``thickness == -1`` (boundary included,
  so a rectangle (1,1)-(3,2) covers x 1..3, y 1..2) and are closed outlines otherwise;
- polylines are open ``cv2.polylines`` of the given thickness (default 1);
- a point is a filled circle of radius ``thickness`` (default 10).

Every drawing function returns the canvas: a new ``uint8`` H x W array holding ``color`` (default 1)
on a zero background, or the caller's canvas (2-D, or H x W x 3 with a colour tuple) drawn in place.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError, ValidationError
from labelport.imaging.codecs import check_mask_size, decode_png_composite

Coordinate = tuple[float, float] | Sequence[float]
Color = int | tuple[int, int, int]


def _canvas(height: int | None, width: int | None, canvas: npt.NDArray[np.uint8] | None) -> npt.NDArray[np.uint8]:
    if canvas is not None:
        if canvas.dtype != np.uint8 or canvas.ndim not in (2, 3):
            raise ValidationError(
                f"a canvas is a uint8 H x W or H x W x 3 array, found {canvas.dtype} {canvas.shape}",
                field="canvas",
                value=canvas.shape,
            )
        return canvas
    if height is None or width is None:
        raise ValidationError("give height and width, or a canvas", field="canvas")
    check_mask_size(height, width)
    return np.zeros((height, width), dtype=np.uint8)


def _points(points: Sequence[Coordinate], minimum: int, kind: str) -> npt.NDArray[np.int32]:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < minimum:
        raise ValidationError(
            f"a {kind} needs at least {minimum} (x, y) points, found shape {array.shape}",
            field="points",
            value=array.shape,
        )
    if not np.all(np.isfinite(array)):
        raise ValidationError(f"{kind} coordinates must be finite, found {array.tolist()}", field="points")
    # Labelbox truncates toward zero (astype(int32)), it does not round.
    return array.astype(np.int32)


def _cv_color(color: Color, canvas: npt.NDArray[np.uint8]) -> Any:
    if isinstance(color, tuple):
        return tuple(int(c) for c in color)
    return int(color) if canvas.ndim == 2 else (int(color),) * canvas.shape[2]


def draw_polygon(
    points: Sequence[Coordinate],
    height: int | None = None,
    width: int | None = None,
    *,
    canvas: npt.NDArray[np.uint8] | None = None,
    color: Color = 1,
    thickness: int = -1,
) -> npt.NDArray[np.uint8]:
    """Fill a polygon (``thickness=-1``) or draw its closed outline of ``thickness`` px."""
    target = _canvas(height, width, canvas)
    pts = _points(points, 3, "polygon")
    # OpenCV draws into the array in place; the canvas is the result.
    if thickness == -1:
        cv2.fillPoly(target, [pts], _cv_color(color, target))
    else:
        cv2.polylines(target, [pts], True, _cv_color(color, target), int(thickness))
    return target


def draw_rectangle(
    start: Coordinate,
    end: Coordinate,
    height: int | None = None,
    width: int | None = None,
    *,
    canvas: npt.NDArray[np.uint8] | None = None,
    color: Color = 1,
    thickness: int = -1,
) -> npt.NDArray[np.uint8]:
    """Fill a rectangle from two opposite corners (boundary included), or outline it."""
    (x0, y0), (x1, y1) = start, end
    corners = [(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]  # Labelbox's GeoJSON ring
    return draw_polygon(corners, height, width, canvas=canvas, color=color, thickness=thickness)


def draw_polyline(
    points: Sequence[Coordinate],
    height: int | None = None,
    width: int | None = None,
    *,
    canvas: npt.NDArray[np.uint8] | None = None,
    color: Color = 1,
    thickness: int = 1,
) -> npt.NDArray[np.uint8]:
    """Draw an open polyline of ``thickness`` px."""
    target = _canvas(height, width, canvas)
    pts = _points(points, 2, "polyline")
    if thickness < 1:
        raise ValidationError(f"a polyline thickness is at least 1 px, found {thickness}", field="thickness")
    cv2.polylines(target, [pts], False, _cv_color(color, target), int(thickness))
    return target


def draw_point(
    point: Coordinate,
    height: int | None = None,
    width: int | None = None,
    *,
    canvas: npt.NDArray[np.uint8] | None = None,
    color: Color = 1,
    thickness: int = 10,
) -> npt.NDArray[np.uint8]:
    """Draw a point as a filled circle of radius ``thickness`` px (Labelbox default 10)."""
    target = _canvas(height, width, canvas)
    (x, y) = _points([point], 1, "point")[0]
    if thickness < 0:
        raise ValidationError(f"a point radius is at least 0 px, found {thickness}", field="thickness")
    cv2.circle(target, (int(x), int(y)), int(thickness), _cv_color(color, target), -1)
    return target


class MaskData:
    """A mask image as Labelbox holds it: uint8 H x W x 3, from an array, PNG bytes, a file or a URL.

    Exactly one source is given. Bytes, files and URLs are decoded lazily on first ``value``; a URL is
    fetched only then (never during import or conversion unless the pixels are needed).
    """

    __slots__ = ("_arr", "file_path", "im_bytes", "url")

    def __init__(
        self,
        *,
        arr: npt.NDArray[np.uint8] | None = None,
        im_bytes: bytes | None = None,
        file_path: str | os.PathLike[str] | None = None,
        url: str | None = None,
    ) -> None:
        given = [
            name
            for name, v in (("arr", arr), ("im_bytes", im_bytes), ("file_path", file_path), ("url", url))
            if v is not None
        ]
        if len(given) != 1:
            raise ValidationError(
                f"MaskData needs exactly one of arr, im_bytes, file_path, url; found {given or 'none'}",
                field="MaskData",
                value=given,
            )
        if arr is not None:
            arr = self._check_array(arr)
        self._arr = arr
        self.im_bytes = im_bytes
        self.file_path = None if file_path is None else os.fspath(file_path)
        self.url = url

    @staticmethod
    def _check_array(arr: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValidationError(
                f"MaskData arr must be uint8 H x W x 3, found {arr.dtype} {arr.shape}",
                field="arr",
                value=arr.shape,
            )
        check_mask_size(arr.shape[0], arr.shape[1])
        return arr

    @classmethod
    def from_2D_array(cls, array: npt.ArrayLike) -> MaskData:
        """A MaskData from a 2-D integer or boolean array of values 0..255, stacked to 3 channels."""
        arr = np.asarray(array)
        if arr.ndim != 2:
            raise ValidationError(f"from_2D_array needs a 2-D array, found shape {arr.shape}", field="array")
        if arr.dtype != np.uint8:
            if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
                raise ValidationError(
                    f"from_2D_array needs integer values 0..255, found dtype {arr.dtype}", field="array"
                )
            if arr.size and (arr.min() < 0 or arr.max() > 255):
                bad = arr.min() if arr.min() < 0 else arr.max()
                raise ValidationError(f"from_2D_array needs values 0..255, found {bad}", field="array", value=bad)
            arr = arr.astype(np.uint8)
        return cls(arr=np.repeat(arr[:, :, None], 3, axis=2))

    from_2D_arr = from_2D_array  # Labelbox SDK spelling

    @property
    def value(self) -> npt.NDArray[np.uint8]:
        """The pixels, uint8 H x W x 3 (grey PNGs stacked, alpha dropped)."""
        if self._arr is None:
            self._arr = self._check_array(decode_png_composite(self._read_bytes()))
        return self._arr

    def _read_bytes(self) -> bytes:
        if self.im_bytes is not None:
            return self.im_bytes
        if self.file_path is not None:
            try:
                with open(self.file_path, "rb") as handle:
                    return handle.read()
            except OSError as exc:
                raise MediaError(f"{self.file_path}: cannot read mask ({exc})", path=self.file_path) from exc
        if self.url is None:  # unreachable: the constructor requires exactly one source
            raise MediaError("MaskData has no source")
        try:
            with urllib.request.urlopen(self.url, timeout=60) as response:
                return bytes(response.read())
        except (OSError, ValueError) as exc:
            raise MediaError(f"{self.url}: cannot fetch mask ({exc})", path=self.url) from exc

    def __repr__(self) -> str:
        if self._arr is not None:
            return f"MaskData(arr={self._arr.shape})"
        source = self.url or self.file_path or f"<{len(self.im_bytes or b'')} bytes>"
        return f"MaskData({source})"


def _parse_color(color: Color | Sequence[int]) -> Color:
    if isinstance(color, int | np.integer):
        if not 0 <= color <= 255:
            raise ValidationError(f"a mask colour is 0..255, found {color}", field="color", value=color)
        return int(color)
    values = tuple(color)
    if len(values) == 1:
        values = values * 3  # Labelbox expands a 1-tuple
    if len(values) != 3 or not all(isinstance(c, int | np.integer) and 0 <= c <= 255 for c in values):
        raise ValidationError(
            f"a mask colour is an int or (r, g, b) with 0..255 each, found {color!r}",
            field="color",
            value=color,
        )
    return (int(values[0]), int(values[1]), int(values[2]))


class Mask:
    """One colour of a (possibly composite) MaskData: the pixels whose three channels equal ``color``."""

    __slots__ = ("color", "mask")

    def __init__(self, mask: MaskData, color: Color | Sequence[int]) -> None:
        self.mask = mask
        self.color: Color = _parse_color(color)

    def pixels(self) -> npt.NDArray[np.bool_]:
        """Boolean H x W: where all three channels equal the colour (an int must match all three)."""
        selected: npt.NDArray[np.bool_] = np.all(self.mask.value == np.asarray(self.color, dtype=np.uint8), axis=2)
        return selected

    def draw(
        self,
        height: int | None = None,
        width: int | None = None,
        canvas: npt.NDArray[np.uint8] | None = None,
        color: Color | None = None,
    ) -> npt.NDArray[np.uint8]:
        """Labelbox ``Mask.draw``: 2-D filled with an int colour, or H x W x 3 for a tuple colour."""
        selected: npt.NDArray[np.uint8] = self.pixels().astype(np.uint8)
        if height is not None or width is not None:
            h = height if height is not None else selected.shape[0]
            w = width if width is not None else selected.shape[1]
            check_mask_size(h, w)
            # Nearest neighbour keeps the mask binary (Labelbox's default bilinear blurs edges to 0).
            selected = np.asarray(cv2.resize(selected, (w, h), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
        paint = self.color if color is None else color
        dims: tuple[int, ...] = selected.shape
        if isinstance(paint, tuple):
            dims = (*dims, len(paint))
        target = canvas if canvas is not None else np.zeros(dims, dtype=np.uint8)
        target[selected.astype(bool)] = paint
        return target

    def __repr__(self) -> str:
        return f"Mask({self.mask!r}, color={self.color!r})"


__all__ = [
    "Mask",
    "MaskData",
    "draw_point",
    "draw_polygon",
    "draw_polyline",
    "draw_rectangle",
]
