"""Labelbox-style Python annotation types, so the Labelbox guides run after changing one import line.

``import labelport.types as lb_types`` offers the classes of ``labelbox.types`` (SDK 5.2.1, the last with
NDJSON parsing and DICOM types) as plain dataclasses taking the same keyword arguments, and
``NDJsonConverter.serialize/deserialize`` converting them to and from NDJSON dicts as that SDK does.
Frames here are Labelbox's (1-based); the canonical model underneath counts from 0.
"""

from __future__ import annotations

import uuid as uuid_module
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from labelport import model
from labelport.errors import ParseError, ValidationError
from labelport.formats.base import Problem, ReadContext
from labelport.formats.labelbox import ndjson
from labelport.formats.labelbox.ndjson_read import BINARY_MASK_COLOR
from labelport.formats.labelbox.ndjson_write import objects
from labelport.imaging import raster
from labelport.imaging.codecs import decode_png_binary, encode_png_binary
from labelport.model.annotation import new_uuid
from labelport.model.media import MediaType
from labelport.model.media import PlaneGroup as GroupKey

Color = int | tuple[int, int, int]


class MaskData(raster.MaskData):
    """Mask pixels (uint8 H x W x 3) from ``arr``, ``im_bytes``, ``file_path`` or ``url``, as Labelbox's MaskData."""

    __slots__ = ()

    @property
    def arr(self) -> npt.NDArray[np.uint8] | None:
        """The array given (or decoded so far); ``value`` decodes bytes, files and URLs on demand."""
        return self._arr


Mask = raster.Mask


def _canvas(height: int | None, width: int | None, canvas: npt.NDArray[np.uint8] | None) -> npt.NDArray[np.uint8]:
    # Labelbox draws on a new H x W x 3 canvas unless given one.
    if canvas is not None:
        return canvas
    if height is None or width is None:
        raise ValidationError("draw needs height and width, or a canvas", field="canvas")
    return np.zeros((height, width, 3), dtype=np.uint8)


@dataclass
class Point:
    x: float
    y: float

    def draw(
        self,
        height: int | None = None,
        width: int | None = None,
        canvas: npt.NDArray[np.uint8] | None = None,
        color: Color = (255, 255, 255),
        thickness: int = 10,
    ) -> npt.NDArray[np.uint8]:
        """A filled circle of radius ``thickness`` (Labelbox's default 10)."""
        target = _canvas(height, width, canvas)
        return raster.draw_point((self.x, self.y), canvas=target, color=color, thickness=thickness)


def _xy(points: Sequence[Point]) -> list[tuple[float, float]]:
    return [(p.x, p.y) for p in points]


@dataclass
class Line:
    points: list[Point]

    def __post_init__(self) -> None:
        self.points = list(self.points)
        if len(self.points) < 2:
            raise ValidationError(f"a Line needs at least 2 points, found {len(self.points)}", field="points")

    def draw(
        self,
        height: int | None = None,
        width: int | None = None,
        canvas: npt.NDArray[np.uint8] | None = None,
        color: Color = (255, 255, 255),
        thickness: int = 1,
    ) -> npt.NDArray[np.uint8]:
        target = _canvas(height, width, canvas)
        return raster.draw_polyline(_xy(self.points), canvas=target, color=color, thickness=thickness)


@dataclass
class Polygon:
    """At least 3 points; closed as Labelbox closes it (the first point appended when the last differs)."""

    points: list[Point]

    def __post_init__(self) -> None:
        self.points = list(self.points)
        if len(self.points) < 3:
            raise ValidationError(f"a Polygon needs at least 3 points, found {len(self.points)}", field="points")
        if self.points[0] != self.points[-1]:
            self.points.append(self.points[0])

    def draw(
        self,
        height: int | None = None,
        width: int | None = None,
        canvas: npt.NDArray[np.uint8] | None = None,
        color: Color = (255, 255, 255),
        thickness: int = -1,
    ) -> npt.NDArray[np.uint8]:
        target = _canvas(height, width, canvas)
        return raster.draw_polygon(_xy(self.points), canvas=target, color=color, thickness=thickness)


