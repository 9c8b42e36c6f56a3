"""Geometry in continuous pixel coordinates of the (plane) image.

Pixel (c, r) covers [c, c+1) x [r, r+1); origin at the top-left corner, x right, y down. This is the
convention Labelbox rasterises with (coordinates truncated) and DICOM SCOORD uses (pixel centre +0.5).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from labelport.errors import ValidationError
from labelport.model._checks import finite, non_empty
from labelport.model.media import VolumeGrid
from labelport.model.pixels import Pixels


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float

    def __post_init__(self) -> None:
        x, y = self.x, self.y
        # Fast path for what readers produce (finite floats); anything else is checked and converted.
        if type(x) is not float or type(y) is not float or not (math.isfinite(x) and math.isfinite(y)):
            object.__setattr__(self, "x", finite(x, "point x"))
            object.__setattr__(self, "y", finite(y, "point y"))


def _points(points: Any, minimum: int, kind: str) -> tuple[Point, ...]:
    if type(points) is tuple and len(points) >= minimum and all(type(p) is Point for p in points):
        return points
    try:
        converted = tuple(p if isinstance(p, Point) else Point(*p) for p in points)
    except TypeError:
        raise ValidationError(
            f"{kind} points must be Points or (x, y) pairs, found {points!r}", field="points", value=points
        ) from None
    if len(converted) < minimum:
        raise ValidationError(
            f"a {kind} needs at least {minimum} points, found {len(converted)}",
            field="points",
            value=[(p.x, p.y) for p in converted],
        )
    return converted


@dataclass(frozen=True, slots=True)
class Line:
    """An open polyline of at least two points."""

    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", _points(self.points, 2, "line"))


@dataclass(frozen=True, slots=True)
class Polygon:
    """A closed polygon: at least 3 distinct points; closed as Labelbox closes it (first point repeated)."""

    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        points = _points(self.points, 3, "polygon")
        distinct = len({(p.x, p.y) for p in points})
        if distinct < 3:
            raise ValidationError(
                f"a polygon needs at least 3 distinct points, found {distinct}",
                field="points",
                value=[(p.x, p.y) for p in points],
            )
        if points[-1] != points[0]:
            points = (*points, points[0])
        object.__setattr__(self, "points", points)


@dataclass(frozen=True, slots=True)
class Rectangle:
    """Axis-aligned box; any two opposite corners are normalised to top-left ``start``, bottom-right ``end``."""

    start: Point
    end: Point

    def __post_init__(self) -> None:
        a, b = self.start, self.end
        if a.x <= b.x and a.y <= b.y:  # already top-left and bottom-right: keep the given points
            return
        object.__setattr__(self, "start", Point(min(a.x, b.x), min(a.y, b.y)))
        object.__setattr__(self, "end", Point(max(a.x, b.x), max(a.y, b.y)))

    @classmethod
    def from_xywh(cls, left: float, top: float, width: float, height: float) -> Rectangle:
        return cls(Point(left, top), Point(left + width, top + height))

    @property
    def width(self) -> float:
        return self.end.x - self.start.x

    @property
    def height(self) -> float:
        return self.end.y - self.start.y


@dataclass(frozen=True, slots=True)
class RotatedRectangle:
    """Box of ``width`` x ``height`` around ``center``, rotated clockwise by ``angle`` degrees (y down)."""

    center: Point
    width: float
    height: float
    angle: float = 0.0

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = finite(getattr(self, name), f"rotated rectangle {name}")
            if value < 0:
                raise ValidationError(
                    f"rotated rectangle {name} must be >= 0, found {value!r}", field=name, value=value
                )
            object.__setattr__(self, name, value)
        object.__setattr__(self, "angle", finite(self.angle, "rotated rectangle angle"))


@dataclass(frozen=True, slots=True)
class Ellipse:
    """Ellipse with semi-axes ``radius_x``, ``radius_y`` around ``center``, rotated by ``angle`` degrees."""

    center: Point
    radius_x: float
    radius_y: float
    angle: float = 0.0

    def __post_init__(self) -> None:
        for name in ("radius_x", "radius_y"):
            value = finite(getattr(self, name), f"ellipse {name}")
            if value < 0:
                raise ValidationError(f"ellipse {name} must be >= 0, found {value!r}", field=name, value=value)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "angle", finite(self.angle, "ellipse angle"))


@dataclass(frozen=True, slots=True)
class SkeletonNode:
    """A named keypoint of a skeleton; ``visible`` False marks an occluded or absent point."""

    name: str
    point: Point
    visible: bool = True

    def __post_init__(self) -> None:
        non_empty(self.name, "skeleton node name")


@dataclass(frozen=True, slots=True)
class Skeleton:
    """Keypoints with named nodes and edges between node names."""

    nodes: tuple[SkeletonNode, ...]
    edges: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        nodes = tuple(self.nodes)
        if not nodes:
            raise ValidationError("a skeleton needs at least one node, found none", field="nodes", value=[])
        names = [n.name for n in nodes]
        for a, b in self.edges:
            for end in (a, b):
                if end not in names:
                    raise ValidationError(
                        f"skeleton edge ({a!r}, {b!r}) names node {end!r}, which is not among {names}",
                        field="edges",
                        value=(a, b),
                    )
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "edges", tuple(tuple(e) for e in self.edges))


@dataclass(frozen=True, slots=True)
class RasterSource:
    """Where a mask's pixels are: exactly one of an URI, PNG bytes, a blob key in the store, or ``pixels``
    (a 2-D array [row, column] decoded on demand, e.g. from an RLE string).
    """

    uri: str | None = None
    png: bytes | None = field(default=None, repr=False)
    blob: str | None = None
    pixels: Pixels | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("uri", "png", "blob", "pixels") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValidationError(
                f"a raster source needs exactly one of uri, png, blob, pixels; found {given or 'none'}",
                field="mask",
                value=given,
            )

    @property
    def digest(self) -> str | None:
        """sha256 of inline PNG bytes, used to store identical composite masks once."""
        return hashlib.sha256(self.png).hexdigest() if self.png is not None else None


@dataclass(frozen=True, slots=True)
class VolumeSource:
    """Where a label volume's voxels are: exactly one of a blob key in the store, a NIfTI file, or ``pixels``
    (an array [column, row, slice] decoded on demand).

    ``grid`` is the grid the voxels lie on when it is not the data row's own (a NIfTI file from another
    tool): importers put such volumes onto the row's grid (reoriented, never copied by index).
    """

    blob: str | None = None
    uri: str | None = None
    pixels: Pixels | None = None
    grid: VolumeGrid | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("blob", "uri", "pixels") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValidationError(
                f"a volume source needs exactly one of blob, uri, pixels; found {given or 'none'}",
                field="mask",
                value=given,
            )


def rgb(raw: Any, what: str = "mask color") -> tuple[int, int, int]:
    """An (r, g, b) triple of 0..255 from a triple, a 1-tuple or one int (grey), as Labelbox expands them."""
    channels = [raw] * 3 if isinstance(raw, int) else list(raw) if isinstance(raw, tuple | list) else []
    if len(channels) == 1:
        channels *= 3
    if len(channels) != 3 or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 255 for c in channels):
        raise ValidationError(f"{what} must be three integers 0..255, found {raw!r}", field="color", value=raw)
    return (channels[0], channels[1], channels[2])


@dataclass(frozen=True, slots=True)
class Mask:
    """The pixels of ``source`` equal to ``color`` (a composite mask can be shared by several objects)."""

    source: RasterSource
    color: tuple[int, int, int] = (255, 255, 255)

    def __post_init__(self) -> None:
        object.__setattr__(self, "color", rgb(self.color))


Geometry = Point | Line | Polygon | Rectangle | RotatedRectangle | Ellipse | Mask | Skeleton
