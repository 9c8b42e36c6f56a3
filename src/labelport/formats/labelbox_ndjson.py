"""Labelbox NDJSON annotation import format: one JSON object per line (notes/labelbox.md §2).

Reading checks the shape only (project and ontology checks belong to the service) and yields one
``Record`` per line, or one located ``Problem`` per bad line while the lines after it are still read.
Frames are 1-based on the wire and 0-based in the model: reading subtracts 1, writing adds 1.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from math import isfinite
from pathlib import Path
from typing import IO, Any, TypeVar

from labelport.errors import Location, ValidationError
from labelport.formats.base import (
    DataRowRef,
    Detection,
    EncodedRecord,
    JsonItem,
    Problem,
    Record,
    Source,
    dumps_line,
    iter_json_items,
)
from labelport.model.annotation import (
    CANONICAL_UUID,
    AnyAnnotation,
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    CustomMetric,
    FrameMask,
    FrameMasks,
    FrameRange,
    Keyframe,
    MaskInstance,
    ObjectAnnotation,
    Radio,
    Relationship,
    Segment,
    Text,
    TrackedObject,
    new_uuid,
    normalise_uuid,
)
from labelport.model.geometry import Geometry, Line, Mask, Point, Polygon, RasterSource, Rectangle
from labelport.model.media import PlaneGroup

NAME = "labelbox_ndjson"

# Wire field names (camelCase as Labelbox spells them).
UUID = "uuid"
DATA_ROW = "dataRow"
ID = "id"
GLOBAL_KEY = "globalKey"
FEATURE_NAME = "name"
SCHEMA_ID = "schemaId"
CONFIDENCE = "confidence"
CUSTOM_METRICS = "customMetrics"
METRIC_NAME = "name"
METRIC_VALUE = "value"
CLASSIFICATIONS = "classifications"
ANSWER = "answer"
ANSWERS = "answers"  # checklist spelling the SDK parser also accepts
KEYFRAME = "keyframe"
FRAMES = "frames"
START = "start"
END = "end"
BBOX = "bbox"
TOP = "top"
LEFT = "left"
HEIGHT = "height"
WIDTH = "width"
POLYGON = "polygon"
LINE = "line"
POINT = "point"
X = "x"
Y = "y"
MASK = "mask"
PNG = "png"
INSTANCE_URI = "instanceURI"
IM_BYTES = "imBytes"
COLOR_RGB = "colorRGB"
SEGMENTS = "segments"
KEYFRAMES = "keyframes"
FRAME = "frame"
GROUP_KEY = "groupKey"
MASKS = "masks"
INDEX = "index"
INSTANCES = "instances"
RELATIONSHIP = "relationship"
SOURCE = "source"
TARGET = "target"
TYPE = "type"
UNIDIRECTIONAL = "unidirectional"
BIDIRECTIONAL = "bidirectional"
# Accepted and dropped on read (docs/formats/labelbox-ndjson.md says why).
IGNORED = ("messageId", "isBenchmarkReferenceLabel", "page", "unit")

IMAGE_GEOMETRY_KEYS = (BBOX, POLYGON, LINE, POINT, MASK)
KEYFRAME_GEOMETRY_KEYS = (BBOX, POINT, LINE)
ANNOTATION_KEYS = (*IMAGE_GEOMETRY_KEYS, SEGMENTS, MASKS, RELATIONSHIP, ANSWER, ANSWERS)
BINARY_MASK_COLOR = (1, 1, 1)  # a ``png`` mask is 0/1 grey: its object is the pixels equal to 1
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DETECT_ITEMS = 5

T = TypeVar("T")


class _Bad(Exception):
    """A shape error inside one line: message, offending value, and the JSON path, built inside-out."""

    def __init__(self, message: str, value: Any = None, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.value = value
        self.path = path

    def under(self, segment: str) -> _Bad:
        if not self.path:
            self.path = segment
        elif self.path.startswith("["):
            self.path = segment + self.path
        else:
            self.path = f"{segment}.{self.path}"
        return self


def _field(raw: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> T:
    """``parse(raw[key])`` with any error located under ``key``."""
    try:
        return parse(raw[key])
    except _Bad as bad:
        raise bad.under(key) from None
    except ValidationError as exc:
        raise _Bad(exc.message, exc.value).under(key) from None


def _each(raw: Any, parse: Callable[[Any], T], what: str) -> tuple[T, ...]:
    if type(raw) is not list and type(raw) is not tuple:
        raise _Bad(f"{what} must be a list, found {_kind(raw)}", raw)
    out = []
    for index, item in enumerate(raw):
        try:
            out.append(parse(item))
        except _Bad as bad:
            raise bad.under(f"[{index}]") from None
        except ValidationError as exc:
            raise _Bad(exc.message, exc.value).under(f"[{index}]") from None
    return tuple(out)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _object(raw: Any, what: str) -> dict[str, Any]:
    if type(raw) is not dict:
        raise _Bad(f"{what} must be an object, found {_kind(raw)}", raw)
    return raw


# ---------------------------------------------------------------- reading: values


def _number(raw: Any) -> float:
    if (type(raw) is float or type(raw) is int) and raw == raw:
        return raw
    raise _Bad(f"must be a number, found {raw!r}", raw)


def _point(raw: Any) -> Point:
    if type(raw) is dict:
        x = raw.get(X)
        y = raw.get(Y)
        if (type(x) is float or type(x) is int) and (type(y) is float or type(y) is int):
            return Point(x, y)
        if X not in raw or Y not in raw:
            raise _missing(raw, (X, Y))
        return Point(_field(raw, X, _number), _field(raw, Y, _number))
    raise _Bad(f"a point must be an object {{x, y}}, found {_kind(raw)}", raw)


def _missing(raw: Mapping[str, Any], keys: tuple[str, ...]) -> _Bad:
    absent = [k for k in keys if k not in raw]
    return _Bad(f"missing {', '.join(absent)}; found keys {sorted(raw)}", dict(raw))


def _points(raw: Any) -> tuple[Point, ...]:
    try:  # fast path for well-formed input; the checked path below locates the first bad point
        return tuple([Point(p[X], p[Y]) for p in raw])
    except (KeyError, TypeError, ValidationError):
        return _each(raw, _point, "points")


def _bbox(raw: Any) -> Rectangle:
    box = _object(raw, "bbox")
    try:
        top, left, height, width = box[TOP], box[LEFT], box[HEIGHT], box[WIDTH]
    except KeyError:
        raise _missing(box, (TOP, LEFT, HEIGHT, WIDTH)) from None
    for key, value in ((TOP, top), (LEFT, left), (HEIGHT, height), (WIDTH, width)):
        if not (type(value) is float or type(value) is int):
            raise _Bad(f"must be a number, found {value!r}", value).under(key)
    return Rectangle(Point(left, top), Point(left + width, top + height))


def _b64(raw: Any) -> bytes:
    if type(raw) is not str:
        raise _Bad(f"must be a base64 PNG string, found {_kind(raw)}", raw)
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(f"is not valid base64: {raw[:40]!r}", raw[:80]) from None
    if not data.startswith(_PNG_SIGNATURE):
        raise _Bad(f"is not a PNG (starts with {data[:8]!r})", raw[:80])
    return data


def _binary_png(raw: Any) -> bytes:
    data = _b64(raw)
    from labelport.imaging.codecs import decode_png_composite  # numpy/Pillow only when masks occur

    try:
        pixels = decode_png_composite(data)
    except Exception as exc:
        raise _Bad(f"is not a readable PNG ({exc})", raw[:80]) from None
    top = int(pixels.max()) if pixels.size else 0
    if top > 1:
        raise _Bad(f"must be a binary 0/1 grey PNG (Labelbox rejects others), found value {top}", top)
    return data


def _uri(raw: Any) -> str:
    if type(raw) is not str or not raw:
        raise _Bad(f"must be a non-empty URI string, found {raw!r}", raw)
    return raw


def _color(raw: Any) -> tuple[int, int, int]:
    # Tuples too: Python payloads (the platforms' guides) write colorRGB=(255, 255, 255).
    if type(raw) in (list, tuple) and len(raw) == 3 and all(type(c) is int and 0 <= c <= 255 for c in raw):
        return (raw[0], raw[1], raw[2])
    raise _Bad(f"must be three integers 0..255, found {raw!r}", raw)


def _mask(raw: Any) -> Mask:
    mask = _object(raw, "mask")
    if PNG in mask:
        return Mask(RasterSource(png=_field(mask, PNG, _binary_png)), BINARY_MASK_COLOR)
    if INSTANCE_URI in mask or IM_BYTES in mask:
        if COLOR_RGB not in mask:
            raise _Bad(f"a composite mask needs {COLOR_RGB} beside its image; found keys {sorted(mask)}", mask)
        color = _field(mask, COLOR_RGB, _color)
        if INSTANCE_URI in mask:
            return Mask(RasterSource(uri=_field(mask, INSTANCE_URI, _uri)), color)
        return Mask(RasterSource(png=_field(mask, IM_BYTES, _b64)), color)
    raise _Bad(
        f"a mask needs one of {PNG}, {INSTANCE_URI}+{COLOR_RGB} or {IM_BYTES}+{COLOR_RGB}; found keys {sorted(mask)}",
        mask,
    )


def _frame_number(raw: Any) -> int:
    """A 1-based wire frame as a 0-based model frame."""
    if type(raw) is float and raw.is_integer():
        raw = int(raw)
    if type(raw) is not int:
        raise _Bad(f"must be an integer frame number, found {raw!r}", raw)
    if raw < 1:
        raise _Bad(f"frames are 1-based in Labelbox NDJSON, found {raw}", raw)
    return raw - 1


def _frame_range(raw: Any) -> FrameRange:
    span = _object(raw, "a frame range")
    if START not in span or END not in span:
        raise _missing(span, (START, END))
    return FrameRange(_field(span, START, _frame_number), _field(span, END, _frame_number))


def _metric(raw: Any) -> CustomMetric:
    metric = _object(raw, "a custom metric")
    if METRIC_NAME not in metric or METRIC_VALUE not in metric:
        raise _missing(metric, (METRIC_NAME, METRIC_VALUE))
    return CustomMetric(metric[METRIC_NAME], _field(metric, METRIC_VALUE, _number))


def _metrics(raw: Any) -> tuple[CustomMetric, ...]:
    return _each(raw, _metric, CUSTOM_METRICS)


def _optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or type(value) is str:
        return value
    raise _Bad(f"must be a string, found {value!r}", value).under(key)


def _confidence(raw: Mapping[str, Any]) -> float | None:
    value = raw.get(CONFIDENCE)
    return None if value is None else _field(raw, CONFIDENCE, _number)


def _answer(raw: Any) -> ClassificationAnswer:
    answer = _object(raw, "an answer")
    keyframe = answer.get(KEYFRAME)
    if keyframe is not None and type(keyframe) is not bool:
        raise _Bad(f"must be true or false, found {keyframe!r}", keyframe).under(KEYFRAME)
    return ClassificationAnswer(
        name=_optional_str(answer, FEATURE_NAME),
        schema_id=_optional_str(answer, SCHEMA_ID),
        confidence=_confidence(answer),
        custom_metrics=_field(answer, CUSTOM_METRICS, _metrics) if CUSTOM_METRICS in answer else (),
        classifications=_field(answer, CLASSIFICATIONS, _classifications) if CLASSIFICATIONS in answer else (),
        keyframe=keyframe,
        frames=_field(answer, FRAMES, _frame_ranges) if FRAMES in answer else (),
    )


def _frame_ranges(raw: Any) -> tuple[FrameRange, ...]:
    return _each(raw, _frame_range, FRAMES)


def _answer_value(raw: Mapping[str, Any]) -> Radio | Checklist | Text:
    if ANSWER in raw:
        value = raw[ANSWER]
        if type(value) is str:
            return Text(value)
        if type(value) is dict:
            return Radio(_field(raw, ANSWER, _answer))
        if type(value) is list:
            return Checklist(_field(raw, ANSWER, _answers))
        raise _Bad(f"must be an object (radio), a list (checklist) or a string (text), found {value!r}", value).under(
            ANSWER
        )
    return Checklist(_field(raw, ANSWERS, _answers))


def _answers(raw: Any) -> tuple[ClassificationAnswer, ...]:
    return _each(raw, _answer, "checklist answers")


def _classification(raw: Any, uuid: str | None = None) -> ClassificationAnnotation:
    cls = _object(raw, "a classification")
    if ANSWER not in cls and ANSWERS not in cls:
        raise _Bad(f"a classification needs an {ANSWER}; found keys {sorted(cls)}", cls)
    return ClassificationAnnotation(
        answer=_answer_value(cls),
        name=_optional_str(cls, FEATURE_NAME),
        schema_id=_optional_str(cls, SCHEMA_ID),
        uuid=uuid,
        confidence=_confidence(cls),
        custom_metrics=_field(cls, CUSTOM_METRICS, _metrics) if CUSTOM_METRICS in cls else (),
        frames=_field(cls, FRAMES, _frame_ranges) if FRAMES in cls else (),
    )


def _classifications(raw: Any) -> tuple[ClassificationAnnotation, ...]:
    if type(raw) is list and not raw:
        return ()
    return _each(raw, _classification, CLASSIFICATIONS)


def _one_geometry(raw: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> Geometry:
    keys = [k for k in allowed if k in raw]
    if len(keys) != 1:
        found = "none" if not keys else " and ".join(keys)
        raise _Bad(f"{what} needs exactly one of {', '.join(allowed)}; found {found}", sorted(raw))
    key = keys[0]
    if key == BBOX:
        return _field(raw, BBOX, _bbox)
    if key == POINT:
        return _field(raw, POINT, _point)
    if key == LINE:
        return Line(_field(raw, LINE, _points))
    if key == POLYGON:
        return Polygon(_field(raw, POLYGON, _points))
    return _field(raw, MASK, _mask)


def _keyframe(raw: Any, dicom: bool) -> Keyframe:
    key = _object(raw, "a keyframe")
    if FRAME not in key:
        raise _missing(key, (FRAME,))
    if dicom and (BBOX in key or POINT in key or POLYGON in key):
        raise _Bad(f"DICOM segments support only {LINE} keyframes; found keys {sorted(key)}", sorted(key))
    geometry = _one_geometry(key, (LINE,) if dicom else KEYFRAME_GEOMETRY_KEYS, "a keyframe")
    return Keyframe(
        frame=_field(key, FRAME, _frame_number),
        geometry=geometry,
        classifications=_field(key, CLASSIFICATIONS, _classifications) if CLASSIFICATIONS in key else (),
    )


def _segments(raw: Any, dicom: bool) -> tuple[Segment, ...]:
    def segment(item: Any) -> Segment:
        seg = _object(item, "a segment")
        if KEYFRAMES not in seg:
            raise _missing(seg, (KEYFRAMES,))
        return Segment(_field(seg, KEYFRAMES, lambda ks: _each(ks, lambda k: _keyframe(k, dicom), KEYFRAMES)))

    return _each(raw, segment, SEGMENTS)


def _frame_mask(raw: Any) -> FrameMask:
    entry = _object(raw, "a mask frame")
    if INDEX not in entry:
        raise _missing(entry, (INDEX,))
    frame = _field(entry, INDEX, _frame_number)
    if INSTANCE_URI in entry:
        return FrameMask(frame, RasterSource(uri=_field(entry, INSTANCE_URI, _uri)))
    if IM_BYTES in entry:
        return FrameMask(frame, RasterSource(png=_field(entry, IM_BYTES, _b64)))
    raise _Bad(f"a mask frame needs {INSTANCE_URI} or {IM_BYTES}; found keys {sorted(entry)}", entry)


def _mask_instance(raw: Any) -> MaskInstance:
    entry = _object(raw, "a mask instance")
    if COLOR_RGB not in entry:
        raise _missing(entry, (COLOR_RGB,))
    return MaskInstance(
        _field(entry, COLOR_RGB, _color), _optional_str(entry, FEATURE_NAME), _optional_str(entry, SCHEMA_ID)
    )


def _group(raw: Any) -> PlaneGroup:
    if type(raw) is not str:
        raise _Bad(f"must be axial, sagittal or coronal, found {raw!r}", raw)
    return PlaneGroup.parse(raw)


# ---------------------------------------------------------------- reading: lines


def _data_row(raw: Any) -> DataRowRef:
    row = _object(raw, DATA_ROW)
    row_id, key = row.get(ID), row.get(GLOBAL_KEY)
    for name, value in ((ID, row_id), (GLOBAL_KEY, key)):
        if value is not None and (type(value) is not str or not value):
            raise _Bad(f"must be a non-empty string, found {value!r}", value).under(name)
    return DataRowRef(id=row_id, global_key=key)


def _annotation(line: dict[str, Any], uuid: str | None) -> AnyAnnotation:
    if SEGMENTS in line:
        group = _field(line, GROUP_KEY, _group) if GROUP_KEY in line else None
        return TrackedObject(
            uuid=uuid or new_uuid(),
            segments=_field(line, SEGMENTS, lambda s: _segments(s, group is not None)),
            name=_optional_str(line, FEATURE_NAME),
            schema_id=_optional_str(line, SCHEMA_ID),
            group=group,
            confidence=_confidence(line),
            custom_metrics=_field(line, CUSTOM_METRICS, _metrics) if CUSTOM_METRICS in line else (),
            classifications=_field(line, CLASSIFICATIONS, _classifications) if CLASSIFICATIONS in line else (),
        )
    if MASKS in line:
        masks = _field(line, MASKS, lambda m: _object(m, MASKS))
        if FRAMES not in masks or INSTANCES not in masks:
            raise _missing(masks, (FRAMES, INSTANCES)).under(MASKS)
        return FrameMasks(
            uuid=uuid or new_uuid(),
            frames=_field(line, MASKS, lambda m: _field(m, FRAMES, lambda f: _each(f, _frame_mask, FRAMES))),
            instances=_field(
                line, MASKS, lambda m: _field(m, INSTANCES, lambda i: _each(i, _mask_instance, INSTANCES))
            ),
            group=_field(line, GROUP_KEY, _group) if GROUP_KEY in line else None,
        )
    if RELATIONSHIP in line:
        rel = _field(line, RELATIONSHIP, lambda r: _object(r, RELATIONSHIP))
        if SOURCE not in rel or TARGET not in rel:
            raise _missing(rel, (SOURCE, TARGET)).under(RELATIONSHIP)
        kind = rel.get(TYPE, UNIDIRECTIONAL)
        if kind not in (UNIDIRECTIONAL, BIDIRECTIONAL):
            raise (
                _Bad(f"must be {UNIDIRECTIONAL} or {BIDIRECTIONAL}, found {kind!r}", kind)
                .under(TYPE)
                .under(RELATIONSHIP)
            )
        return Relationship(
            uuid=uuid or new_uuid(),
            source=_field(line, RELATIONSHIP, lambda r: _field(r, SOURCE, normalise_uuid)),
            target=_field(line, RELATIONSHIP, lambda r: _field(r, TARGET, normalise_uuid)),
            name=_optional_str(line, FEATURE_NAME),
            schema_id=_optional_str(line, SCHEMA_ID),
            bidirectional=kind == BIDIRECTIONAL,
        )
    if ANSWER in line or ANSWERS in line:
        return _classification(line, uuid)
    if not line.keys().isdisjoint(IMAGE_GEOMETRY_KEYS):
        return ObjectAnnotation(
            uuid=uuid or new_uuid(),
            geometry=_one_geometry(line, IMAGE_GEOMETRY_KEYS, "an object"),
            name=_optional_str(line, FEATURE_NAME),
            schema_id=_optional_str(line, SCHEMA_ID),
            confidence=_confidence(line),
            custom_metrics=_field(line, CUSTOM_METRICS, _metrics) if CUSTOM_METRICS in line else (),
            classifications=_field(line, CLASSIFICATIONS, _classifications) if CLASSIFICATIONS in line else (),
        )
    raise _Bad(f"no annotation found: expected one of {', '.join(ANNOTATION_KEYS)}; found keys {sorted(line)}", None)


def _record(value: Any, location: Location) -> Record | Problem:
    if type(value) is not dict:
        return Problem(location, f"expected a JSON object, found {_kind(value)}", value)
    raw_uuid = value.get(UUID)
    raw_row = value.get(DATA_ROW)
    try:
        if DATA_ROW not in value:
            raise _Bad(f"missing {DATA_ROW} (it names the data row by id or globalKey)", None)
        data_row = _field(value, DATA_ROW, _data_row)
        # The model normalises the uuid (and says which value was wrong); checking it here would do it twice.
        return Record(data_row, _annotation(value, raw_uuid), location)
    except _Bad as bad:
        return _problem(location, bad.path, bad.message, bad.value, raw_uuid, raw_row)
    except ValidationError as exc:
        return _problem(location, exc.field or "", exc.message, exc.value, raw_uuid, raw_row)


def _problem(location: Location, path: str, message: str, value: Any, uuid: Any, row: Any) -> Problem:
    if location.path and path:
        path = location.path + ("" if path.startswith("[") else ".") + path
    where = Location(location.file, location.line, path or location.path)
    return Problem(
        where,
        message,
        value,
        uuid if type(uuid) is str else None,
        row if type(row) is dict else None,
    )


def read(source: Source) -> Iterator[Record | Problem]:
    """Read Labelbox NDJSON (a path, bytes, a binary stream, a JSON array file, or a list of dicts).

    Yields one ``Record`` per good line and one located ``Problem`` per bad line, in input order; never
    raises for bad content (I/O errors opening a path still raise).
    """
    for item in iter_json_items(source):
        if item.error is not None:
            yield Problem(item.location, item.error, item.value)
        else:
            yield _record(item.value, item.location)


def read_for_import(source: Source) -> Iterator[Record | EncodedRecord | Problem]:
    """``read``, but plain image objects come as ``EncodedRecord``, already in storage form (the import's fast
    path). Any line the fast path does not take whole goes through ``read``'s checks, so results are the same.
    """
    refs: dict[tuple[str, str], DataRowRef] = {}
    for item in iter_json_items(source):
        if item.error is not None:
            yield Problem(item.location, item.error, item.value)
        else:
            yield _encoded(item, refs) or _record(item.value, item.location)


# ---------------------------------------------------------------- reading: the import fast path

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


def _plain_geometry(line: dict[str, Any]) -> tuple[type[Geometry], Any] | None:
    """The geometry's model type and stored form (as ``codec.to_json`` writes it), or None."""
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
        return Rectangle, {"type": "Rectangle", "start": {X: left, Y: top}, "end": {X: right, Y: bottom}}
    if key == POINT:
        point = _plain_point(raw)
        return None if point is None else (Point, point)
    points = _plain_points(raw, 2 if key == LINE else 3)
    if points is None:
        return None
    if key == LINE:
        return Line, {"type": "Line", "points": points}
    first, second, third = points[0], points[1], points[2]
    if (first in (second, third) or second == third) and len({(p[X], p[Y]) for p in points}) < 3:
        return None
    if points[-1] != points[0]:
        points = [*points, points[0]]
    return Polygon, {"type": "Polygon", "points": points}