@dataclass
class Rectangle:
    """Box from ``start`` (top-left) to ``end`` (bottom-right)."""

    start: Point
    end: Point

    @classmethod
    def from_xyhw(cls, x: float, y: float, h: float, w: float) -> Rectangle:
        return cls(start=Point(x=x, y=y), end=Point(x=x + w, y=y + h))

    def draw(
        self,
        height: int | None = None,
        width: int | None = None,
        canvas: npt.NDArray[np.uint8] | None = None,
        color: Color = (255, 255, 255),
        thickness: int = -1,
    ) -> npt.NDArray[np.uint8]:
        target = _canvas(height, width, canvas)
        start, end = (self.start.x, self.start.y), (self.end.x, self.end.y)
        return raster.draw_rectangle(start, end, canvas=target, color=color, thickness=thickness)


Geometry = Point | Line | Polygon | Rectangle | raster.Mask


@dataclass
class CustomMetric:
    name: str
    value: float


def _metrics(raw: Iterable[Any] | None) -> tuple[model.CustomMetric, ...]:
    out = []
    for m in raw or ():
        name, value = (m["name"], m["value"]) if isinstance(m, Mapping) else (m.name, m.value)
        out.append(model.CustomMetric(name, value))
    return tuple(out)


def _feature_check(name: str | None, feature_schema_id: str | None, what: str) -> None:
    if name is None and feature_schema_id is None:
        raise ValidationError(f"{what} needs a name or a feature_schema_id, found neither", field="name")


@dataclass(kw_only=True)
class ClassificationAnswer:
    name: str | None = None
    feature_schema_id: str | None = None
    confidence: float | None = None
    custom_metrics: list[Any] | None = None
    keyframe: bool | None = None
    classifications: list[ClassificationAnnotation] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _feature_check(self.name, self.feature_schema_id, "ClassificationAnswer")


@dataclass(kw_only=True)
class Radio:
    answer: ClassificationAnswer


@dataclass(kw_only=True)
class Checklist:
    answer: list[ClassificationAnswer]


@dataclass(kw_only=True)
class Text:
    answer: str


class _Annotation:
    """The uuid Labelbox writes: ``extra["uuid"]`` or a fresh one, fixed when the annotation is made."""

    extra: dict[str, Any]

    def _assign_uuid(self) -> None:
        self._uuid = str(self.extra.get("uuid") or uuid_module.uuid4())


@dataclass(kw_only=True)
class ObjectAnnotation(_Annotation):
    value: Geometry
    name: str | None = None
    feature_schema_id: str | None = None
    classifications: list[ClassificationAnnotation] = field(default_factory=list)
    confidence: float | None = None
    custom_metrics: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _feature_check(self.name, self.feature_schema_id, type(self).__name__)
        if not isinstance(self.value, Point | Line | Polygon | Rectangle | raster.Mask):
            raise ValidationError(
                f"value must be Point, Line, Polygon, Rectangle or Mask, found {type(self.value).__name__}",
                field="value",
            )
        self._assign_uuid()


@dataclass(kw_only=True)
class ClassificationAnnotation(_Annotation):
    value: Radio | Checklist | Text
    name: str | None = None
    feature_schema_id: str | None = None
    confidence: float | None = None
    custom_metrics: list[Any] | None = None
    message_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _feature_check(self.name, self.feature_schema_id, type(self).__name__)
        self._assign_uuid()


@dataclass(kw_only=True)
class VideoObjectAnnotation(ObjectAnnotation):
    """One keyframe (1-based ``frame``) of an object tracked through a video."""

    frame: int
    keyframe: bool
    segment_index: int | None = None

    def __post_init__(self) -> None:
        if self.confidence is not None or self.custom_metrics is not None:
            raise ValidationError(f"{type(self).__name__} takes no confidence or custom_metrics", field="confidence")
        super().__post_init__()


@dataclass(kw_only=True)
class VideoClassificationAnnotation(ClassificationAnnotation):
    frame: int
    segment_index: int | None = None


