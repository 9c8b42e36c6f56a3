"""Annotations: objects with geometry and classifications with nested answers, placed on a frame or plane."""

from __future__ import annotations

import itertools
import re
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any

from labelport.errors import ValidationError
from labelport.model._checks import confidence as check_confidence
from labelport.model._checks import finite, non_empty, non_negative_int
from labelport.model.geometry import Geometry, Line, Mask, Point, Polygon, RasterSource, Rectangle, VolumeSource, rgb
from labelport.model.media import PlaneGroup

# The five spellings PostgreSQL (and so Labelbox) accepts: hyphens only between groups of four hex digits,
# optionally wrapped in one pair of braces.
CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_UUID_RE = re.compile(r"^(\{)?(?:[0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4}(?(1)\})$")


def normalise_uuid(value: Any) -> str:
    """Return ``value`` as a lowercase hyphenated uuid; accepts the five spellings Labelbox documents."""
    if isinstance(value, uuid_module.UUID):
        return str(value)
    if isinstance(value, str) and CANONICAL_UUID.match(value):
        return value
    if not isinstance(value, str) or not _UUID_RE.match(value) or value.endswith("-}") or value.startswith("{-"):
        raise ValidationError(f"uuid is not a valid UUID: {value!r}", field="uuid", value=value)
    digits = value.strip("{}").replace("-", "")
    if len(digits) != 32:
        raise ValidationError(f"uuid is not a valid UUID: {value!r}", field="uuid", value=value)
    return str(uuid_module.UUID(hex=digits))


def new_uuid() -> str:
    return str(uuid_module.uuid4())


@dataclass(frozen=True, slots=True)
class CustomMetric:
    name: str
    value: float

    def __post_init__(self) -> None:
        non_empty(self.name, "custom metric name")
        object.__setattr__(self, "value", finite(self.value, f"custom metric {self.name!r} value"))


@dataclass(frozen=True, slots=True)
class FrameRange:
    """Inclusive frame range ``start``..``end`` (video classifications, Encord ranges)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        non_negative_int(self.start, "frame range start")
        non_negative_int(self.end, "frame range end")
        if self.end < self.start:
            raise ValidationError(
                f"frame range end {self.end} is before its start {self.start}",
                field="frames",
                value=(self.start, self.end),
            )


def _feature(name: str | None, schema_id: str | None, what: str) -> None:
    if name is None and schema_id is None:
        raise ValidationError(f"{what} needs a name or a schema id, found neither", field="name", value=None)
    if name is not None:
        non_empty(name, f"{what} name")
    if schema_id is not None:
        non_empty(schema_id, f"{what} schema id")


@dataclass(frozen=True, slots=True)
class ClassificationAnswer:
    """One chosen option, by name and/or schema id, with nested classifications to any depth."""

    name: str | None = None
    schema_id: str | None = None
    confidence: float | None = None
    custom_metrics: tuple[CustomMetric, ...] = ()
    classifications: tuple[ClassificationAnnotation, ...] = ()
    keyframe: bool | None = None
    frames: tuple[FrameRange, ...] = ()

    def __post_init__(self) -> None:
        _feature(self.name, self.schema_id, "answer")
        object.__setattr__(self, "confidence", check_confidence(self.confidence))
        object.__setattr__(self, "classifications", tuple(self.classifications))


@dataclass(frozen=True, slots=True)
class Radio:
    answer: ClassificationAnswer


@dataclass(frozen=True, slots=True)
class Checklist:
    answers: tuple[ClassificationAnswer, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(self.answers))


@dataclass(frozen=True, slots=True)
class Text:
    answer: str

    def __post_init__(self) -> None:
        if not isinstance(self.answer, str):
            raise ValidationError(
                f"text answer must be a string, found {self.answer!r}", field="answer", value=self.answer
            )


Answer = Radio | Checklist | Text


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an annotation sits in its media.

    ``frame`` is 0-based inside labelport (exchange formats that count from 1 add 1 on the way out);
    ``group`` is the DICOM plane; ``segment`` groups keyframes of one track segment.
    """

    frame: int | None = None
    group: PlaneGroup | None = None
    keyframe: bool = True
    segment: int | None = None

    def __post_init__(self) -> None:
        if self.frame is not None:
            non_negative_int(self.frame, "frame")
        if self.segment is not None:
            non_negative_int(self.segment, "segment index")
        if self.group is not None:
            object.__setattr__(self, "group", PlaneGroup.parse(self.group))