def _encoded(item: JsonItem, refs: dict[tuple[str, str], DataRowRef]) -> EncodedRecord | None:
    """A plain image object line as an ``EncodedRecord``, or None when the model path must read it."""
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
            DataRowRef(id=row_value) if row_field == ID else DataRowRef(global_key=row_value)
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
    return EncodedRecord(ref, uuid, name, schema_id, geometry[0], confidence, stored, item.file, item.line, item.path)


# ---------------------------------------------------------------- detection


def _looks_like_ours(value: Any) -> str | None:
    """The Labelbox key that makes ``value`` look like an NDJSON annotation, or None."""
    if type(value) is not dict:
        return None
    row = value.get(DATA_ROW)
    if type(row) is not dict or not (ID in row or GLOBAL_KEY in row):
        return None
    if not (UUID in value or FEATURE_NAME in value or SCHEMA_ID in value or MASKS in value):
        return None
    return next((key for key in ANNOTATION_KEYS if key in value), None)


def detect(source: Source) -> Detection:
    """How likely ``source`` is Labelbox NDJSON, from its first few objects (never its file name)."""
    try:
        head = _head(source)
    except (OSError, ValueError) as exc:
        return Detection(0.0, f"cannot read the input: {exc}")
    if head is None:
        return Detection(0.0, "the input is a stream that cannot be rewound, so it cannot be sniffed")
    values = [item.value for item in head if item.error is None]
    if not values:
        return Detection(0.0, "no JSON objects in the first lines")
    keys = [_looks_like_ours(v) for v in values]
    hits = [k for k in keys if k is not None]
    if not hits:
        return Detection(0.0, f"none of the first {len(values)} objects has {DATA_ROW} and a Labelbox annotation key")
    confidence = 0.95 * len(hits) / len(values)
    shown = ", ".join(sorted(set(hits)))
    return Detection(
        confidence,
        f"{len(hits)} of the first {len(values)} objects have {DATA_ROW}, uuid/name/schemaId and {shown}",
    )