@dataclass(kw_only=True)
class DICOMObjectAnnotation(VideoObjectAnnotation):
    """A polyline keyframe on slice ``frame`` (1-based) of the ``group_key`` plane."""

    group_key: GroupKey

    def __post_init__(self) -> None:
        self.group_key = GroupKey.parse(self.group_key)
        super().__post_init__()


class MaskFrame:
    """The composite mask of one 1-based frame: ``instance_uri`` (alias ``instanceURI``) or ``im_bytes``."""

    def __init__(
        self,
        *,
        index: int,
        instance_uri: str | None = None,
        im_bytes: bytes | None = None,
        instanceURI: str | None = None,
        instanceUri: str | None = None,
    ) -> None:
        uri = instance_uri or instanceURI or instanceUri
        if uri is None and im_bytes is None:
            raise ValidationError("MaskFrame needs instance_uri or im_bytes", field="instance_uri")
        if uri is not None:
            try:
                parsed = urlparse(uri)
            except ValueError as exc:  # a malformed host such as "http://[::1"
                raise ValidationError(f"instance_uri {uri!r} is not a valid URL ({exc})", value=uri) from None
            if not parsed.scheme or not parsed.netloc:
                raise ValidationError(f"instance_uri must be a URL with scheme and host, found {uri!r}", value=uri)
        self.index = index
        self.instance_uri = uri
        self.im_bytes = im_bytes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaskFrame) and (self.index, self.instance_uri, self.im_bytes) == (
            other.index,
            other.instance_uri,
            other.im_bytes,
        )

    def __repr__(self) -> str:
        return f"MaskFrame(index={self.index}, instance_uri={self.instance_uri!r})"


class MaskInstance:
    """Binds ``color_rgb`` (alias ``colorRGB``) of the frame masks to the tool called ``name``."""

    def __init__(
        self,
        *,
        name: str,
        color_rgb: tuple[int, int, int] | None = None,
        colorRGB: tuple[int, int, int] | None = None,
        feature_schema_id: str | None = None,
    ) -> None:
        color = color_rgb if color_rgb is not None else colorRGB
        if color is None:
            raise ValidationError("MaskInstance needs color_rgb", field="color_rgb")
        self.color_rgb = tuple(color)
        self.name = name
        self.feature_schema_id = feature_schema_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaskInstance) and (self.color_rgb, self.name, self.feature_schema_id) == (
            other.color_rgb,
            other.name,
            other.feature_schema_id,
        )

    def __repr__(self) -> str:
        return f"MaskInstance(color_rgb={self.color_rgb}, name={self.name!r})"


@dataclass(kw_only=True)
class VideoMaskAnnotation:
    frames: list[MaskFrame]
    instances: list[MaskInstance]


@dataclass(kw_only=True)
class DICOMMaskAnnotation(VideoMaskAnnotation):
    group_key: GroupKey

    def __post_init__(self) -> None:
        self.group_key = GroupKey.parse(self.group_key)


@dataclass(kw_only=True)
class Relationship:
    class Type(Enum):
        UNIDIRECTIONAL = "unidirectional"
        BIDIRECTIONAL = "bidirectional"

    source: ObjectAnnotation
    target: ObjectAnnotation
    type: Relationship.Type = Type.UNIDIRECTIONAL


@dataclass(kw_only=True)
class RelationshipAnnotation(_Annotation):
    value: Relationship
    name: str | None = None
    feature_schema_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _feature_check(self.name, self.feature_schema_id, "RelationshipAnnotation")
        self._assign_uuid()


@dataclass(kw_only=True)
class GenericDataRowData:
    uid: str | None = None
    global_key: str | None = None
    external_id: str | None = None


Annotation = (
    ObjectAnnotation | ClassificationAnnotation | VideoMaskAnnotation | RelationshipAnnotation
)  # Video/DICOM subclasses included


@dataclass(kw_only=True)
class Label:
    """The annotations of one data row: ``data`` is ``{"global_key": k}``, ``{"uid": id}`` or GenericDataRowData."""

    data: GenericDataRowData | Mapping[str, Any]
    annotations: list[Any] = field(default_factory=list)
    uid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    is_benchmark_reference: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.data, Mapping):
            given = {k: v for k, v in self.data.items() if k in ("uid", "global_key", "external_id") and v}
            if len(given) != 1:
                raise ValidationError(
                    f"Label data needs exactly one of uid, global_key, external_id; found {dict(self.data)!r}",
                    field="data",
                    value=dict(self.data),
                )
            self.data = GenericDataRowData(**given)


