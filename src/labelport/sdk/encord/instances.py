"""Object and classification instances as Encord's SDK makes them: placed on frames with coordinates and
metadata (``set_for_frames``), answered (``set_answer``), then added to a label row.

Frames are an int, a ``Range`` (inclusive) or a list of either. An object's coordinates must be of its
shape, an answer must be an option (or options, or text) of an attribute of its object or classification:
anything else raises ``LabelRowError`` at once, as the SDK does.
"""

from __future__ import annotations

import base64
import uuid as uuid_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from labelport.formats.encord.fields import AttributeType
from labelport.sdk.encord.coordinates import SHAPE_OF, Coordinates
from labelport.sdk.encord.ontology import (
    Attribute,
    Classification,
    LabelRowError,
    Object,
    Option,
    attribute_of,
    attributes_under,
)


@dataclass(frozen=True)
class Range:
    """Frames ``start`` to ``end``, both included."""

    start: int
    end: int


Frames = int | Range | Sequence[int | Range]
Answer = Option | Sequence[Option] | str


def frame_list(frames: Frames) -> list[int]:
    """The frames ``frames`` names, ascending, each once."""
    items: Iterable[int | Range] = [frames] if isinstance(frames, int | Range) else frames
    out: set[int] = set()
    for item in items:
        if isinstance(item, Range):
            if item.end < item.start or item.start < 0:
                raise LabelRowError(f"frame range {item.start}..{item.end} is empty or negative")
            out.update(range(item.start, item.end + 1))
        elif isinstance(item, int) and not isinstance(item, bool) and item >= 0:
            out.add(item)
        else:
            raise LabelRowError(f"frames are non-negative ints or Ranges, found {item!r}")
    return sorted(out)


def short_hash() -> str:
    """An 8-character hash like the ones Encord gives objects and classifications."""
    return base64.b64encode(uuid_module.uuid4().bytes[:6]).decode()


@dataclass
class FrameInfo:
    """What one frame of an instance holds besides its coordinates."""

    created_at: datetime
    created_by: str | None = None
    last_edited_at: datetime | None = None
    last_edited_by: str | None = None
    confidence: float = 1.0
    manual_annotation: bool = True


@dataclass
class Annotation:
    """An object on one frame: its coordinates and metadata."""

    frame: int
    coordinates: Coordinates
    info: FrameInfo

    @property
    def confidence(self) -> float:
        return self.info.confidence

    @property
    def manual_annotation(self) -> bool:
        return self.info.manual_annotation


def _info(
    created_at: datetime | None,
    created_by: str | None,
    last_edited_at: datetime | None,
    last_edited_by: str | None,
    confidence: float | None,
    manual_annotation: bool | None,
) -> FrameInfo:
    if confidence is not None and not 0 <= confidence <= 1:
        raise LabelRowError(f"confidence must be between 0 and 1, found {confidence!r}")
    return FrameInfo(
        created_at or datetime.now(UTC),
        created_by,
        last_edited_at,
        last_edited_by,
        1.0 if confidence is None else float(confidence),
        True if manual_annotation is None else bool(manual_annotation),
    )


@dataclass
class _Answers:
    """Answers of one instance: static ones by attribute hash, dynamic ones per frame range."""

    static: dict[str, tuple[Attribute, Answer]] = field(default_factory=dict)
    dynamic: list[tuple[Attribute, Answer, list[int]]] = field(default_factory=list)

    def set(
        self,
        roots: Sequence[Attribute],
        answer: Answer,
        attribute: Attribute | None,
        frames: list[int] | None,
        overwrite: bool,
    ) -> None:
        attribute = attribute or _infer(answer)
        if not any(a is attribute for a in attributes_under(roots)):
            raise LabelRowError(f"attribute {attribute.name!r} is not an attribute of this object or classification")
        _check(attribute, answer)
        if attribute.dynamic:
            if frames is None:
                raise LabelRowError(f"attribute {attribute.name!r} is dynamic: give the frames its answer holds on")
            self.dynamic.append((attribute, answer, frames))
            return
        if attribute.feature_node_hash in self.static and not overwrite:
            raise LabelRowError(f"attribute {attribute.name!r} is answered already; pass overwrite=True to replace it")
        self.static[attribute.feature_node_hash] = (attribute, answer)

    def get(self, attribute: Attribute) -> Answer | None:
        found = self.static.get(attribute.feature_node_hash)
        return found[1] if found is not None else None


def _infer(answer: Answer) -> Attribute:
    if isinstance(answer, Option):
        return attribute_of(answer)
    if isinstance(answer, Sequence) and not isinstance(answer, str) and answer and isinstance(answer[0], Option):
        return attribute_of(answer[0])
    raise LabelRowError("a text answer needs its attribute: set_answer(text, attribute=...)")


def _check(attribute: Attribute, answer: Answer) -> None:
    if attribute.kind is AttributeType.TEXT:
        if not isinstance(answer, str):
            raise LabelRowError(f"text attribute {attribute.name!r} takes a string, found {answer!r}")
        return
    options = [answer] if isinstance(answer, Option) else list(answer) if not isinstance(answer, str) else []
    if attribute.kind is AttributeType.RADIO and (len(options) != 1 or not isinstance(answer, Option)):
        raise LabelRowError(f"radio attribute {attribute.name!r} takes one option, found {answer!r}")
    for option in options:
        if not isinstance(option, Option) or not any(option is o for o in attribute.options):
            raise LabelRowError(f"{option!r} is not an option of attribute {attribute.name!r}")