def _head(source: Source) -> list[Any] | None:
    if isinstance(source, str | Path | bytes):
        items = iter_json_items(source)
        try:
            return list(islice(items, _DETECT_ITEMS))
        finally:
            items.close()  # type: ignore[attr-defined]
    if hasattr(source, "read"):
        stream: IO[bytes] = source  # type: ignore[assignment]
        if not stream.seekable():
            return None
        position = stream.tell()
        try:
            return list(islice(iter_json_items(io.BytesIO(stream.read(1 << 20))), _DETECT_ITEMS))
        finally:
            stream.seek(position)
    return list(islice(iter_json_items(source), _DETECT_ITEMS))


# ---------------------------------------------------------------- writing


def _feature(out: dict[str, Any], name: str | None, schema_id: str | None) -> None:
    if name is not None:
        out[FEATURE_NAME] = name
    if schema_id is not None:
        out[SCHEMA_ID] = schema_id


def _scores(out: dict[str, Any], confidence: float | None, metrics: tuple[CustomMetric, ...]) -> None:
    if confidence is not None:
        out[CONFIDENCE] = confidence
    if metrics:
        out[CUSTOM_METRICS] = [{METRIC_NAME: m.name, METRIC_VALUE: m.value} for m in metrics]


def _xy(point: Point) -> dict[str, float]:
    return {X: point.x, Y: point.y}


