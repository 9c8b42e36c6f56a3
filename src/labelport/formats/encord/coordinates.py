"""Encord's normalised coordinates and labelport geometry in pixels, both ways (notes/encord.md section 3).

Encord stores every coordinate as a fraction of the image: ``x`` and ``w`` of its width, ``y`` and ``h`` of
its height (notes section 0.5: the docs' page says it crosswise; the SDK's COCO exporter, the reference
used here, does not). labelport geometry is in continuous pixel coordinates (DESIGN.md), so
``pixel = fraction * size``. A coordinate outside 0..1 by more than ``tolerance`` (the editor lets a
point slip a little past the border) is an error naming the key and the value.

Bitmasks are Encord's row-major RLE string (``imaging.codecs``) over the whole frame; ``top``/``left`` are
always 0 and ``width``/``height`` the frame's size.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.formats.encord.fields import (
    BITMASK,
    BOUNDING_BOX,
    COLOR,
    ELLIPSE,
    HEIGHT,
    LEFT,
    NAME,
    POINT,
    POLYGON,
    POLYGONS,
    POLYLINE,
    RLE_STRING,
    ROTATABLE_BOUNDING_BOX,
    RX,
    RY,
    SKELETON,
    THETA,
    TOP,
    VALUE,
    VISIBILITY,
    WIDTH,
    H,
    Shape,
    Visibility,
    W,
    X,
    Y,
)
from labelport.imaging.codecs import decode_encord_rle, encode_encord_rle
from labelport.model.geometry import (
    Ellipse,
    Geometry,
    Line,
    Mask,
    Point,
    Polygon,
    RasterSource,
    Rectangle,
    RotatedRectangle,
    Skeleton,
    SkeletonNode,
)
from labelport.model.pixels import Pixels

DEFAULT_TOLERANCE = 0.01  # of the image size
SHAPE_KEYS: dict[Shape, str] = {
    Shape.BOUNDING_BOX: BOUNDING_BOX,
    Shape.ROTATABLE_BOUNDING_BOX: ROTATABLE_BOUNDING_BOX,
    Shape.POLYGON: POLYGON,
    Shape.POLYLINE: POLYLINE,
    Shape.POINT: POINT,
    Shape.BITMASK: BITMASK,
    Shape.SKELETON: SKELETON,
    Shape.ELLIPSE: ELLIPSE,
}
SHAPE_OF_GEOMETRY: dict[type, Shape] = {
    Rectangle: Shape.BOUNDING_BOX,
    RotatedRectangle: Shape.ROTATABLE_BOUNDING_BOX,
    Polygon: Shape.POLYGON,
    Line: Shape.POLYLINE,
    Point: Shape.POINT,
    Mask: Shape.BITMASK,
    Skeleton: Shape.SKELETON,
    Ellipse: Shape.ELLIPSE,
}


@dataclass(frozen=True, slots=True)
class Frame:
    """The image a frame object is drawn on: its size in pixels, and how far past 0..1 a value may go."""

    width: int
    height: int
    tolerance: float = DEFAULT_TOLERANCE


def _number(raw: Any, key: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValidationError(f"{key} must be a finite number, found {raw!r}", field=key, value=raw)
    return float(raw)


def _fraction(raw: Any, key: str, frame: Frame) -> float:
    value = _number(raw, key)
    if not -frame.tolerance <= value <= 1 + frame.tolerance:
        raise ValidationError(
            f"{key} is {value!r}, outside 0..1 (Encord coordinates are fractions of the image)",
            field=key,
            value=value,
        )
    return value


def _mapping(raw: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValidationError(f"{key} must be an object, found {raw!r}", field=key, value=raw)
    return raw


def _point(raw: Any, key: str, frame: Frame) -> Point:
    data = _mapping(raw, key)
    return Point(
        _fraction(data.get(X), f"{key}.x", frame) * frame.width,
        _fraction(data.get(Y), f"{key}.y", frame) * frame.height,
    )


def _points(raw: Any, key: str, frame: Frame) -> list[Point]:
    """Points of a legacy ``{"0": {x, y}, ...}`` dict (in key order) or list."""
    if isinstance(raw, Mapping):
        try:
            ordered = sorted(raw.items(), key=lambda kv: int(kv[0]))
        except ValueError:
            raise ValidationError(f"{key} keys must be point indexes, found {list(raw)[:5]}", field=key) from None
        return [_point(value, f"{key}.{index}", frame) for index, value in ordered]
    if isinstance(raw, list):
        return [_point(value, f"{key}[{i}]", frame) for i, value in enumerate(raw)]
    raise ValidationError(f"{key} must be a dict or list of points, found {raw!r}", field=key, value=raw)


def _polygon(obj: Mapping[str, Any], frame: Frame) -> Polygon:
    rings = obj.get(POLYGONS)
    if rings:
        if not isinstance(rings, list) or not all(isinstance(p, list) and p for p in rings):
            raise ValidationError(
                f"{POLYGONS} must be a list of polygons of rings, found {str(rings)[:80]}", field=POLYGONS
            )
        if len(rings) > 1 or len(rings[0]) > 1:
            holes = sum(len(p) - 1 for p in rings)
            raise ValidationError(
                f"{POLYGONS} holds {len(rings)} polygon(s) with {holes} hole(s); labelport polygons are one ring",
                field=POLYGONS,
                value=[len(p) for p in rings],
            )
        flat = rings[0][0]
        if not isinstance(flat, list) or len(flat) % 2:
            raise ValidationError(
                f"{POLYGONS}[0][0] must be a flat list of x, y, found {str(flat)[:80]}", field=POLYGONS
            )
        points = [
            Point(
                _fraction(flat[i], f"{POLYGONS}[0][0][{i}]", frame) * frame.width,
                _fraction(flat[i + 1], f"{POLYGONS}[0][0][{i + 1}]", frame) * frame.height,
            )
            for i in range(0, len(flat), 2)
        ]
    else:
        points = _points(obj.get(POLYGON), POLYGON, frame)
    return Polygon(tuple(points))


def _skeleton(raw: Any, frame: Frame) -> Skeleton:
    data = _mapping(raw, SKELETON)
    nodes = []
    for index, value in sorted(data.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
        key = f"{SKELETON}.{index}"
        point = _mapping(value, key)
        name = point.get(NAME)
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{key}.name must be a non-empty string, found {name!r}", field=key, value=name)
        nodes.append(SkeletonNode(name, _point(point, key, frame), visible=_visible(point)))
    return Skeleton(tuple(nodes))


def _visible(point: Mapping[str, Any]) -> bool:
    """A skeleton point's visibility: ``visibility``, or the boolean flags of older exports."""
    visibility = point.get(VISIBILITY)
    if visibility is not None:
        return bool(visibility == Visibility.VISIBLE)
    for hidden in (Visibility.INVISIBLE, Visibility.OCCLUDED, Visibility.SELF_OCCLUDED):
        if point.get(hidden.value) is True:
            return False
    return point.get(Visibility.VISIBLE.value) is not False