class ObjectInstance:
    """One object of an ontology ``Object``, on one or more frames (one ``object_hash`` throughout)."""

    def __init__(self, ontology_object: Object, *, object_hash: str | None = None) -> None:
        self.ontology_item = ontology_object
        self.object_hash = object_hash or short_hash()
        self.frames: dict[int, Annotation] = {}
        self.answers = _Answers()

    @property
    def feature_hash(self) -> str:
        return self.ontology_item.feature_node_hash

    def set_for_frames(
        self,
        coordinates: Coordinates,
        frames: Frames = 0,
        *,
        overwrite: bool = False,
        created_at: datetime | None = None,
        created_by: str | None = None,
        last_edited_at: datetime | None = None,
        last_edited_by: str | None = None,
        confidence: float | None = None,
        manual_annotation: bool | None = None,
        reviews: Any = None,
        is_deleted: bool | None = None,
    ) -> None:
        """Place the object with ``coordinates`` on ``frames`` (``overwrite`` to replace what is there)."""
        shape = SHAPE_OF.get(type(coordinates))
        if shape is not self.ontology_item.shape:
            raise LabelRowError(
                f"{type(coordinates).__name__} do not fit object {self.ontology_item.name!r}, a "
                f"{self.ontology_item.shape.value}"
            )
        wanted = frame_list(frames)
        taken = [f for f in wanted if f in self.frames]
        if taken and not overwrite:
            raise LabelRowError(f"the object is on frame(s) {taken} already; pass overwrite=True to replace it")
        info = _info(created_at, created_by, last_edited_at, last_edited_by, confidence, manual_annotation)
        for frame in wanted:
            self.frames[frame] = Annotation(frame, coordinates, info)

    def get_annotations(self) -> list[Annotation]:
        return [self.frames[f] for f in sorted(self.frames)]

    def get_annotation(self, frame: int = 0) -> Annotation:
        if frame not in self.frames:
            raise LabelRowError(f"the object is not on frame {frame}")
        return self.frames[frame]

    def get_annotation_frames(self) -> set[int]:
        return set(self.frames)

    def remove_from_frames(self, frames: Frames) -> None:
        for frame in frame_list(frames):
            self.frames.pop(frame, None)

    def set_answer(
        self,
        answer: Answer,
        attribute: Attribute | None = None,
        frames: Frames | None = None,
        overwrite: bool = False,
        manual_annotation: bool = True,
    ) -> None:
        """Answer an attribute of the object (a dynamic one on ``frames``, default: all its frames)."""
        chosen = frame_list(frames) if frames is not None else None
        target = attribute or _infer(answer)
        if target.dynamic and chosen is None:
            chosen = sorted(self.frames)
        self.answers.set(self.ontology_item.attributes, answer, target, chosen, overwrite)

    def get_answer(self, attribute: Attribute) -> Answer | None:
        return self.answers.get(attribute)

    def __repr__(self) -> str:
        name, frames = self.ontology_item.name, sorted(self.frames)
        return f"ObjectInstance({name!r}, object_hash={self.object_hash!r}, frames={frames})"


class ClassificationInstance:
    """One answer of an ontology ``Classification``, on frames (or, for a global one, on the whole row)."""

    def __init__(self, ontology_classification: Classification, *, classification_hash: str | None = None) -> None:
        self.ontology_item = ontology_classification
        self.classification_hash = classification_hash or short_hash()
        self.frames: list[int] = []
        self.info = _info(None, None, None, None, None, None)
        self.answers = _Answers()

    @property
    def feature_hash(self) -> str:
        return self.ontology_item.feature_node_hash

    def is_global(self) -> bool:
        return self.ontology_item.is_global

    def set_for_frames(
        self,
        frames: Frames = 0,
        *,
        overwrite: bool = False,
        created_at: datetime | None = None,
        created_by: str | None = None,
        confidence: float | None = None,
        manual_annotation: bool | None = None,
        last_edited_at: datetime | None = None,
        last_edited_by: str | None = None,
        reviews: Any = None,
    ) -> None:
        """Place the classification on ``frames``; a global classification is on the whole row already."""
        wanted = [] if self.is_global() else frame_list(frames)
        if self.frames and not overwrite:
            wanted = sorted({*self.frames, *wanted})
        self.frames = wanted
        self.info = _info(created_at, created_by, last_edited_at, last_edited_by, confidence, manual_annotation)

    def set_answer(self, answer: Answer, attribute: Attribute | None = None, overwrite: bool = False) -> None:
        self.answers.set(self.ontology_item.attributes, answer, attribute, None, overwrite)

    def get_answer(self, attribute: Attribute | None = None) -> Answer | None:
        return self.answers.get(attribute or self.ontology_item.attributes[0])

    def __repr__(self) -> str:
        return f"ClassificationInstance({self.ontology_item.title!r}, frames={self.frames})"


__all__ = [
    "Annotation",
    "ClassificationInstance",
    "FrameInfo",
    "Frames",
    "ObjectInstance",
    "Range",
    "frame_list",
    "short_hash",
]
