"""Encord's coordinate classes, as its SDK spells them (``encord.objects.coordinates``, ``encord.objects.bitmask``).

Values are fractions of the image (x and width of its width, y and height of its height), as in Encord.
Each class turns into the frame-object keys of a label row (``to_dict``) and back (``coordinates_of``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.formats.encord.fields import (
    BITMASK,
    BOUNDING_BOX,
    COLOR,
    FEATURE_HASH,
    HEIGHT,
    LEFT,
    NAME,
    POINT,
    POLYGON,
    POLYGONS,
    POLYLINE,
    RLE_STRING,
    ROTATABLE_BOUNDING_BOX,
    SHAPE,
    SKELETON,
    THETA,
    TOP,
    VALUE,
    VISIBILITY,
    WIDTH,
    H,
    Shape,
    W,
    X,
    Y,
)
from labelport.imaging.codecs import decode_encord_rle, encode_encord_rle


@dataclass(frozen=True)
class PointCoordinate:
    x: float
    y: float

    def to_dict(self) -> dict[str, Any]:
        return {"0": {X: self.x, Y: self.y}}


@dataclass(frozen=True)
class BoundingBoxCoordinates:
    height: float
    width: float
    top_left_x: float
    top_left_y: float

    def to_dict(self) -> dict[str, float]:
        return {H: self.height, W: self.width, X: self.top_left_x, Y: self.top_left_y}


@dataclass(frozen=True)
class RotatableBoundingBoxCoordinates:
    """The unrotated box and its rotation ``theta`` in degrees, clockwise about its centre."""

    height: float
    width: float
    top_left_x: float
    top_left_y: float
    theta: float

    def to_dict(self) -> dict[str, float]:
        return {H: self.height, W: self.width, X: self.top_left_x, Y: self.top_left_y, THETA: self.theta}


class PolygonCoordinates:
    """A polygon: ``values`` (one ring) or ``polygons`` (polygons of rings; labelport keeps one ring)."""

    def __init__(
        self,
        values: Sequence[PointCoordinate] | None = None,
        polygons: Sequence[Sequence[Sequence[PointCoordinate]]] | None = None,
    ) -> None:
        if not values and not polygons:
            raise ValidationError("a polygon needs values or polygons, found neither", field="values")
        if polygons:
            self.polygons = [[list(ring) for ring in polygon] for polygon in polygons]
            self.values = list(self.polygons[0][0])
        else:
            self.values = list(values or ())
            self.polygons = [[list(self.values)]]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PolygonCoordinates) and other.polygons == self.polygons

    def __repr__(self) -> str:
        return f"PolygonCoordinates(values={self.values!r})"

    def to_dict(self, kind: str = "single_polygon") -> Any:
        if kind == "multiple_polygons":
            return [[[v for p in ring for v in (p.x, p.y)] for ring in polygon] for polygon in self.polygons]
        return {str(i): {X: p.x, Y: p.y} for i, p in enumerate(self.values)}


@dataclass(frozen=True)
class PolylineCoordinates:
    values: list[PointCoordinate]

    def to_dict(self) -> dict[str, Any]:
        return {str(i): {X: p.x, Y: p.y} for i, p in enumerate(self.values)}


class Visibility(StrEnum):
    VISIBLE = "visible"
    INVISIBLE = "invisible"
    OCCLUDED = "occluded"
    SELF_OCCLUDED = "selfOccluded"


@dataclass(frozen=True)
class SkeletonCoordinate:
    x: float
    y: float
    name: str
    color: str | None = None
    feature_hash: str | None = None
    value: str | None = None
    visibility: Visibility | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {X: self.x, Y: self.y, NAME: self.name}
        for key, item in ((COLOR, self.color), (FEATURE_HASH, self.feature_hash), (VALUE, self.value)):
            if item is not None:
                out[key] = item
        if self.visibility is not None:
            out[VISIBILITY] = Visibility(self.visibility).value
        return out


@dataclass(frozen=True)
class SkeletonCoordinates:
    values: list[SkeletonCoordinate]
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {str(i): v.to_dict() for i, v in enumerate(self.values)}


class BitmaskCoordinates:
    """A mask over the whole frame: from a boolean array [row, column] (or anything numpy reads) or an RLE."""

    @dataclass(frozen=True)
    class EncodedBitmask:
        top: int
        left: int
        height: int
        width: int
        rle_string: str

    def __init__(self, source: Any) -> None:
        if isinstance(source, BitmaskCoordinates.EncodedBitmask):
            self._encoded = source
        elif isinstance(source, Mapping):
            data = source.get(BITMASK, source)
            self._encoded = BitmaskCoordinates.EncodedBitmask(
                int(data.get(TOP, 0)),
                int(data.get(LEFT, 0)),
                int(data[HEIGHT]),
                int(data[WIDTH]),
                str(data[RLE_STRING]),
            )
        else:
            self._encoded = self._from_array(source)

    @staticmethod
    def _from_array(source: Any) -> BitmaskCoordinates.EncodedBitmask:
        array = np.asarray(source)
        if array.ndim != 2:
            raise ValidationError(f"a bitmask is a 2-D [row, column] array, found shape {array.shape}", field="bitmask")
        return BitmaskCoordinates.EncodedBitmask(
            0, 0, int(array.shape[0]), int(array.shape[1]), encode_encord_rle(array)
        )

    @classmethod
    def from_array(cls, source: Any) -> BitmaskCoordinates:
        return cls(cls._from_array(source))

    def to_numpy_array(self) -> npt.NDArray[np.bool_]:
        encoded = self._encoded
        return decode_encord_rle(encoded.rle_string, encoded.height, encoded.width)

    @property
    def height(self) -> int:
        return self._encoded.height

    @property
    def width(self) -> int:
        return self._encoded.width

    def to_dict(self) -> dict[str, Any]:
        e = self._encoded
        return {TOP: e.top, LEFT: e.left, WIDTH: e.width, HEIGHT: e.height, RLE_STRING: e.rle_string}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BitmaskCoordinates) and other._encoded == self._encoded

    def __repr__(self) -> str:
        return f"BitmaskCoordinates({self.width} x {self.height})"


Coordinates = (
    BoundingBoxCoordinates
    | RotatableBoundingBoxCoordinates
    | PointCoordinate
    | PolygonCoordinates
    | PolylineCoordinates
    | BitmaskCoordinates
    | SkeletonCoordinates
)

SHAPE_OF: dict[type, Shape] = {
    BoundingBoxCoordinates: Shape.BOUNDING_BOX,
    RotatableBoundingBoxCoordinates: Shape.ROTATABLE_BOUNDING_BOX,
    PointCoordinate: Shape.POINT,
    PolygonCoordinates: Shape.POLYGON,
    PolylineCoordinates: Shape.POLYLINE,
    BitmaskCoordinates: Shape.BITMASK,
    SkeletonCoordinates: Shape.SKELETON,
}


def coordinate_keys(coordinates: Coordinates) -> dict[str, Any]:
    """The frame-object keys of ``coordinates`` (a polygon writes both of its forms)."""
    if isinstance(coordinates, BoundingBoxCoordinates):
        return {BOUNDING_BOX: coordinates.to_dict()}
    if isinstance(coordinates, RotatableBoundingBoxCoordinates):
        return {ROTATABLE_BOUNDING_BOX: coordinates.to_dict()}
    if isinstance(coordinates, PolygonCoordinates):
        return {POLYGON: coordinates.to_dict(), POLYGONS: coordinates.to_dict("multiple_polygons")}
    if isinstance(coordinates, PolylineCoordinates):
        return {POLYLINE: coordinates.to_dict()}
    if isinstance(coordinates, PointCoordinate):
        return {POINT: coordinates.to_dict()}
    if isinstance(coordinates, BitmaskCoordinates):
        return {BITMASK: coordinates.to_dict()}
    return {SKELETON: coordinates.to_dict()}


def _points(raw: Any) -> list[PointCoordinate]:
    items = sorted(raw.items(), key=lambda kv: int(kv[0])) if isinstance(raw, Mapping) else enumerate(raw or ())
    return [PointCoordinate(float(p[X]), float(p[Y])) for _, p in items]


def coordinates_of(obj: Mapping[str, Any]) -> Coordinates:
    """The coordinates of a frame object of a label row (the forms ``formats.encord`` reads)."""
    shape = obj.get(SHAPE)
    if shape == Shape.BOUNDING_BOX:
        b = obj[BOUNDING_BOX]
        return BoundingBoxCoordinates(b[H], b[W], b[X], b[Y])
    if shape == Shape.ROTATABLE_BOUNDING_BOX:
        b = obj[ROTATABLE_BOUNDING_BOX]
        return RotatableBoundingBoxCoordinates(b[H], b[W], b[X], b[Y], b.get(THETA, 0.0))
    if shape == Shape.POLYGON:
        rings = obj.get(POLYGONS)
        if rings:
            polygons = [[[PointCoordinate(r[i], r[i + 1]) for i in range(0, len(r), 2)] for r in p] for p in rings]
            return PolygonCoordinates(polygons=polygons)
        return PolygonCoordinates(_points(obj.get(POLYGON)))
    if shape == Shape.POLYLINE:
        return PolylineCoordinates(_points(obj.get(POLYLINE)))
    if shape == Shape.POINT:
        p = obj[POINT]["0"]
        return PointCoordinate(p[X], p[Y])
    if shape == Shape.BITMASK:
        return BitmaskCoordinates(obj[BITMASK])
    if shape == Shape.SKELETON:
        nodes = sorted(obj[SKELETON].items(), key=lambda kv: int(kv[0]))
        return SkeletonCoordinates(
            [
                SkeletonCoordinate(
                    p[X],
                    p[Y],
                    p[NAME],
                    p.get(COLOR),
                    p.get(FEATURE_HASH),
                    p.get(VALUE),
                    Visibility(p[VISIBILITY]) if p.get(VISIBILITY) in Visibility.__members__.values() else None,
                )
                for _, p in nodes
            ],
            str(obj.get(NAME, "")),
        )
    raise ValidationError(f"shape {shape!r} has no coordinates class here", field=SHAPE, value=shape)


__all__ = [
    "SHAPE_OF",
    "BitmaskCoordinates",
    "BoundingBoxCoordinates",
    "Coordinates",
    "PointCoordinate",
    "PolygonCoordinates",
    "PolylineCoordinates",
    "RotatableBoundingBoxCoordinates",
    "SkeletonCoordinate",
    "SkeletonCoordinates",
    "Visibility",
    "coordinate_keys",
    "coordinates_of",
]
