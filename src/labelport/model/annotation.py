"""Annotations: objects with geometry and classifications with nested answers, placed on a frame or plane."""

from __future__ import annotations

import re
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any

from labelport.errors import ValidationError
from labelport.model._checks import confidence as check_confidence
from labelport.model._checks import finite, non_empty, non_negative_int
from labelport.model.geometry import Geometry, Line, Mask, Point, Polygon, Rectangle
from labelport.model.media import PlaneGroup

# The five spellings PostgreSQL (and so Labelbox) accepts: hyphens only between groups of four hex digits,
# optionally wrapped in one pair of braces.
_UUID_RE = re.compile(r"^(\{)?(?:[0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4}(?(1)\})$")


def normalise_uuid(value: Any) -> str:
    """Return ``value`` as a lowercase hyphenated uuid; accepts the five spellings Labelbox documents."""
    if isinstance(value, uuid_module.UUID):
        return str(value)
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


__all__ = [
    "Answer",
    "Checklist",
    "ClassificationAnnotation",
    "ClassificationAnswer",
    "CustomMetric",
    "FrameRange",
    "Line",
    "Mask",
    "ObjectAnnotation",
    "Placement",
    "Point",
    "Polygon",
    "Radio",
    "Rectangle",
    "Text",
    "new_uuid",
    "normalise_uuid",
]