# ------------------------------------------------------------------ Python objects -> model records


def _data_row(label: Label) -> model.DataRowKey:
    data = label.data
    if not isinstance(data, GenericDataRowData):  # Label.__post_init__ normalises mappings
        raise ValidationError(f"Label data must name a data row, found {data!r}", field="data", value=data)
    if data.uid is None and data.global_key is None:
        raise ValidationError(
            f"Labelbox NDJSON names data rows by id or global key; external_id {data.external_id!r} is not accepted",
            field="data",
            value=data.external_id,
        )
    if data.uid is not None:
        return model.DataRowKey(id=data.uid)
    return model.DataRowKey(global_key=data.global_key)


def _point(p: Point) -> model.Point:
    return model.Point(p.x, p.y)


def _geometry(value: Geometry) -> model.Geometry:
    if isinstance(value, Rectangle):
        return model.Rectangle(_point(value.start), _point(value.end))
    if isinstance(value, Polygon):
        return model.Polygon(tuple(_point(p) for p in value.points))
    if isinstance(value, Line):
        return model.Line(tuple(_point(p) for p in value.points))
    if isinstance(value, Point):
        return _point(value)
    color = value.color if isinstance(value.color, tuple) else (value.color,) * 3
    if value.mask.url is not None:
        return model.Mask(model.RasterSource(uri=value.mask.url), color)
    # The SDK sends the pixels of this colour as a binary PNG.
    return model.Mask(model.RasterSource(png=encode_png_binary(value.pixels())), BINARY_MASK_COLOR)


def _answer(answer: ClassificationAnswer) -> model.ClassificationAnswer:
    return model.ClassificationAnswer(
        name=answer.name,
        schema_id=answer.feature_schema_id,
        confidence=answer.confidence,
        custom_metrics=_metrics(answer.custom_metrics),
        classifications=tuple(_classification(c, nested=True) for c in answer.classifications or ()),
        keyframe=answer.keyframe,
    )


def _classification(
    cls: ClassificationAnnotation, nested: bool = False, frames: tuple[model.FrameRange, ...] = ()
) -> model.ClassificationAnnotation:
    value = cls.value
    answer: model.Answer
    if isinstance(value, Text):
        answer = model.Text(value.answer)
    elif isinstance(value, Radio):
        answer = model.Radio(_answer(value.answer))
    else:
        answer = model.Checklist(tuple(_answer(a) for a in value.answer))
    return model.ClassificationAnnotation(
        answer=answer,
        name=cls.name,
        schema_id=cls.feature_schema_id,
        uuid=None if nested else cls._uuid,
        confidence=cls.confidence,
        custom_metrics=_metrics(cls.custom_metrics),
        frames=frames,
    )