def bitmask_pixels(raw: Any, frame: Frame) -> Pixels:
    """The decoded mask of a ``bitmask`` (checked to cover exactly the frame)."""
    data = _mapping(raw, BITMASK)
    rle = data.get(RLE_STRING)
    if not isinstance(rle, str):
        raise ValidationError(f"{BITMASK}.{RLE_STRING} must be a string, found {rle!r}", field=BITMASK, value=rle)
    size = (data.get(WIDTH), data.get(HEIGHT))
    if size != (frame.width, frame.height):
        raise ValidationError(
            f"{BITMASK} is {size[0]} x {size[1]} px (width x height) but the frame is {frame.width} x {frame.height}",
            field=BITMASK,
            value=list(size),
        )
    offset = (data.get(TOP, 0), data.get(LEFT, 0))
    if offset != (0, 0):
        raise ValidationError(
            f"{BITMASK} top/left are {list(offset)}; Encord bitmasks cover the whole frame from 0, 0",
            field=BITMASK,
            value=list(offset),
        )
    try:
        array = decode_encord_rle(rle, frame.height, frame.width)
    except ValidationError as exc:
        raise ValidationError(
            f"{BITMASK}.{RLE_STRING} does not decode to {frame.height} x {frame.width} px: {exc.message}",
            field=BITMASK,
            value=rle[:40],
        ) from None
    digest = hashlib.sha1(rle.encode(), usedforsecurity=False).hexdigest()
    return Pixels.of(array, f"encord-rle:{frame.width}x{frame.height}:{digest}")


