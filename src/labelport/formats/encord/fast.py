"""The import fast path for Encord label rows: plain image objects straight to their stored form.

An object on an image that the ontology knows, of a plain shape (bounding box, polygon of one ring,
polyline, point) with finite coordinates inside the image, an optional confidence in 0..1 and no answers,
is turned into an ``EncodedAnnotation`` (exactly ``model.codec.to_json`` of its ``ObjectAnnotation``)
without building its geometry: most objects of large exports are such. Answers the caller read (static
attributes) go with it, encoded as the codec encodes them. Anything else returns None and
takes the checked path (``rows_read``), which words every error; tests prove both paths agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from math import isfinite
from typing import Any

from labelport.formats.encord.coordinates import Frame
from labelport.formats.encord.fields import (
    BOUNDING_BOX,
    CONFIDENCE,
    POINT,
    POLYGON,
    POLYGONS,
    POLYLINE,
    H,
    Shape,
    W,
    X,
    Y,
)
from labelport.model.annotation import ClassificationAnnotation
from labelport.model.codec import to_json
from labelport.model.encoded import EncodedAnnotation
from labelport.model.ontology import Tool

_GEOMETRY = {Shape.BOUNDING_BOX: "Rectangle", Shape.POLYGON: "Polygon", Shape.POLYLINE: "Line", Shape.POINT: "Point"}


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is float:
        return value if isfinite(value) else None
    return float(value) if kind is int and -(2**53) < value < 2**53 else None


def _inside(value: float, frame: Frame) -> bool:
    return -frame.tolerance <= value <= 1 + frame.tolerance


def _point(raw: Any, frame: Frame) -> dict[str, float] | None:
    if type(raw) is not dict:
        return None
    x, y = _number(raw.get(X)), _number(raw.get(Y))
    if x is None or y is None or not (_inside(x, frame) and _inside(y, frame)):
        return None
    return {X: x * frame.width, Y: y * frame.height}


def _points(raw: Any, frame: Frame) -> list[dict[str, float]] | None:
    if type(raw) is dict:
        try:
            ordered = [raw[str(i)] for i in range(len(raw))]
        except KeyError:
            return None  # keys that are not 0..n-1: the checked path orders them
    elif type(raw) is list:
        ordered = raw
    else:
        return None
    if any(type(p) is not dict for p in ordered):
        return None
    return _scaled([(p.get(X), p.get(Y)) for p in ordered], frame)


def _ring(obj: Mapping[str, Any], frame: Frame) -> list[dict[str, float]] | None:
    rings = obj.get(POLYGONS)
    if rings:
        if type(rings) is not list or len(rings) != 1 or type(rings[0]) is not list or len(rings[0]) != 1:
            return None
        flat = rings[0][0]
        if type(flat) is not list or len(flat) % 2:
            return None
        return _scaled(zip(flat[::2], flat[1::2], strict=True), frame)
    return _points(obj.get(POLYGON), frame)


def _scaled(pairs: Iterable[tuple[Any, Any]], frame: Frame) -> list[dict[str, float]] | None:
    """Fractional ``(x, y)`` pairs as pixel points, or None when one is not a number inside the image."""
    width, height, low, high = frame.width, frame.height, -frame.tolerance, 1 + frame.tolerance
    points = []
    for x, y in pairs:  # inline: most of the coordinates of large exports are here
        if type(x) is not float or type(y) is not float:
            point = _point({X: x, Y: y}, frame)
            if point is None:
                return None
            points.append(point)
            continue
        if not (low <= x <= high and low <= y <= high):  # also false for nan
            return None
        points.append({X: x * width, Y: y * height})
    return points


def geometry(shape: Shape, obj: Mapping[str, Any], frame: Frame) -> dict[str, Any] | None:
    """The stored form of a plain object's geometry (as ``codec.to_json`` writes it), or None."""
    if shape is Shape.BOUNDING_BOX:
        box = obj.get(BOUNDING_BOX)
        if type(box) is not dict:
            return None
        x, y, w, h = _number(box.get(X)), _number(box.get(Y)), _number(box.get(W)), _number(box.get(H))
        if x is None or y is None or w is None or h is None or w < 0 or h < 0:
            return None
        if not (_inside(x, frame) and _inside(y, frame) and _inside(x + w, frame) and _inside(y + h, frame)):
            return None
        left, top = x * frame.width, y * frame.height
        start = {X: left, Y: top}
        end = {X: left + w * frame.width, Y: top + h * frame.height}
        return {"type": "Rectangle", "start": start, "end": end}
    if shape is Shape.POINT:
        raw = obj.get(POINT)
        return _point(raw.get("0"), frame) if type(raw) is dict else None
    if shape is Shape.POLYLINE:
        points = _points(obj.get(POLYLINE), frame)
        return {"type": "Line", "points": points} if points is not None and len(points) >= 2 else None
    points = _ring(obj, frame)
    if points is None or len({(p[X], p[Y]) for p in points}) < 3:
        return None
    if points[-1] != points[0]:
        points.append(points[0])
    return {"type": "Polygon", "points": points}


def encoded_object(
    uuid: str,
    shape: Shape,
    obj: Mapping[str, Any],
    tool: Tool,
    frame: Frame,
    classifications: tuple[ClassificationAnnotation, ...] = (),
    stored_classifications: Any = None,
) -> EncodedAnnotation | None:
    """A plain image object of ``tool`` (with its answers, ``classifications``, and their ``to_json`` when the
    caller has it: never changed, so it may be shared) as an ``EncodedAnnotation``, or None when the checked
    path must read it."""
    kind = _GEOMETRY.get(shape)
    if kind is None:
        return None
    confidence = obj.get(CONFIDENCE)
    if confidence is not None:
        confidence = _number(confidence)
        if confidence is None or not 0.0 <= confidence <= 1.0:
            return None
    stored_geometry = geometry(shape, obj, frame)
    if stored_geometry is None:
        return None
    # The codec's field names (model.codec.to_json), not the wire's.
    payload: dict[str, Any] = {
        "type": "ObjectAnnotation",
        "uuid": uuid,
        "geometry": stored_geometry,
        "name": tool.name,
        "schema_id": tool.schema_id,
    }
    if confidence is not None:
        payload["confidence"] = confidence
    if classifications:  # after confidence, as ObjectAnnotation orders its fields
        payload["classifications"] = (
            to_json(classifications) if stored_classifications is None else stored_classifications
        )
    return EncodedAnnotation(uuid, payload, tool.name, tool.schema_id, kind, confidence, classifications)


__all__ = ["encoded_object", "geometry"]