def _consecutive(frames: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for frame in sorted(frames):
        if ranges and frame - ranges[-1][1] <= 1:
            ranges[-1] = (ranges[-1][0], frame)
        else:
            ranges.append((frame, frame))
    return ranges


def _segment_ranges(group: Sequence[VideoObjectAnnotation | VideoClassificationAnnotation]) -> list[tuple[int, int]]:
    """Frame ranges as the SDK cuts them: by ``segment_index`` when all have one, else by consecutive frames."""
    indexed = sorted((a.frame, a.segment_index) for a in group if a.segment_index is not None)
    if not indexed:
        return _consecutive([a.frame for a in group])
    if len(indexed) != len(group):
        raise ValidationError("video annotations cannot partially have segment_index set", field="segment_index")
    by_segment: dict[int, list[int]] = defaultdict(list)
    last = 0
    for frame, index in indexed:
        if index < last:
            raise ValidationError(
                f"segment_index must be in ascending order; see the annotation at frame {frame}",
                field="segment_index",
                value=index,
            )
        by_segment[index].append(frame)
        last = index
    return [(frames[0], frames[-1]) for frames in by_segment.values()]


def _frame(frame: int, what: str) -> int:
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 1:
        raise ValidationError(f"{what} frame is 1-based as in Labelbox, found {frame!r}", field="frame", value=frame)
    return frame - 1


def _tracked(group: Sequence[VideoObjectAnnotation]) -> model.TrackedObject | None:
    first = group[0]
    segments = []
    for start, end in _segment_ranges(group):
        keyframes = [
            model.Keyframe(
                _frame(a.frame, "a video object"),
                _geometry(a.value),
                tuple(_classification(c, nested=True) for c in a.classifications),
            )
            for a in sorted(group, key=lambda a: a.frame)
            if a.keyframe and start <= a.frame <= end
        ]
        if keyframes:  # the SDK writes only keyframes; a segment without one is left out
            segments.append(model.Segment(tuple(keyframes)))
    if not segments:
        return None
    return model.TrackedObject(
        uuid=first.extra.get("uuid") or new_uuid(),
        segments=tuple(segments),
        name=first.name,
        schema_id=first.feature_schema_id,
        group=first.group_key if isinstance(first, DICOMObjectAnnotation) else None,
    )


def _frame_masks(mask: VideoMaskAnnotation) -> model.FrameMasks:
    frames = tuple(
        model.FrameMask(
            _frame(f.index, "a mask"),
            model.RasterSource(uri=f.instance_uri) if f.instance_uri else model.RasterSource(png=f.im_bytes),
        )
        for f in mask.frames
    )
    instances = tuple(model.MaskInstance(i.color_rgb, i.name, i.feature_schema_id) for i in mask.instances)  # type: ignore[arg-type]
    group = mask.group_key if isinstance(mask, DICOMMaskAnnotation) else None
    # The SDK's mask annotations have no uuid: a fresh one is written every time.
    return model.FrameMasks(new_uuid(), frames, instances, group)


def _label_records(label: Label) -> Iterator[model.AnyAnnotation]:
    video: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    others: list[model.AnyAnnotation] = []
    for ann in label.annotations:
        if isinstance(ann, VideoMaskAnnotation):
            yield _frame_masks(ann)
        elif isinstance(ann, VideoObjectAnnotation | VideoClassificationAnnotation):
            plane = ann.group_key if isinstance(ann, DICOMObjectAnnotation) else None
            video[(type(ann), ann.feature_schema_id or ann.name, plane)].append(ann)
        elif isinstance(ann, ObjectAnnotation):
            others.append(
                model.ObjectAnnotation(
                    uuid=ann._uuid,
                    geometry=_geometry(ann.value),
                    name=ann.name,
                    schema_id=ann.feature_schema_id,
                    confidence=ann.confidence,
                    custom_metrics=_metrics(ann.custom_metrics),
                    classifications=tuple(_classification(c, nested=True) for c in ann.classifications),
                )
            )
        elif isinstance(ann, ClassificationAnnotation):
            others.append(_classification(ann))
        elif isinstance(ann, RelationshipAnnotation):
            rel = ann.value
            others.append(
                model.Relationship(
                    uuid=ann._uuid,
                    source=rel.source._uuid,
                    target=rel.target._uuid,
                    name=ann.name,
                    schema_id=ann.feature_schema_id,
                    bidirectional=rel.type is Relationship.Type.BIDIRECTIONAL,
                )
            )
        else:
            raise ValidationError(f"not a Labelbox annotation type: {type(ann).__name__}", value=type(ann).__name__)
    for group in video.values():
        if isinstance(group[0], VideoClassificationAnnotation):
            ranges = tuple(
                model.FrameRange(_frame(s, "a video classification"), _frame(e, "a video classification"))
                for s, e in _segment_ranges(group)
            )
            yield _classification(group[0], frames=ranges)
        else:
            tracked = _tracked(group)
            if tracked is not None:
                yield tracked
    yield from others


def to_items(
    labels: Iterable[Label], kind: model.LabelKind = model.LabelKind.GROUND_TRUTH
) -> Iterator[model.LabeledItem]:
    """One item per Labelbox-style label, its annotations in the order the SDK serializes them."""
    for label in labels:
        yield model.LabeledItem(_data_row(label), (model.Label(kind, tuple(_label_records(label))),))


# ------------------------------------------------------------------ model records -> Python objects


def _to_point(p: model.Point) -> Point:
    return Point(x=p.x, y=p.y)


def _to_geometry(geometry: model.Geometry) -> Geometry:
    if isinstance(geometry, model.Rectangle):
        return Rectangle(start=_to_point(geometry.start), end=_to_point(geometry.end))
    if isinstance(geometry, model.Polygon):
        return Polygon(points=[_to_point(p) for p in geometry.points])
    if isinstance(geometry, model.Line):
        return Line(points=[_to_point(p) for p in geometry.points])
    if isinstance(geometry, model.Point):
        return _to_point(geometry)
    if isinstance(geometry, model.Mask):
        source = geometry.source
        if source.uri is not None:
            return Mask(mask=MaskData(url=source.uri), color=geometry.color)
        if source.png is not None and geometry.color == BINARY_MASK_COLOR:
            binary = decode_png_binary(source.png).astype(np.uint8)
            return Mask(mask=MaskData(arr=np.repeat(binary[:, :, None], 3, axis=2)), color=geometry.color)
        if source.png is not None:
            return Mask(mask=MaskData(im_bytes=source.png), color=geometry.color)
    raise ValidationError(f"no Labelbox type for {type(geometry).__name__}", value=type(geometry).__name__)


def _metric_list(metrics: tuple[model.CustomMetric, ...]) -> list[Any] | None:
    return [CustomMetric(m.name, m.value) for m in metrics] or None


def _to_answer(answer: model.ClassificationAnswer) -> ClassificationAnswer:
    return ClassificationAnswer(
        name=answer.name,
        feature_schema_id=answer.schema_id,
        confidence=answer.confidence,
        custom_metrics=_metric_list(answer.custom_metrics),
        keyframe=answer.keyframe,
        classifications=[_to_classification(c) for c in answer.classifications] or None,
    )


def _to_value(answer: model.Answer) -> Radio | Checklist | Text:
    if isinstance(answer, model.Text):
        return Text(answer=answer.answer)
    if isinstance(answer, model.Radio):
        return Radio(answer=_to_answer(answer.answer))
    return Checklist(answer=[_to_answer(a) for a in answer.answers])


def _to_classification(cls: model.ClassificationAnnotation) -> ClassificationAnnotation:
    return ClassificationAnnotation(
        value=_to_value(cls.answer),
        name=cls.name,
        feature_schema_id=cls.schema_id,
        confidence=cls.confidence,
        custom_metrics=_metric_list(cls.custom_metrics),
        extra={"uuid": cls.uuid} if cls.uuid else {},
    )


def _to_annotations(ann: model.AnyAnnotation, objects: Mapping[str, ObjectAnnotation]) -> list[Any]:
    if isinstance(ann, model.ObjectAnnotation):
        return [
            ObjectAnnotation(
                value=_to_geometry(ann.geometry),
                name=ann.name,
                feature_schema_id=ann.schema_id,
                classifications=[_to_classification(c) for c in ann.classifications],
                confidence=ann.confidence,
                custom_metrics=_metric_list(ann.custom_metrics),
                extra={"uuid": ann.uuid},
            )
        ]
    if isinstance(ann, model.ClassificationAnnotation):
        if not ann.frames:
            return [_to_classification(ann)]
        extra = {"uuid": ann.uuid} if ann.uuid else {}
        return [
            VideoClassificationAnnotation(
                value=_to_value(ann.answer),
                name=ann.name,
                feature_schema_id=ann.schema_id,
                frame=frame + 1,
                extra=dict(extra),
            )
            for span in ann.frames
            for frame in range(span.start, span.end + 1)
        ]
    if isinstance(ann, model.TrackedObject):
        out: list[Any] = []
        for index, segment in enumerate(ann.segments):
            for key in segment.keyframes:
                fields: dict[str, Any] = {
                    "value": _to_geometry(key.geometry),
                    "name": ann.name,
                    "feature_schema_id": ann.schema_id,
                    "classifications": [_to_classification(c) for c in key.classifications],
                    "frame": key.frame + 1,
                    "keyframe": True,
                    "segment_index": index,
                    "extra": {"uuid": ann.uuid},
                }
                out.append(
                    DICOMObjectAnnotation(group_key=ann.group, **fields)
                    if ann.group is not None
                    else VideoObjectAnnotation(**fields)
                )
        return out
    if isinstance(ann, model.FrameMasks):
        frames = [MaskFrame(index=f.frame + 1, instance_uri=f.source.uri, im_bytes=f.source.png) for f in ann.frames]
        instances = [
            MaskInstance(color_rgb=i.color, name=i.name or "", feature_schema_id=i.schema_id) for i in ann.instances
        ]
        if ann.group is not None:
            return [DICOMMaskAnnotation(frames=frames, instances=instances, group_key=ann.group)]
        return [VideoMaskAnnotation(frames=frames, instances=instances)]
    if isinstance(ann, model.VolumeMask):
        raise ValidationError(
            "a volume mask has no Labelbox Python type; export it as NDJSON with its data row's pixels",
            field="annotation",
            value="VolumeMask",
        )
    try:
        source, target = objects[ann.source], objects[ann.target]
    except KeyError as exc:
        raise ValidationError(
            f"relationship {ann.uuid} names object {exc.args[0]}, which is not on the same data row",
            field="relationship",
            value=exc.args[0],
        ) from None
    kind = Relationship.Type.BIDIRECTIONAL if ann.bidirectional else Relationship.Type.UNIDIRECTIONAL
    return [
        RelationshipAnnotation(
            value=Relationship(source=source, target=target, type=kind),
            name=ann.name,
            feature_schema_id=ann.schema_id,
            extra={"uuid": ann.uuid},
        )
    ]


def from_items(items: Iterable[model.LabeledItem]) -> Iterator[Label]:
    """One Label per data row, in order of first appearance, as the SDK's ``deserialize`` groups them."""
    rows: dict[model.DataRowKey, list[model.AnyAnnotation]] = {}
    for item in items:
        annotations = rows.setdefault(item.data_row, [])
        for label in item.labels:
            annotations.extend(model.decoded(a) for a in label.annotations)
    for row, anns in rows.items():
        objects: dict[str, ObjectAnnotation] = {}
        out: list[Any] = []
        for ann in sorted(anns, key=lambda a: isinstance(a, model.Relationship)):
            converted = _to_annotations(ann, objects)
            for item in converted:
                if type(item) is ObjectAnnotation:
                    objects[item._uuid] = item
            out.extend(converted)
        yield Label(data=GenericDataRowData(uid=row.id, global_key=row.global_key), annotations=out)


class NDJsonConverter:
    """Labels to NDJSON dicts and back, as ``labelbox.data.serialization.NDJsonConverter`` (5.2.1)."""

    @staticmethod
    def serialize(labels: Iterable[Label]) -> Iterator[dict[str, Any]]:
        for item in to_items(labels):
            yield from objects(item)

    @staticmethod
    def deserialize(lines: Iterable[Mapping[str, Any]]) -> Iterator[Label]:
        """Labels from NDJSON dicts; raises ParseError at the first bad object."""

        def items() -> Iterator[model.LabeledItem]:
            for item in ndjson.read(lines, ReadContext()):
                if isinstance(item, Problem):
                    raise ParseError(item.message, item.location, item.value)
                yield item

        yield from from_items(items())


__all__ = [
    "Checklist",
    "ClassificationAnnotation",
    "ClassificationAnswer",
    "CustomMetric",
    "DICOMMaskAnnotation",
    "DICOMObjectAnnotation",
    "GenericDataRowData",
    "GroupKey",
    "Label",
    "Line",
    "Mask",
    "MaskData",
    "MaskFrame",
    "MaskInstance",
    "MediaType",
    "NDJsonConverter",
    "ObjectAnnotation",
    "Point",
    "Polygon",
    "Radio",
    "Rectangle",
    "Relationship",
    "RelationshipAnnotation",
    "Text",
    "VideoClassificationAnnotation",
    "VideoMaskAnnotation",
    "VideoObjectAnnotation",
    "from_items",
    "to_items",
]
