"""labelport's codes and graphic types in SR: features and tools as private codes, geometry as graphic data.

Private coding scheme ``99LABELPORT`` (PS3.16 8.2: designators starting with 99 are private): a feature's code
value is its schema id (or name), its meaning the feature name; a tool's code value is the tool type
(``rectangle``, ``polygon``...). highdicom stores values over 16 characters as LongCodeValue.
"""

from __future__ import annotations

import math
import uuid as uuid_module
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.model.geometry import Ellipse, Geometry, Line, Point, Polygon, Rectangle
from labelport.model.ontology import ToolType

SCHEME = "99LABELPORT"


def PROCEDURE(hd: Any) -> Any:
    """The procedure reported: SNOMED CT "Imaging (procedure)"."""
    return hd.sr.CodedConcept(value="363679005", scheme_designator="SCT", meaning="Imaging procedure")


def feature_code(hd: Any, name: str | None, schema_id: str | None) -> Any:
    value = schema_id or name or "unnamed"
    return hd.sr.CodedConcept(value=value, scheme_designator=SCHEME, meaning=(name or value)[:64])


def tool_code(hd: Any, tool: ToolType) -> Any:
    return hd.sr.CodedConcept(value=tool.value, scheme_designator=SCHEME, meaning=tool.name.replace("_", " ").title())


def keyframe_uuid(uuid: str, frame: int) -> str:
    """The uuid of one keyframe of a track written as its own drawing."""
    return str(uuid_module.uuid5(uuid_module.UUID(uuid), f"frame {frame}"))


@dataclass(frozen=True)
class Graphic:
    """A geometry as SR graphic data: points (n, 2) in plane coordinates and the graphic types to write."""

    points: npt.NDArray[np.float64]
    scoord_type: str
    scoord3d_type: str


def tool_of(geometry: Geometry) -> ToolType:
    return {
        Point: ToolType.POINT,
        Line: ToolType.LINE,
        Polygon: ToolType.POLYGON,
        Rectangle: ToolType.BBOX,
        Ellipse: ToolType.ELLIPSE,
    }[type(geometry)]


def graphic_of(geometry: Geometry) -> Graphic | None:
    """The SR graphic of a geometry, or None for geometries SR has no graphic type for."""
    if isinstance(geometry, Point):
        return Graphic(np.array([[geometry.x, geometry.y]]), "POINT", "POINT")
    if isinstance(geometry, Line):
        return Graphic(np.array([[p.x, p.y] for p in geometry.points]), "POLYLINE", "POLYLINE")
    if isinstance(geometry, Polygon):  # closed: the model repeats the first point last
        return Graphic(np.array([[p.x, p.y] for p in geometry.points]), "POLYLINE", "POLYGON")
    if isinstance(geometry, Rectangle):
        (x0, y0), (x1, y1) = (geometry.start.x, geometry.start.y), (geometry.end.x, geometry.end.y)
        corners = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        return Graphic(np.array(corners, dtype=np.float64), "POLYLINE", "POLYGON")
    if isinstance(geometry, Ellipse):
        angle = math.radians(geometry.angle)
        major = np.array([math.cos(angle), math.sin(angle)]) * geometry.radius_x
        minor = np.array([-math.sin(angle), math.cos(angle)]) * geometry.radius_y
        centre = np.array([geometry.center.x, geometry.center.y])
        return Graphic(np.array([centre - major, centre + major, centre - minor, centre + minor]), "ELLIPSE", "ELLIPSE")
    return None


def geometry_of(graphic_type: str, points: npt.NDArray[np.float64], tool: str | None) -> Geometry | None:
    """The geometry of SR graphic data in plane coordinates (n, 2); ``tool`` the finding category's tool type."""
    pairs = [(float(x), float(y)) for x, y in points]
    if graphic_type == "POINT" and len(pairs) == 1:
        return Point(*pairs[0])
    closed = len(pairs) > 3 and np.allclose(points[0], points[-1], atol=1e-6)
    if graphic_type in ("POLYLINE", "POLYGON") and (closed or graphic_type == "POLYGON"):
        if tool == ToolType.BBOX.value and len(pairs) in (4, 5):
            xs, ys = points[:, 0], points[:, 1]
            return Rectangle(Point(float(xs.min()), float(ys.min())), Point(float(xs.max()), float(ys.max())))
        return Polygon(tuple(Point(x, y) for x, y in pairs))
    if graphic_type == "POLYLINE" and len(pairs) >= 2:
        return Line(tuple(Point(x, y) for x, y in pairs))
    if graphic_type == "ELLIPSE" and len(pairs) == 4:
        a, b, c, d = points
        centre = (a + b) / 2
        major, minor = (b - a) / 2, (d - c) / 2
        angle = math.degrees(math.atan2(major[1], major[0]))
        return Ellipse(
            Point(float(centre[0]), float(centre[1])),
            float(np.linalg.norm(major)),
            float(np.linalg.norm(minor)),
            angle,
        )
    return None


__all__ = ["SCHEME", "Graphic", "feature_code", "geometry_of", "graphic_of", "keyframe_uuid", "tool_code", "tool_of"]