def geometry_of(shape: Shape, obj: Mapping[str, Any], frame: Frame) -> Geometry:
    """The pixel geometry of a frame object of ``shape``; ValidationError names the key and value at fault."""
    key = SHAPE_KEYS[shape]
    if key not in obj:
        raise ValidationError(f"a {shape.value} object needs {key!r}, found keys {sorted(obj)}", field=key)
    raw = obj[key]
    if shape is Shape.BOUNDING_BOX or shape is Shape.ROTATABLE_BOUNDING_BOX:
        box = _mapping(raw, key)
        x, y = _fraction(box.get(X), f"{key}.x", frame), _fraction(box.get(Y), f"{key}.y", frame)
        w, h = _number(box.get(W), f"{key}.w"), _number(box.get(H), f"{key}.h")
        if w < 0 or h < 0:
            raise ValidationError(f"{key} has a negative size w={w!r}, h={h!r}", field=key, value=[w, h])
        _fraction(x + w, f"{key}.x + w", frame)
        _fraction(y + h, f"{key}.y + h", frame)
        left, top, width, height = x * frame.width, y * frame.height, w * frame.width, h * frame.height
        if shape is Shape.BOUNDING_BOX:
            return Rectangle(Point(left, top), Point(left + width, top + height))
        theta = _number(box.get(THETA, 0.0), f"{key}.theta")
        return RotatedRectangle(Point(left + width / 2, top + height / 2), width, height, theta)
    if shape is Shape.POLYGON:
        return _polygon(obj, frame)
    if shape is Shape.POLYLINE:
        return Line(tuple(_points(raw, key, frame)))
    if shape is Shape.POINT:
        data = _mapping(raw, key)
        if "0" not in data:
            raise ValidationError(f"{key} must hold point '0', found keys {sorted(data)}", field=key)
        return _point(data["0"], f"{key}.0", frame)
    if shape is Shape.ELLIPSE:
        data = _mapping(raw, key)
        centre = _point(data, key, frame)
        rx, ry = _number(data.get(RX), f"{key}.rx"), _number(data.get(RY), f"{key}.ry")
        return Ellipse(centre, rx * frame.width, ry * frame.height, _number(data.get(THETA, 0.0), f"{key}.theta"))
    if shape is Shape.SKELETON:
        return _skeleton(raw, frame)
    return Mask(RasterSource(pixels=bitmask_pixels(raw, frame)))


# --- writing -----------------------------------------------------------------------------------------------


def _xy(point: Point, frame: Frame) -> dict[str, float]:
    return {X: point.x / frame.width, Y: point.y / frame.height}


def _open_ring(points: tuple[Point, ...]) -> tuple[Point, ...]:
    return points[:-1] if len(points) > 3 and points[-1] == points[0] else points


def mask_array(source: RasterSource, load: Callable[[RasterSource], npt.NDArray[Any]], color: tuple[int, ...]) -> Any:
    """The boolean mask [row, column] of ``source``: pixels equal to ``color`` in a composite, non-zero in grey."""
    array = np.asarray(source.pixels.array() if source.pixels is not None else load(source))
    if array.ndim == 3:
        return np.all(array == np.asarray(color, dtype=array.dtype), axis=2)
    return array != 0


