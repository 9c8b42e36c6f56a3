"""What reading Encord label rows shares: the read options, the ontology's features by Encord hash, timestamps,
the objects and data units as gathered, and the small steps that turn them into annotations."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from labelport.errors import ValidationError
from labelport.formats.base import Problem
from labelport.formats.encord.answers import Scope
from labelport.formats.encord.coordinates import DEFAULT_TOLERANCE
from labelport.formats.encord.fields import (
    DATA_SEQUENCE,
    DICOM_INSTANCE_UID,
    HEIGHT,
    METADATA,
    MULTIFRAME_FRAME_NUMBER,
    WIDTH,
    DataType,
    Shape,
)
from labelport.formats.encord.hashes import uuid_of_hash
from labelport.formats.encord.ontology import attribute_hash, feature_hash
from labelport.formats.encord.slices import SliceMap, ranges
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    FrameMask,
    FrameMasks,
    FrameRange,
    Keyframe,
    MaskInstance,
    Segment,
    TrackedObject,
)
from labelport.model.encoded import EncodedAnnotation
from labelport.model.geometry import Geometry, Mask
from labelport.model.item import DataRowKey
from labelport.model.media import MediaType
from labelport.model.ontology import Classification, Ontology, Tool

MEDIA = {
    DataType.IMAGE: MediaType.IMAGE,
    DataType.IMG_GROUP: MediaType.IMAGE,
    DataType.VIDEO: MediaType.VIDEO,
    DataType.DICOM: MediaType.DICOM,
    DataType.NIFTI: MediaType.NIFTI,
}
_TIME_FORMATS = ("%a, %d %b %Y %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")
MASK_COLOR = (255, 255, 255)
SHAPES: dict[Any, Shape] = {shape.value: shape for shape in Shape}


class Match(StrEnum):
    """Which name of a label row's media must be a data row's global key or external id."""

    DATA_HASH = "data_hash"
    DATA_TITLE = "data_title"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """``match``: data_hash, data_title or both (default: both, refused when they name different rows);
    ``tolerance``: how far past 0..1 a coordinate may go, as a fraction of the image; ``fast`` (default true):
    plain image objects come as ``EncodedAnnotation`` (``fast.py``)."""

    match: Match = Match.BOTH
    tolerance: float = DEFAULT_TOLERANCE
    fast: bool = True

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> ReadOptions:
        # ``series``: the series a conversion joins (a callable of the data row key and series UID).
        unknown = sorted(set(options) - {"match", "tolerance", "fast", "series"})
        if unknown:
            raise ValidationError(
                f"unknown Encord read option {unknown[0]!r}; known: match, tolerance, fast", field=unknown[0]
            )
        raw_match = options.get("match") or Match.BOTH
        try:
            match = Match(str(raw_match))
        except ValueError:
            raise ValidationError(
                f"match must be data_hash, data_title or both, found {raw_match!r}", field="match", value=raw_match
            ) from None
        tolerance = options.get("tolerance", DEFAULT_TOLERANCE)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance < 1:
            raise ValidationError(f"tolerance must be a number in 0..1, found {tolerance!r}", field="tolerance")
        return cls(match, float(tolerance), bool(options.get("fast", True)))


class Features:
    """An ontology's objects and classifications by the hashes Encord names them with."""

    def __init__(self, ontology: Ontology) -> None:
        self.tools: dict[str, Tool] = {}
        self.classifications: dict[str, Classification] = {}
        for tool in ontology.tools:
            for key in (feature_hash(tool), tool.schema_id):
                self.tools.setdefault(key, tool)
        for c in ontology.classifications:
            for key in (feature_hash(c), c.schema_id, attribute_hash(c)):
                self.classifications.setdefault(key, c)
        self.scopes: dict[str, Scope] = {}
        # (tool schema id, an object's static answer list as JSON) -> its classifications and their stored JSON:
        # objects of an export repeat a few answer lists, read once here (see RowReader._static_answers)
        self.answers: dict[tuple[str, bytes], tuple[tuple[ClassificationAnnotation, ...], Any]] = {}

    def scope(self, tool: Tool) -> Scope:
        """The attributes of ``tool`` (made once: most objects of an export share a few tools)."""
        found = self.scopes.get(tool.schema_id)
        if found is None:
            found = self.scopes[tool.schema_id] = Scope(tool.classifications)
        return found

    def tool_names(self) -> str:
        return ", ".join(sorted({f"{t.name} ({feature_hash(t)})" for t in self.tools.values()})) or "none"


def parse_time(value: Any) -> datetime | None:
    """A label row timestamp in any form the SDK reads (notes section 1), as UTC; None if it is none."""
    if not isinstance(value, str) or not value:
        return None
    return _parse_time(value)