@dataclass(frozen=True, slots=True)
class ClassificationAnnotation:
    """A classification: a radio, checklist or text answer; top level, nested, or on a frame range."""

    answer: Answer
    name: str | None = None
    schema_id: str | None = None
    uuid: str | None = None
    confidence: float | None = None
    custom_metrics: tuple[CustomMetric, ...] = ()
    placement: Placement = field(default_factory=Placement)
    frames: tuple[FrameRange, ...] = ()

    def __post_init__(self) -> None:
        _feature(self.name, self.schema_id, "classification")
        if not isinstance(self.answer, Radio | Checklist | Text):
            raise ValidationError(
                f"classification answer must be Radio, Checklist or Text, found {type(self.answer).__name__}",
                field="answer",
                value=self.answer,
            )
        if self.uuid is not None:
            object.__setattr__(self, "uuid", normalise_uuid(self.uuid))
        object.__setattr__(self, "confidence", check_confidence(self.confidence))


@dataclass(frozen=True, slots=True)
class ObjectAnnotation:
    """An object drawn with a tool: geometry, placement, nested classifications, confidence."""

    uuid: str
    geometry: Geometry
    name: str | None = None
    schema_id: str | None = None
    placement: Placement = field(default_factory=Placement)
    confidence: float | None = None
    custom_metrics: tuple[CustomMetric, ...] = ()
    classifications: tuple[ClassificationAnnotation, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "uuid", normalise_uuid(self.uuid))
        _feature(self.name, self.schema_id, "object")
        object.__setattr__(self, "confidence", check_confidence(self.confidence))
        object.__setattr__(self, "classifications", tuple(self.classifications))
        object.__setattr__(self, "custom_metrics", tuple(self.custom_metrics))


@dataclass(frozen=True, slots=True)
class Keyframe:
    """One keyframe of a tracked object: 0-based ``frame``, its geometry and per-frame classifications."""

    frame: int
    geometry: Geometry
    classifications: tuple[ClassificationAnnotation, ...] = ()

    def __post_init__(self) -> None:
        non_negative_int(self.frame, "keyframe frame")
        object.__setattr__(self, "classifications", tuple(self.classifications))


@dataclass(frozen=True, slots=True)
class Segment:
    """Consecutive keyframes of one track segment, frames strictly ascending."""

    keyframes: tuple[Keyframe, ...]

    def __post_init__(self) -> None:
        keyframes = tuple(self.keyframes)
        if not keyframes:
            raise ValidationError("a segment needs at least one keyframe, found none", field="keyframes", value=[])
        frames = [k.frame for k in keyframes]
        if any(b <= a for a, b in itertools.pairwise(frames)):
            raise ValidationError(
                f"keyframes of a segment must have strictly ascending frames, found {frames}",
                field="keyframes",
                value=frames,
            )
        object.__setattr__(self, "keyframes", keyframes)


@dataclass(frozen=True, slots=True)
class TrackedObject:
    """An object followed across frames (video) or slices of a plane (DICOM, ``group`` set), in segments."""

    uuid: str
    segments: tuple[Segment, ...]
    name: str | None = None
    schema_id: str | None = None
    group: PlaneGroup | None = None
    confidence: float | None = None
    custom_metrics: tuple[CustomMetric, ...] = ()
    classifications: tuple[ClassificationAnnotation, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "uuid", normalise_uuid(self.uuid))
        _feature(self.name, self.schema_id, "object")
        segments = tuple(self.segments)
        if not segments:
            raise ValidationError("a tracked object needs at least one segment, found none", field="segments", value=[])
        object.__setattr__(self, "segments", segments)
        if self.group is not None:
            object.__setattr__(self, "group", PlaneGroup.parse(self.group))
        object.__setattr__(self, "confidence", check_confidence(self.confidence))
        object.__setattr__(self, "classifications", tuple(self.classifications))

    @property
    def keyframes(self) -> tuple[Keyframe, ...]:
        return tuple(k for s in self.segments for k in s.keyframes)


