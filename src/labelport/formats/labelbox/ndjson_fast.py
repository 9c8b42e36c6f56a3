"""The import fast path for Labelbox NDJSON: plain image objects straight to their stored form.

A line that is a plain image object (canonical lowercase uuid, ``dataRow`` with one of id/globalKey, name
and/or schemaId, optional confidence, exactly one of bbox/polygon/line/point with finite numbers, no other
key) is checked here and turned into an ``EncodedAnnotation`` (``model.codec.to_json`` of the annotation)
without building model objects: most lines of large imports are such objects. Anything else returns None
and takes the checked path (``ndjson_read``), which words every error; tests prove both paths agree.
"""

from __future__ import annotations

from math import isfinite
from typing import Any

from labelport.formats.base import JsonItem
from labelport.formats.labelbox.fields import (
    BBOX,
    CONFIDENCE,
    DATA_ROW,
    FEATURE_NAME,
    GLOBAL_KEY,
    HEIGHT,
    ID,
    LEFT,
    LINE,
    POINT,
    POLYGON,
    SCHEMA_ID,
    TOP,
    UUID,
    WIDTH,
    X,
    Y,
)
from labelport.model.annotation import CANONICAL_UUID
from labelport.model.encoded import EncodedAnnotation
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import Label, LabelKind

_PLAIN_KEYS = frozenset({UUID, DATA_ROW, FEATURE_NAME, SCHEMA_ID, CONFIDENCE, BBOX, POLYGON, LINE, POINT})
_BBOX_KEYS = frozenset({TOP, LEFT, HEIGHT, WIDTH})
_INT_LIMIT = 2**53  # larger ints are left to the model path, which says why they fail
_PLAIN_GEOMETRY_KEYS = (BBOX, POLYGON, LINE, POINT)


def _plain_text(value: Any) -> bool:
    return type(value) is str and bool(value.strip())


def _plain_number(value: Any) -> float | None:
    if type(value) is float:
        return value if isfinite(value) else None
    return float(value) if type(value) is int and -_INT_LIMIT < value < _INT_LIMIT else None


def _plain_point(raw: Any) -> dict[str, float] | None:
    """``raw`` in its stored form ``{x, y}`` of finite floats, or None if the model path must judge it."""
    if type(raw) is not dict or len(raw) != 2:
        return None
    x, y = raw.get(X), raw.get(Y)
    if type(x) is float and type(y) is float and isfinite(x) and isfinite(y):
        return raw
    x, y = _plain_number(x), _plain_number(y)
    return None if x is None or y is None else {X: x, Y: y}


def _plain_points(raw: Any, minimum: int) -> list[dict[str, float]] | None:
    if type(raw) is not list or len(raw) < minimum:
        return None
    for p in raw:  # inline, as most input is already in stored form: the input list itself can be stored
        if type(p) is not dict or len(p) != 2:
            return None
        x, y = p.get(X), p.get(Y)
        if type(x) is not float or type(y) is not float or not (isfinite(x) and isfinite(y)):
            points = [_plain_point(p) for p in raw]
            return None if None in points else points  # type: ignore[return-value]
    return raw


def _plain_geometry(line: dict[str, Any]) -> tuple[str, Any] | None:
    """The geometry's model type name and stored form (as ``codec.to_json`` writes it), or None."""
    key = None
    for candidate in _PLAIN_GEOMETRY_KEYS:
        if candidate in line:
            if key is not None:
                return None
            key = candidate
    if key is None:
        return None
    raw = line[key]
    if key == BBOX:
        if type(raw) is not dict or raw.keys() != _BBOX_KEYS:
            return None
        top, left = _plain_number(raw[TOP]), _plain_number(raw[LEFT])
        height, width = _plain_number(raw[HEIGHT]), _plain_number(raw[WIDTH])
        if top is None or left is None or height is None or width is None or height < 0 or width < 0:
            return None
        right, bottom = left + width, top + height
        if not (isfinite(right) and isfinite(bottom)):
            return None
        return "Rectangle", {"type": "Rectangle", "start": {X: left, Y: top}, "end": {X: right, Y: bottom}}
    if key == POINT:
        point = _plain_point(raw)
        return None if point is None else ("Point", point)
    points = _plain_points(raw, 2 if key == LINE else 3)
    if points is None:
        return None
    if key == LINE:
        return "Line", {"type": "Line", "points": points}
    first, second, third = points[0], points[1], points[2]
    if (first in (second, third) or second == third) and len({(p[X], p[Y]) for p in points}) < 3:
        return None
    if points[-1] != points[0]:
        points = [*points, points[0]]
    return "Polygon", {"type": "Polygon", "points": points}


def encoded_item(item: JsonItem, refs: dict[tuple[str, str], DataRowKey], kind: LabelKind) -> LabeledItem | None:
    """A plain image object line as an item holding an ``EncodedAnnotation``, or None when the checked path
    must read it."""
    line = item.value
    if type(line) is not dict or not _PLAIN_KEYS.issuperset(line):
        return None
    uuid, row, name, schema_id = line.get(UUID), line.get(DATA_ROW), line.get(FEATURE_NAME), line.get(SCHEMA_ID)
    if type(uuid) is not str or not CANONICAL_UUID.match(uuid) or type(row) is not dict or len(row) != 1:
        return None
    if name is None:
        if not _plain_text(schema_id):
            return None
    elif not _plain_text(name) or (schema_id is not None and not _plain_text(schema_id)):
        return None
    confidence = line.get(CONFIDENCE)
    if confidence is not None:
        confidence = _plain_number(confidence)
        if confidence is None or not 0.0 <= confidence <= 1.0:
            return None
    [(row_field, row_value)] = row.items()
    if row_field not in (ID, GLOBAL_KEY) or type(row_value) is not str or not row_value:
        return None
    ref = refs.get((row_field, row_value))
    if ref is None:
        ref = refs[(row_field, row_value)] = (
            DataRowKey(id=row_value) if row_field == ID else DataRowKey(global_key=row_value)
        )
    geometry = _plain_geometry(line)
    if geometry is None:
        return None
    # The codec's field names (model.codec.to_json), not the wire's.
    stored: dict[str, Any] = {"type": "ObjectAnnotation", "uuid": uuid, "geometry": geometry[1]}
    if name is not None:
        stored["name"] = name
    if schema_id is not None:
        stored["schema_id"] = schema_id
    if confidence is not None:
        stored["confidence"] = confidence
    annotation = EncodedAnnotation(uuid, stored, name, schema_id, geometry[0], confidence)
    return LabeledItem(ref, (Label(kind, (annotation,)),), None, None, None, item.file, item.line, item.path)