def bitmask_dict(mask: npt.NDArray[Any]) -> dict[str, Any]:
    height, width = mask.shape
    return {TOP: 0, LEFT: 0, WIDTH: int(width), HEIGHT: int(height), RLE_STRING: encode_encord_rle(mask)}


def shape_dict(geometry: Geometry, frame: Frame, mask: npt.NDArray[Any] | None = None) -> tuple[Shape, dict[str, Any]]:
    """``shape`` and the coordinate keys of a frame object for ``geometry`` (``mask``: a bitmask's pixels)."""
    if isinstance(geometry, Rectangle):
        box = {
            H: geometry.height / frame.height,
            W: geometry.width / frame.width,
            X: geometry.start.x / frame.width,
            Y: geometry.start.y / frame.height,
        }
        return Shape.BOUNDING_BOX, {BOUNDING_BOX: box}
    if isinstance(geometry, RotatedRectangle):
        rotated = {
            H: geometry.height / frame.height,
            W: geometry.width / frame.width,
            X: (geometry.center.x - geometry.width / 2) / frame.width,
            Y: (geometry.center.y - geometry.height / 2) / frame.height,
            THETA: geometry.angle,
        }
        return Shape.ROTATABLE_BOUNDING_BOX, {ROTATABLE_BOUNDING_BOX: rotated}
    if isinstance(geometry, Polygon):
        points = _open_ring(geometry.points)
        legacy = {str(i): _xy(p, frame) for i, p in enumerate(points)}
        flat = [v for p in points for v in (p.x / frame.width, p.y / frame.height)]
        return Shape.POLYGON, {POLYGON: legacy, POLYGONS: [[flat]]}
    if isinstance(geometry, Line):
        return Shape.POLYLINE, {POLYLINE: {str(i): _xy(p, frame) for i, p in enumerate(geometry.points)}}
    if isinstance(geometry, Point):
        return Shape.POINT, {POINT: {"0": _xy(geometry, frame)}}
    if isinstance(geometry, Ellipse):
        ellipse = {
            **_xy(geometry.center, frame),
            RX: geometry.radius_x / frame.width,
            RY: geometry.radius_y / frame.height,
            THETA: geometry.angle,
        }
        return Shape.ELLIPSE, {ELLIPSE: ellipse}
    if isinstance(geometry, Skeleton):
        nodes = {}
        for i, node in enumerate(geometry.nodes):
            nodes[str(i)] = {
                **_xy(node.point, frame),
                NAME: node.name,
                COLOR: "#000000",
                VALUE: snake(node.name),
                VISIBILITY: (Visibility.VISIBLE if node.visible else Visibility.OCCLUDED).value,
            }
        return Shape.SKELETON, {SKELETON: nodes}
    if mask is None:
        raise ValidationError("a bitmask needs its pixels", field=BITMASK)
    if mask.shape != (frame.height, frame.width):
        raise ValidationError(
            f"mask is {mask.shape[1]} x {mask.shape[0]} px but the frame is {frame.width} x {frame.height}",
            field=BITMASK,
            value=[int(mask.shape[1]), int(mask.shape[0])],
        )
    return Shape.BITMASK, {BITMASK: bitmask_dict(mask)}


def snake(name: str) -> str:
    """Encord's ``value`` of a name (``_lower_snake_case``)."""
    return name.lower().replace(" ", "_")


__all__ = [
    "DEFAULT_TOLERANCE",
    "SHAPE_KEYS",
    "SHAPE_OF_GEOMETRY",
    "Frame",
    "bitmask_dict",
    "bitmask_pixels",
    "geometry_of",
    "mask_array",
    "shape_dict",
    "snake",
]