def _b64_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _raster(source: RasterSource, what: str) -> tuple[str, str]:
    if source.uri is not None:
        return INSTANCE_URI, source.uri
    if source.png is not None:
        return IM_BYTES, _b64_text(source.png)
    raise ValidationError(
        f"{what} refers to stored blob {source.blob!r}; "
        "resolve it to PNG bytes or a URI before writing Labelbox NDJSON",
        field=MASK,
        value=source.blob,
    )


def _geometry(geometry: Geometry) -> tuple[str, Any]:
    if isinstance(geometry, Rectangle):
        start, end = geometry.start, geometry.end
        return BBOX, {TOP: start.y, LEFT: start.x, HEIGHT: end.y - start.y, WIDTH: end.x - start.x}
    if isinstance(geometry, Polygon):
        return POLYGON, [_xy(p) for p in geometry.points]
    if isinstance(geometry, Line):
        return LINE, [_xy(p) for p in geometry.points]
    if isinstance(geometry, Point):
        return POINT, _xy(geometry)
    if isinstance(geometry, Mask):
        if geometry.source.png is not None and geometry.color == BINARY_MASK_COLOR:
            return MASK, {PNG: _b64_text(geometry.source.png)}
        key, value = _raster(geometry.source, "a mask")
        return MASK, {key: value, COLOR_RGB: list(geometry.color)}
    raise ValidationError(
        f"Labelbox NDJSON has no {type(geometry).__name__}; it holds bbox, polygon, line, point and mask",
        field="geometry",
        value=type(geometry).__name__,
    )


