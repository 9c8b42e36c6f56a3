"""Reading Labelbox NDJSON lines into model annotations (the checked path every line can take).

Reading checks the shape only (project and ontology checks belong to the service): each line becomes a
``LabeledItem`` holding one annotation, or one located ``Problem`` while the lines after it are still read.
Frames are 1-based on the wire and 0-based in the model: reading subtracts 1.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from labelport.errors import Location, ValidationError
from labelport.formats.base import Problem
from labelport.formats.labelbox.fields import (
    ANNOTATION_KEYS,
    ANSWER,
    ANSWERS,
    BBOX,
    BIDIRECTIONAL,
    CLASSIFICATIONS,
    COLOR_RGB,
    CONFIDENCE,
    CUSTOM_METRICS,
    DATA_ROW,
    END,
    FEATURE_NAME,
    FRAME,
    FRAMES,
    GLOBAL_KEY,
    GROUP_KEY,
    HEIGHT,
    ID,
    IM_BYTES,
    IMAGE_GEOMETRY_KEYS,
    INDEX,
    INSTANCE_URI,
    INSTANCES,
    KEYFRAME,
    KEYFRAME_GEOMETRY_KEYS,
    KEYFRAMES,
    LEFT,
    LINE,
    MASK,
    MASKS,
    METRIC_NAME,
    METRIC_VALUE,
    PNG,
    POINT,
    POLYGON,
    RELATIONSHIP,
    RLE_COUNTS,
    RLE_SIZE,
    SCHEMA_ID,
    SEGMENTS,
    SOURCE,
    START,
    TARGET,
    TOP,
    TYPE,
    UNIDIRECTIONAL,
    UUID,
    WIDTH,
    X,
    Y,
)
from labelport.model.annotation import (
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
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import Label, LabelKind
from labelport.model.media import PlaneGroup

BINARY_MASK_COLOR = (1, 1, 1)  # a ``png`` mask is 0/1 grey: its object is the pixels equal to 1
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

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


def _b64_png(raw: Any) -> bytes:
    """A base64 PNG whose header is sound and within the mask limits. Its pixels are not decoded here: the
    import decodes them once the line passed every cheaper check (data row, ontology, size)."""
    data = _b64(raw)
    from labelport.imaging.codecs import check_png  # numpy/Pillow only when masks occur

    try:
        check_png(data)
    except ValidationError as exc:
        raise _Bad(exc.message, exc.value) from None
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


def _rle(mask: Mapping[str, Any]) -> Mask:
    """``{counts, size: [h, w]}``: COCO run lengths of the column-major flattening, starting with zeros."""
    from labelport.imaging.codecs import check_mask_size, decode_coco_rle  # numpy only when masks occur
    from labelport.model.pixels import Pixels

    if RLE_COUNTS not in mask or RLE_SIZE not in mask:
        raise _missing(mask, (RLE_COUNTS, RLE_SIZE))
    size = mask[RLE_SIZE]
    if type(size) is not list or len(size) != 2 or not all(type(v) is int and v > 0 for v in size):
        raise _Bad(f"must be [height, width], two positive integers, found {size!r}", size).under(RLE_SIZE)
    try:
        check_mask_size(size[0], size[1])  # before a pixel is allocated
    except ValidationError as exc:
        raise _Bad(exc.message, size).under(RLE_SIZE) from None
    counts = mask[RLE_COUNTS]
    if type(counts) is list:
        if not all(type(c) is int and c >= 0 for c in counts):
            bad = next(c for c in counts if type(c) is not int or c < 0)
            raise _Bad(f"run lengths must be integers >= 0, found {bad!r}", bad).under(RLE_COUNTS)
        if sum(counts) != size[0] * size[1]:
            raise _Bad(
                f"run lengths add up to {sum(counts)} pixels but size {size} has {size[0] * size[1]}", sum(counts)
            ).under(RLE_COUNTS)
    elif type(counts) is not str:
        raise _Bad(f"must be a list of run lengths or a COCO counts string, found {_kind(counts)}", counts).under(
            RLE_COUNTS
        )
    try:
        selected = decode_coco_rle({RLE_SIZE: size, RLE_COUNTS: counts})
    except ValidationError as exc:
        raise _Bad(exc.message, exc.value).under(RLE_COUNTS) from None
    return Mask(RasterSource(pixels=Pixels.of(selected.astype("uint8"))), BINARY_MASK_COLOR)


def _mask(raw: Any) -> Mask:
    mask = _object(raw, "mask")
    if PNG in mask:
        # A binary 0/1 PNG: its object is the pixels equal to 1 (others make the import say which it holds).
        return Mask(RasterSource(png=_field(mask, PNG, _b64_png)), BINARY_MASK_COLOR)
    if RLE_COUNTS in mask or RLE_SIZE in mask:
        return _rle(mask)
    if INSTANCE_URI in mask or IM_BYTES in mask:
        if COLOR_RGB not in mask:
            raise _Bad(f"a composite mask needs {COLOR_RGB} beside its image; found keys {sorted(mask)}", mask)
        color = _field(mask, COLOR_RGB, _color)
        if INSTANCE_URI in mask:
            return Mask(RasterSource(uri=_field(mask, INSTANCE_URI, _uri)), color)
        return Mask(RasterSource(png=_field(mask, IM_BYTES, _b64_png)), color)
    raise _Bad(
        f"a mask needs one of {PNG}, {INSTANCE_URI}+{COLOR_RGB}, {IM_BYTES}+{COLOR_RGB} or {RLE_COUNTS}+{RLE_SIZE}; "
        f"found keys {sorted(mask)}",
        mask,
    )


def _frame_number(raw: Any) -> int:
    """A 1-based wire frame as a 0-based model frame."""
    if type(raw) is float and raw.is_integer():
        raw = int(raw)
    if type(raw) is not int:
        raise _Bad(f"must be an integer frame number, found {raw!r}", raw)
    if raw < 1:
        # The rule of Labelbox's editor and exports (frame 1 is the first); a 0 names no frame, and shifting it
        # would move every frame of the range (docs/formats/labelbox-ndjson.md, "Frames").
        raise _Bad(
            f"frames are 1-based in Labelbox NDJSON (frame 1 is the first frame, as in the Labelbox editor and its "
            f"exports), found {raw}",
            raw,
        )
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
        return FrameMask(frame, RasterSource(png=_field(entry, IM_BYTES, _b64_png)))
    raise _Bad(f"a mask frame needs {INSTANCE_URI} or {IM_BYTES}; found keys {sorted(entry)}", entry)


def _mask_instance(raw: Any) -> MaskInstance:
    entry = _object(raw, "a mask instance")
    if COLOR_RGB not in entry:
        raise _missing(entry, (COLOR_RGB,))
    return MaskInstance(
        _field(entry, COLOR_RGB, _color), _optional_str(entry, FEATURE_NAME), _optional_str(entry, SCHEMA_ID)
    )


def _group(raw: Any) -> PlaneGroup:
    try:
        return PlaneGroup.parse(raw)
    except ValidationError:
        raise _Bad(f"{GROUP_KEY} must be one of axial, sagittal, coronal; found {raw!r}", raw) from None


# ---------------------------------------------------------------- reading: lines


def data_row_key(raw: Any) -> DataRowKey:
    """A ``dataRow`` object: exactly one of ``id`` and ``globalKey``."""
    row = _object(raw, DATA_ROW)
    row_id, key = row.get(ID), row.get(GLOBAL_KEY)
    for name, value in ((ID, row_id), (GLOBAL_KEY, key)):
        if value is not None and (type(value) is not str or not value):
            raise _Bad(f"must be a non-empty string, found {value!r}", value).under(name)
    if (row_id is None) == (key is None):
        raise _Bad(
            f"must have exactly one of {ID} and {GLOBAL_KEY}, found {ID}={row_id!r}, {GLOBAL_KEY}={key!r}",
            {ID: row_id, GLOBAL_KEY: key},
        )
    return DataRowKey(id=row_id) if row_id is not None else DataRowKey(global_key=key)


def as_data_row(key: DataRowKey) -> dict[str, str]:
    """The ``dataRow`` object naming ``key`` (by id when it has one, else by global key)."""
    if key.id is not None:
        return {ID: key.id}
    if key.global_key is not None:
        return {GLOBAL_KEY: key.global_key}
    raise ValidationError(
        f"Labelbox NDJSON names a data row by id or global key; {key} has neither", field=DATA_ROW, value=str(key)
    )


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


def annotation_of(value: Any) -> tuple[DataRowKey, AnyAnnotation]:
    """The data row and annotation of one NDJSON object; raises ``ValidationError`` locating the problem."""
    if type(value) is not dict:
        raise ValidationError(f"expected a JSON object, found {_kind(value)}", value=value)
    try:
        if DATA_ROW not in value:
            raise _Bad(f"missing {DATA_ROW} (it names the data row by id or globalKey)", None)
        data_row = _field(value, DATA_ROW, data_row_key)
        # The model normalises the uuid (and says which value was wrong); checking it here would do it twice.
        return data_row, _annotation(value, value.get(UUID))
    except _Bad as bad:
        raise ValidationError(bad.message, field=bad.path, value=bad.value) from None


def item_of(value: Any, kind: LabelKind, file: str | None, line: int | None, path: str | None) -> LabeledItem | Problem:
    """One NDJSON object as an item holding its annotation, or the located problem."""
    try:
        data_row, annotation = annotation_of(value)
    except ValidationError as exc:
        return _problem(Location(file, line, path), exc.field or "", exc.message, exc.value, value)
    return LabeledItem(data_row, (Label(kind, (annotation,)),), file=file, line=line, path=path)


def _problem(location: Location, path: str, message: str, value: Any, line: Any) -> Problem:
    if location.path and path:
        path = location.path + ("" if path.startswith("[") else ".") + path
    where = Location(location.file, location.line, path or location.path)
    uuid = line.get(UUID) if type(line) is dict else None
    row = line.get(DATA_ROW) if type(line) is dict else None
    return Problem(where, message, value, uuid if type(uuid) is str else None, _loose_key(row))


def _loose_key(row: Any) -> DataRowKey | None:
    """The identifiers a bad line's ``dataRow`` gives, as far as they are strings (its status shows them)."""
    if type(row) is not dict:
        return None
    row_id, key = row.get(ID), row.get(GLOBAL_KEY)
    row_id = row_id if type(row_id) is str and row_id else None
    key = key if type(key) is str and key else None
    return DataRowKey(id=row_id, global_key=key) if row_id is not None or key is not None else None