@dataclass(frozen=True, slots=True)
class MaskInstance:
    """Binds one colour of composite frame masks to a feature (by name and/or schema id)."""

    color: tuple[int, int, int]
    name: str | None = None
    schema_id: str | None = None

    def __post_init__(self) -> None:
        _feature(self.name, self.schema_id, "mask instance")
        object.__setattr__(self, "color", rgb(self.color, "mask instance colour"))


@dataclass(frozen=True, slots=True)
class FrameMask:
    """The composite mask of one 0-based frame (slice of ``group`` for DICOM)."""

    frame: int
    source: RasterSource

    def __post_init__(self) -> None:
        non_negative_int(self.frame, "mask frame index")


@dataclass(frozen=True, slots=True)
class FrameMasks:
    """Per-frame composite masks whose colours map to features (Labelbox video and DICOM ``masks``)."""

    uuid: str
    frames: tuple[FrameMask, ...]
    instances: tuple[MaskInstance, ...]
    group: PlaneGroup | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "uuid", normalise_uuid(self.uuid))
        frames = tuple(self.frames)
        instances = tuple(self.instances)
        if not frames:
            raise ValidationError("masks need at least one frame, found none", field="masks.frames", value=[])
        if not instances:
            raise ValidationError("masks need at least one instance, found none", field="masks.instances", value=[])
        indexes = [f.frame for f in frames]
        if len(set(indexes)) != len(indexes):
            dup = next(i for i in indexes if indexes.count(i) > 1)
            raise ValidationError(f"mask frame {dup} is given twice", field="masks.frames", value=dup)
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "instances", instances)
        if self.group is not None:
            object.__setattr__(self, "group", PlaneGroup.parse(self.group))


@dataclass(frozen=True, slots=True)
class VolumeMask:
    """An object segmented in 3-D: the voxels of a label volume whose value is one of ``values``.

    Several objects may share one label volume (each its own value); an object that overlaps another also
    owns the values of their overlap groups (RedBrick's overlapping groups), so ``values`` lists them all.
    ``group`` is the plane it was drawn on, where known (Labelbox files masks under a plane); ``color`` the
    display colour, where the source gave one.
    """

    uuid: str
    source: VolumeSource
    values: tuple[int, ...] = (1,)
    name: str | None = None
    schema_id: str | None = None
    group: PlaneGroup | None = None
    color: tuple[int, int, int] | None = None
    confidence: float | None = None
    custom_metrics: tuple[CustomMetric, ...] = ()
    classifications: tuple[ClassificationAnnotation, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "uuid", normalise_uuid(self.uuid))
        _feature(self.name, self.schema_id, "volume mask")
        values = tuple(self.values)
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ValidationError(
                f"a volume mask's values are positive integers (0 is background), found {list(values)}",
                field="values",
                value=list(values),
            )
        object.__setattr__(self, "values", values)
        if self.group is not None:
            object.__setattr__(self, "group", PlaneGroup.parse(self.group))
        if self.color is not None:
            object.__setattr__(self, "color", rgb(self.color, "volume mask colour"))
        object.__setattr__(self, "confidence", check_confidence(self.confidence))
        object.__setattr__(self, "classifications", tuple(self.classifications))
        object.__setattr__(self, "custom_metrics", tuple(self.custom_metrics))


@dataclass(frozen=True, slots=True)
class Relationship:
    """A directed or undirected relation between two objects of the same data row, by their uuids."""

    uuid: str
    source: str
    target: str
    name: str | None = None
    schema_id: str | None = None
    bidirectional: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "uuid", normalise_uuid(self.uuid))
        object.__setattr__(self, "source", normalise_uuid(self.source))
        object.__setattr__(self, "target", normalise_uuid(self.target))
        _feature(self.name, self.schema_id, "relationship")


AnyAnnotation = ObjectAnnotation | ClassificationAnnotation | TrackedObject | FrameMasks | VolumeMask | Relationship


__all__ = [
    "Answer",
    "AnyAnnotation",
    "Checklist",
    "ClassificationAnnotation",
    "ClassificationAnswer",
    "CustomMetric",
    "FrameMask",
    "FrameMasks",
    "FrameRange",
    "Keyframe",
    "Line",
    "Mask",
    "MaskInstance",
    "ObjectAnnotation",
    "Placement",
    "Point",
    "Polygon",
    "Radio",
    "Rectangle",
    "Relationship",
    "Segment",
    "Text",
    "TrackedObject",
    "VolumeMask",
    "new_uuid",
    "normalise_uuid",
]