def _answer_dict(answer: ClassificationAnswer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _feature(out, answer.name, answer.schema_id)
    _scores(out, answer.confidence, answer.custom_metrics)
    if answer.classifications:
        out[CLASSIFICATIONS] = [_classification_dict(c) for c in answer.classifications]
    if answer.keyframe is not None:
        out[KEYFRAME] = answer.keyframe
    if answer.frames:
        out[FRAMES] = _frames_list(answer.frames)
    return out


def _frames_list(frames: Iterable[FrameRange]) -> list[dict[str, int]]:
    return [{START: f.start + 1, END: f.end + 1} for f in frames]


def _classification_dict(cls: ClassificationAnnotation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _feature(out, cls.name, cls.schema_id)
    answer = cls.answer
    if isinstance(answer, Text):
        out[ANSWER] = answer.answer
    elif isinstance(answer, Radio):
        out[ANSWER] = _answer_dict(answer.answer)
    else:
        out[ANSWER] = [_answer_dict(a) for a in answer.answers]
    _scores(out, cls.confidence, cls.custom_metrics)
    frames = list(cls.frames)
    if cls.placement.frame is not None:
        frames.append(FrameRange(cls.placement.frame, cls.placement.frame))
    if frames:
        out[FRAMES] = _frames_list(frames)
    return out


def _keyframe_dict(keyframe: Keyframe, dicom: bool) -> dict[str, Any]:
    key, value = _geometry(keyframe.geometry)
    if key not in ((LINE,) if dicom else KEYFRAME_GEOMETRY_KEYS):
        raise ValidationError(
            f"Labelbox {'DICOM' if dicom else 'video'} keyframes hold "
            f"{'a line' if dicom else 'bbox, point or line'}, found {type(keyframe.geometry).__name__}",
            field=KEYFRAMES,
            value=type(keyframe.geometry).__name__,
        )
    return {
        FRAME: keyframe.frame + 1,
        key: value,
        CLASSIFICATIONS: [_classification_dict(c) for c in keyframe.classifications],
    }


def _tracked_dict(
    out: dict[str, Any], segments: Iterable[Segment], group: PlaneGroup | None, classifications: Iterable[Any]
) -> dict[str, Any]:
    if group is not None:
        out[GROUP_KEY] = group.value
    out[CLASSIFICATIONS] = [_classification_dict(c) for c in classifications]
    out[SEGMENTS] = [{KEYFRAMES: [_keyframe_dict(k, group is not None) for k in s.keyframes]} for s in segments]
    return out


def to_dict(record: Record) -> dict[str, Any]:
    """One Record as a Labelbox NDJSON object (raises ValidationError for what the format cannot hold)."""
    ann = record.annotation
    out: dict[str, Any] = {}
    if isinstance(ann, ClassificationAnnotation):
        if ann.uuid is not None:
            out[UUID] = ann.uuid
        out[DATA_ROW] = record.data_row.as_labelbox()
        out.update(_classification_dict(ann))
        return out
    out[UUID] = ann.uuid
    out[DATA_ROW] = record.data_row.as_labelbox()
    if isinstance(ann, ObjectAnnotation):
        _feature(out, ann.name, ann.schema_id)
        _scores(out, ann.confidence, ann.custom_metrics)
        placement = ann.placement
        if placement.frame is not None:
            # A per-frame object of another format: in Labelbox it is a one-keyframe track.
            segment = Segment((Keyframe(placement.frame, ann.geometry, ann.classifications),))
            return _tracked_dict(out, (segment,), placement.group, ())
        out[CLASSIFICATIONS] = [_classification_dict(c) for c in ann.classifications]
        key, value = _geometry(ann.geometry)
        out[key] = value
        return out
    if isinstance(ann, TrackedObject):
        _feature(out, ann.name, ann.schema_id)
        _scores(out, ann.confidence, ann.custom_metrics)
        return _tracked_dict(out, ann.segments, ann.group, ann.classifications)
    if isinstance(ann, FrameMasks):
        if ann.group is not None:
            out[GROUP_KEY] = ann.group.value
        frames = []
        for frame in ann.frames:
            key, value = _raster(frame.source, f"mask frame {frame.frame + 1}")
            frames.append({INDEX: frame.frame + 1, key: value})
        instances = []
        for instance in ann.instances:
            entry: dict[str, Any] = {COLOR_RGB: list(instance.color)}
            _feature(entry, instance.name, instance.schema_id)
            instances.append(entry)
        out[MASKS] = {FRAMES: frames, INSTANCES: instances}
        return out
    _feature(out, ann.name, ann.schema_id)
    out[RELATIONSHIP] = {
        SOURCE: ann.source,
        TARGET: ann.target,
        TYPE: BIDIRECTIONAL if ann.bidirectional else UNIDIRECTIONAL,
    }
    return out


def write(records: Iterable[Record], out: str | Path | IO[bytes]) -> int:
    """Write records as NDJSON lines to a path or a binary stream, streaming; returns the number of lines."""
    if isinstance(out, str | Path):
        with Path(out).open("wb") as handle:
            return _write(records, handle)
    return _write(records, out)


def _write(records: Iterable[Record], handle: IO[bytes]) -> int:
    count = 0
    for record in records:
        handle.write(dumps_line(to_dict(record)))
        count += 1
    return count


__all__ = ["NAME", "detect", "read", "to_dict", "write"]