@functools.lru_cache(maxsize=4096)
def _parse_time(value: str) -> datetime | None:
    # Cached: an export repeats its timestamps, and strptime is slow.
    text = value.replace("GMT", "UTC")
    for pattern in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Failed(Exception):
    """One object, classification or frame that cannot be read: the problem is already worded."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(slots=True)
class Gathered:
    """One objectHash of a data unit, gathered across its frames."""

    hash: str
    path: str
    name: str | None
    schema_id: str | None
    tool: Tool | None
    shape: Shape
    confidence: float | None
    frames: list[tuple[int, Geometry, str]] = field(default_factory=list)
    failure: Problem | None = None
    # An image object with answers the fast path encoded (``frames`` then stays empty): it waits here, so it
    # keeps its place among the checked objects, and a second one of its hash on the image still fails it.
    encoded: EncodedAnnotation | None = None

    @property
    def uuid(self) -> str:
        return uuid_of_hash(self.hash)


@dataclass(slots=True)
class Unit:
    """A data unit as read: its key, names, size, frames of labels."""

    key: str
    raw: Mapping[str, Any]
    path: str
    data_hash: str
    data_title: str
    width: int | None
    height: int | None


def on_image(
    classifications: tuple[ClassificationAnnotation, ...], sequence: int
) -> tuple[ClassificationAnnotation, ...]:
    """An image's dynamic answers: those holding on its place in the group, on its one frame (0)."""
    out = []
    for c in classifications:
        if not c.frames:
            out.append(c)
        elif any(r.start <= sequence <= r.end for r in c.frames):
            out.append(replace(c, frames=(FrameRange(0, 0),)))
    return tuple(out)


def positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def sequence_of(unit: Mapping[str, Any]) -> int:
    try:
        return int(unit.get(DATA_SEQUENCE, 0))
    except (TypeError, ValueError):
        return 0


def instance_of(labels: Any) -> tuple[str | None, int | None]:
    """The instance UID (and multi-frame frame number) a slice's metadata names, if any."""
    metadata = labels.get(METADATA) if isinstance(labels, Mapping) else None
    if not isinstance(metadata, Mapping):
        return None, None
    uid, number = metadata.get(DICOM_INSTANCE_UID), metadata.get(MULTIFRAME_FRAME_NUMBER)
    return (uid if isinstance(uid, str) and uid else None), (number if isinstance(number, int) else None)


def check_slice_size(metadata: Mapping[str, Any], slices: SliceMap) -> None:
    width, height = metadata.get(WIDTH), metadata.get(HEIGHT)
    if positive(width) and positive(height) and (width, height) != (slices.columns, slices.rows):
        raise ValidationError(
            f"the slice is {width} x {height} px, the series' slices {slices.columns} x {slices.rows} px",
            field=WIDTH,
            value=[width, height],
        )


def keyed(problem: Problem, key: DataRowKey) -> Problem:
    if problem.data_row is not None:
        return problem
    return Problem(problem.location, problem.message, problem.value, problem.uuid, key)


def segments(keyframes: list[tuple[int, Geometry]]) -> tuple[Segment, ...]:
    """Keyframes in segments broken where a frame is missing: Encord draws an object only where it is."""
    segments: list[list[Keyframe]] = []
    for frame, geometry in keyframes:
        if segments and segments[-1][-1].frame == frame - 1:
            segments[-1].append(Keyframe(frame, geometry))
        else:
            segments.append([Keyframe(frame, geometry)])
    return tuple(Segment(tuple(s)) for s in segments)


def track(obj: Gathered, classifications: tuple[ClassificationAnnotation, ...]) -> AnyAnnotation:
    ordered = sorted(((f, g) for f, g, _ in obj.frames), key=lambda kv: kv[0])
    if obj.shape is Shape.BITMASK:
        return FrameMasks(
            obj.uuid,
            tuple(FrameMask(f, g.source) for f, g in ordered if isinstance(g, Mask)),
            (MaskInstance(MASK_COLOR, obj.name, obj.schema_id),),
        )
    return TrackedObject(
        obj.uuid,
        segments(ordered),
        obj.name,
        obj.schema_id,
        confidence=obj.confidence,
        classifications=classifications,
    )


def framed(annotation: ClassificationAnnotation, frames: list[int] | None) -> ClassificationAnnotation:
    if frames is None:
        return annotation
    return ClassificationAnnotation(
        annotation.answer,
        annotation.name,
        annotation.schema_id,
        annotation.uuid,
        annotation.confidence,
        frames=ranges(frames),
    )
