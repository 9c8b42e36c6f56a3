"""The ``annotations`` block of an export_v2 label, per media kind (notes/labelbox.md section 3).

- image: ``objects`` (list), ``classifications``, ``relationships``;
- video: ``frames -> {"13": {objects: {feature id: object}, classifications}}``, ``segments -> {feature id:
  [[start, end]...]}``, ``key_frame_feature_map -> {feature id: {"13": true}}``, ``classifications``;
- DICOM: ``groups -> {Axial, Sagittal, Coronal} -> frames`` as for video, ``segments`` and
  ``key_frame_feature_map`` per group; polylines are ``DICOMPolyline`` with ``line``, masks
  ``DICOMSegmentationMask`` with ``mask.url``.

Frames are 0-based in the model and 1-based string keys here. Objects carry ``feature_id`` (the annotation
uuid, so an export can be imported back onto the same annotations), ``feature_schema_id``, ``name`` and
``value`` (the name in snake case; an option's value), as Labelbox exports since 2024.

A keyframe that only repeats the keyframe before it (same geometry and classifications) is written with
``false`` in ``key_frame_feature_map``: that is how the editor marks a track resumed unchanged. With
``interpolated_frames`` the frames between two keyframes of a segment are written too, their vectors
interpolated linearly, and marked ``false``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from labelport.errors import ValidationError
from labelport.formats.base import MaskLink
from labelport.formats.labelbox.fields import (
    ANNOTATION_KIND,
    BOUNDING_BOX,
    CHECKLIST_ANSWERS,
    CLASSIFICATIONS,
    COLOR_RGB_EXPORT,
    COMPOSITE_MASK,
    CONTENT,
    EXPORT_SCHEMA_ID,
    FEATURE_ID,
    FRAMES,
    GROUPS,
    KEY_FRAME_FEATURE_MAP,
    MASK,
    OBJECTS,
    RADIO_ANSWER,
    RELATIONSHIP,
    RELATIONSHIPS,
    SEGMENTS,
    TEXT_ANSWER,
    URL,
)
from labelport.model.annotation import (
    AnyAnnotation,
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    FrameMasks,
    Keyframe,
    ObjectAnnotation,
    Radio,
    Relationship,
    Text,
    TrackedObject,
    VolumeMask,
)
from labelport.model.encoded import EncodedAnnotation
from labelport.model.geometry import Geometry, Line, Mask, Point, Polygon, Rectangle
from labelport.model.media import MediaType, PlaneGroup
from labelport.model.ontology import Classification, Ontology, Option, Tool

GROUP_NAMES = {PlaneGroup.AXIAL: "Axial", PlaneGroup.SAGITTAL: "Sagittal", PlaneGroup.CORONAL: "Coronal"}
GROUP_OF_NAME = {name: group for group, name in GROUP_NAMES.items()}
# (annotation_kind suffix, geometry key) per geometry
GEOMETRY_KINDS: dict[type, tuple[str, str]] = {
    Rectangle: ("BoundingBox", BOUNDING_BOX),
    Polygon: ("Polygon", "polygon"),
    Line: ("Polyline", "line"),
    Point: ("Point", "point"),
    Mask: ("SegmentationMask", COMPOSITE_MASK),
}
PREFIX = {MediaType.IMAGE: "Image", MediaType.VIDEO: "Video", MediaType.DICOM: "DICOM", MediaType.NIFTI: "DICOM"}
_PLAIN_KINDS = {
    "Rectangle": ("ImageBoundingBox", BOUNDING_BOX),
    "Polygon": ("ImagePolygon", "polygon"),
    "Line": ("ImagePolyline", "line"),
    "Point": ("ImagePoint", "point"),
}

Link = Callable[[MaskLink], str]
FramesOf = Callable[[VolumeMask, PlaneGroup], list[int]]


class Unwritable(ValidationError):
    """An annotation the export form cannot hold: ``what`` it is and why (the write report names both)."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}", field="annotation", value=what)
        self.what = what
        self.reason = reason


Lose = Callable[["Entry", Unwritable], None]


@dataclass(frozen=True, slots=True)
class Entry:
    """One annotation to export: its feature id (the uuid), the ontology node it resolved to, and itself."""

    feature_id: str
    schema_id: str | None
    name: str | None
    annotation: AnyAnnotation | EncodedAnnotation

    @classmethod
    def of(cls, annotation: AnyAnnotation | EncodedAnnotation, fallback_id: str) -> Entry:
        """The entry of an annotation, its feature named as the annotation names it."""
        if isinstance(annotation, FrameMasks):
            instance = annotation.instances[0]
            return cls(annotation.uuid, instance.schema_id, instance.name, annotation)
        uuid = getattr(annotation, "uuid", None) or fallback_id
        return cls(uuid, annotation.schema_id, annotation.name, annotation)


def snake(name: str) -> str:
    """Labelbox's ``value`` for a tool or classification name: lowercase, runs of other characters as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or name


def derived_id(parent: str, schema_id: str) -> str:
    """A stable feature id for a nested classification or answer of ``parent``."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{parent}/{schema_id}"))


class Features:
    """Ontology look-ups for the export: the node of a schema id (ours or a platform's), nested nodes."""

    def __init__(self, ontology: Ontology | None) -> None:
        self.nodes: dict[str, Tool | Classification] = {}
        self.names: dict[str, Tool | Classification] = {}
        self._heads: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        if ontology is not None:
            top: list[Tool | Classification] = [*ontology.tools, *ontology.classifications]
            for node in top:
                ids = node.external_ids
                for key in (node.schema_id, ids.labelbox, ids.encord, ids.redbrick):
                    if key:
                        self.nodes.setdefault(key, node)
                self.names.setdefault(node.name, node)

    @staticmethod
    def export_id(node: Tool | Classification | Option) -> str:
        return node.external_ids.labelbox or node.schema_id

    def node(self, schema_id: str | None, name: str | None) -> Tool | Classification | None:
        found = self.nodes.get(schema_id) if schema_id else None
        return found if found is not None else self.names.get(name or "")

    def head(self, entry: Entry) -> dict[str, Any]:
        """``feature_schema_id``, ``name`` and ``value`` of a feature (cached: many objects share one)."""
        key = (entry.schema_id, entry.name)
        cached = self._heads.get(key)
        if cached is None:
            node = self.node(entry.schema_id, entry.name)
            shown = node.name if node is not None else (entry.name or "")
            cached = self._heads[key] = {
                EXPORT_SCHEMA_ID: self.export_id(node) if node is not None else entry.schema_id,
                "name": shown,
                "value": snake(shown),
            }
        return dict(cached)

    def children(self, entry: Entry) -> tuple[Classification, ...]:
        node = self.node(entry.schema_id, entry.name)
        return node.classifications if isinstance(node, Tool) else ()


def _find(nodes: Iterable[Classification], c: ClassificationAnnotation) -> Classification | None:
    for node in nodes:
        ids = node.external_ids
        if c.schema_id is not None and c.schema_id in (node.schema_id, ids.labelbox, ids.encord, ids.redbrick):
            return node
        if c.schema_id is None and node.name == c.name:
            return node
    return None


def _answer(parent_id: str, answer: ClassificationAnswer, node: Classification | None) -> dict[str, Any]:
    option = node.find_option(name=answer.name, schema_id=answer.schema_id) if node is not None else None
    schema = Features.export_id(option) if option is not None else answer.schema_id
    name = (option.label or option.value) if option is not None else (answer.name or "")
    feature_id = derived_id(parent_id, option.schema_id if option is not None else (schema or name))
    return {
        FEATURE_ID: feature_id,
        EXPORT_SCHEMA_ID: schema,
        "name": name,
        "value": option.value if option is not None else snake(name),
        CLASSIFICATIONS: classifications(
            answer.classifications, option.classifications if option is not None else (), feature_id
        ),
    }


def classification(c: ClassificationAnnotation, node: Classification | None, feature_id: str) -> dict[str, Any]:
    """One classification with its answer(s) and nested classifications, to any depth."""
    name = node.name if node is not None else (c.name or "")
    out: dict[str, Any] = {
        FEATURE_ID: feature_id,
        EXPORT_SCHEMA_ID: Features.export_id(node) if node is not None else c.schema_id,
        "name": name,
        "value": snake(name),
    }
    if isinstance(c.answer, Radio):
        out[RADIO_ANSWER] = _answer(feature_id, c.answer.answer, node)
    elif isinstance(c.answer, Checklist):
        out[CHECKLIST_ANSWERS] = [_answer(feature_id, a, node) for a in c.answer.answers]
    elif isinstance(c.answer, Text):
        out[TEXT_ANSWER] = {CONTENT: c.answer.answer}
    return out


def classifications(
    items: Iterable[ClassificationAnnotation], nodes: Sequence[Classification], parent_id: str
) -> list[dict[str, Any]]:
    """Nested classifications under an object or answer ``parent_id``; their ids derive from it."""
    out = []
    for c in items:
        node = _find(nodes, c)
        key = node.schema_id if node is not None else (c.schema_id or c.name or "")
        out.append(classification(c, node, c.uuid or derived_id(parent_id, key)))
    return out


def _point(p: Point) -> dict[str, float]:
    return {"x": p.x, "y": p.y}


def geometry_value(geometry: Geometry) -> Any:
    if isinstance(geometry, Rectangle):
        return {"top": geometry.start.y, "left": geometry.start.x, "height": geometry.height, "width": geometry.width}
    if isinstance(geometry, Polygon | Line):
        return [_point(p) for p in geometry.points]
    if isinstance(geometry, Point):
        return _point(geometry)
    raise Unwritable(type(geometry).__name__, "Labelbox exports hold boxes, polygons, lines, points and masks")


def _plain_object(features: Features, entry: Entry, encoded: EncodedAnnotation) -> dict[str, Any] | None:
    """An image object straight from its stored form (a box, polygon, line or point and nothing else)."""
    payload = encoded.payload
    geometry = payload.get("geometry")
    if payload.get("type") != "ObjectAnnotation" or len(payload) > 6 or type(geometry) is not dict:
        return None
    if "classifications" in payload or "custom_metrics" in payload or "placement" in payload:
        return None
    kind = _PLAIN_KINDS.get(geometry.get("type"))  # type: ignore[arg-type]
    if kind is None:
        return None
    out = {FEATURE_ID: entry.feature_id, **features.head(entry)}
    out[ANNOTATION_KIND] = kind[0]
    out[CLASSIFICATIONS] = []
    if kind[1] == BOUNDING_BOX:
        start, end = geometry["start"], geometry["end"]
        out[BOUNDING_BOX] = {
            "top": start["y"],
            "left": start["x"],
            "height": end["y"] - start["y"],
            "width": end["x"] - start["x"],
        }
    elif kind[1] == "point":
        out["point"] = {"x": geometry["x"], "y": geometry["y"]}
    else:
        out[kind[1]] = geometry["points"]  # stored as [{x, y}...], the export's shape
    return out


def _object(
    features: Features,
    entry: Entry,
    media: MediaType,
    geometry: Geometry,
    nested: Iterable[ClassificationAnnotation],
    link: Link,
    *,
    frame: int | None = None,
    plane: PlaneGroup | None = None,
) -> dict[str, Any]:
    kind = GEOMETRY_KINDS.get(type(geometry))
    if kind is None:
        raise Unwritable(type(geometry).__name__, "Labelbox exports hold boxes, polygons, lines, points and masks")
    out: dict[str, Any] = {FEATURE_ID: entry.feature_id, **features.head(entry)}
    out[ANNOTATION_KIND] = PREFIX[media] + kind[0]
    out[CLASSIFICATIONS] = classifications(nested, features.children(entry), entry.feature_id)
    if isinstance(geometry, Mask):
        url = link(MaskLink(entry.feature_id, entry.schema_id, frame, plane, raster=geometry.source))
        out[kind[1]] = {URL: url, COLOR_RGB_EXPORT: list(geometry.color)}
    else:
        out[kind[1]] = geometry_value(geometry)
    return out


def _lerp_points(a: Sequence[Point], b: Sequence[Point], t: float) -> tuple[Point, ...]:
    return tuple(Point(p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t) for p, q in zip(a, b, strict=True))


def interpolate(a: Geometry, b: Geometry, t: float) -> Geometry:
    """The geometry a fraction ``t`` of the way from ``a`` to ``b`` (vertex by vertex); else ``a`` held."""
    if isinstance(a, Rectangle) and isinstance(b, Rectangle):
        start, end = _lerp_points((a.start, a.end), (b.start, b.end), t)
        return Rectangle(start, end)
    if isinstance(a, Point) and isinstance(b, Point):
        return _lerp_points((a,), (b,), t)[0]
    if isinstance(a, Line) and isinstance(b, Line) and len(a.points) == len(b.points):
        return Line(_lerp_points(a.points, b.points, t))
    if isinstance(a, Polygon) and isinstance(b, Polygon) and len(a.points) == len(b.points):
        return Polygon(_lerp_points(a.points, b.points, t))
    return a


def _track_frames(
    track: TrackedObject, interpolated: bool
) -> Iterator[tuple[int, Geometry, tuple[ClassificationAnnotation, ...], bool]]:
    """(0-based frame, geometry, classifications, is keyframe) along a track, in frame order."""
    previous: Keyframe | None = None
    for segment in track.segments:
        for index, keyframe in enumerate(segment.keyframes):
            repeated = (
                previous is not None
                and previous.geometry == keyframe.geometry
                and previous.classifications == keyframe.classifications
            )
            yield keyframe.frame, keyframe.geometry, keyframe.classifications, not repeated
            previous = keyframe
            if interpolated and index + 1 < len(segment.keyframes):
                following = segment.keyframes[index + 1]
                span = following.frame - keyframe.frame
                for step in range(1, span):
                    yield (
                        keyframe.frame + step,
                        interpolate(keyframe.geometry, following.geometry, step / span),
                        (),
                        False,
                    )


def runs(frames: Iterable[int]) -> list[list[int]]:
    """Consecutive 0-based frames as 1-based inclusive [start, end] pairs."""
    out: list[list[int]] = []
    for f in sorted(set(frames)):
        if out and out[-1][1] == f:  # out holds 1-based ends: f (0-based) == previous end means adjacent
            out[-1][1] = f + 1
        else:
            out.append([f + 1, f + 1])
    return out


class _Frames:
    """frames / segments / key_frame_feature_map of one video or one DICOM group."""

    def __init__(self) -> None:
        self.frames: dict[int, dict[str, Any]] = {}
        self.segments: dict[str, list[list[int]]] = {}
        self.keyframes: dict[str, dict[str, bool]] = {}

    def frame(self, f: int) -> dict[str, Any]:
        if f not in self.frames:
            self.frames[f] = {OBJECTS: {}, CLASSIFICATIONS: []}
        return self.frames[f]

    def put(self, feature_id: str, f: int, obj: dict[str, Any], key: bool) -> None:
        self.frame(f)[OBJECTS][feature_id] = obj
        self.keyframes.setdefault(feature_id, {})[str(f + 1)] = key

    def frames_json(self) -> dict[str, Any]:
        return {str(f + 1): self.frames[f] for f in sorted(self.frames)}


def _mask_object(
    features: Features, entry: Entry, media: MediaType, url: str, color: tuple[int, int, int]
) -> dict[str, Any]:
    out: dict[str, Any] = {FEATURE_ID: entry.feature_id, **features.head(entry)}
    out[ANNOTATION_KIND] = PREFIX[media] + "SegmentationMask"
    out[CLASSIFICATIONS] = []
    if media is MediaType.VIDEO:
        out[COMPOSITE_MASK] = {URL: url, COLOR_RGB_EXPORT: list(color)}
    else:
        out[MASK] = {URL: url}
    return out


def _top_classification(features: Features, entry: Entry, a: ClassificationAnnotation) -> dict[str, Any]:
    node = features.node(entry.schema_id, entry.name)
    return classification(a, node if isinstance(node, Classification) else None, entry.feature_id)


def _video_like(
    features: Features,
    entries: Sequence[tuple[Entry, AnyAnnotation]],
    media: MediaType,
    link: Link,
    frames_of: FramesOf,
    interpolated: bool,
    out: Callable[[PlaneGroup | None], _Frames],
    top: list[dict[str, Any]],
    lose: Lose,
) -> None:
    for entry, a in entries:
        try:
            _video_entry(features, entry, a, media, link, frames_of, interpolated, out, top)
        except Unwritable as exc:
            lose(entry, exc)


def _video_entry(
    features: Features,
    entry: Entry,
    a: AnyAnnotation,
    media: MediaType,
    link: Link,
    frames_of: FramesOf,
    interpolated: bool,
    out: Callable[[PlaneGroup | None], _Frames],
    top: list[dict[str, Any]],
) -> None:
    if isinstance(a, TrackedObject):
        for keyframe in a.keyframes:  # checked first, so a track is written whole or not at all
            if type(keyframe.geometry) not in GEOMETRY_KINDS:
                raise Unwritable(type(keyframe.geometry).__name__, "Labelbox tracks hold boxes, lines and points")
        target = out(a.group)
        for f, geometry, nested, key in _track_frames(a, interpolated):
            obj = _object(features, entry, media, geometry, nested, link, frame=f, plane=a.group)
            target.put(entry.feature_id, f, obj, key)
        target.segments[entry.feature_id] = [[s.keyframes[0].frame + 1, s.keyframes[-1].frame + 1] for s in a.segments]
    elif isinstance(a, FrameMasks):
        target = out(a.group)
        instance = a.instances[0]
        for fm in a.frames:
            url = link(MaskLink(entry.feature_id, entry.schema_id, fm.frame, a.group, raster=fm.source))
            obj = _mask_object(features, entry, media, url, instance.color)
            target.put(entry.feature_id, fm.frame, obj, True)
        target.segments[entry.feature_id] = runs(fm.frame for fm in a.frames)
    elif isinstance(a, VolumeMask):
        group = a.group or PlaneGroup.AXIAL
        target = out(group)
        frames = frames_of(a, group)
        for f in frames:
            url = link(MaskLink(entry.feature_id, entry.schema_id, f, group, volume=a.source, values=a.values))
            obj = _mask_object(features, entry, media, url, a.color or (255, 255, 255))
            target.put(entry.feature_id, f, obj, True)
        target.segments[entry.feature_id] = runs(frames)
    elif isinstance(a, ObjectAnnotation) and a.placement.frame is not None:
        target = out(a.placement.group)
        f = a.placement.frame
        obj = _object(features, entry, media, a.geometry, a.classifications, link, frame=f, plane=a.placement.group)
        target.put(entry.feature_id, f, obj, a.placement.keyframe)
        target.segments.setdefault(entry.feature_id, []).extend(runs([f]))
    elif isinstance(a, ClassificationAnnotation):
        shown = _top_classification(features, entry, a)
        if a.placement.frame is not None:
            out(a.placement.group).frame(a.placement.frame)[CLASSIFICATIONS].append(shown)
        else:
            top.append(shown)
            if a.frames:
                out(a.placement.group).segments[entry.feature_id] = [[r.start + 1, r.end + 1] for r in a.frames]
    else:
        raise Unwritable(type(a).__name__, f"a Labelbox {media.value} export has no place for it")


def _decoded(entries: Sequence[Entry]) -> list[tuple[Entry, AnyAnnotation]]:
    return [
        (e, e.annotation.decode() if isinstance(e.annotation, EncodedAnnotation) else e.annotation) for e in entries
    ]


def _image_block(features: Features, entries: Sequence[Entry], link: Link, lose: Lose) -> dict[str, Any]:
    objects: list[dict[str, Any]] = []
    top: list[dict[str, Any]] = []
    relationships: list[dict[str, Any]] = []
    for entry in entries:
        encoded = entry.annotation
        if isinstance(encoded, EncodedAnnotation):
            plain = _plain_object(features, entry, encoded)
            if plain is not None:
                objects.append(plain)
                continue
            a: AnyAnnotation = encoded.decode()
        else:
            a = encoded
        try:
            _image_entry(features, entry, a, link, objects, top, relationships)
        except Unwritable as exc:
            lose(entry, exc)
    return {OBJECTS: objects, CLASSIFICATIONS: top, RELATIONSHIPS: relationships}


def _image_entry(
    features: Features,
    entry: Entry,
    a: AnyAnnotation,
    link: Link,
    objects: list[dict[str, Any]],
    top: list[dict[str, Any]],
    relationships: list[dict[str, Any]],
) -> None:
    if isinstance(a, ObjectAnnotation):
        objects.append(_object(features, entry, MediaType.IMAGE, a.geometry, a.classifications, link))
    elif isinstance(a, ClassificationAnnotation):
        top.append(_top_classification(features, entry, a))
    elif isinstance(a, Relationship):
        relationships.append(
            {
                FEATURE_ID: entry.feature_id,
                **features.head(entry),
                RELATIONSHIP: {
                    "source": a.source,
                    "target": a.target,
                    "type": "bidirectional" if a.bidirectional else "unidirectional",
                },
            }
        )
    else:
        raise Unwritable(type(a).__name__, "a Labelbox image export has no place for it")


def annotations_block(
    media: MediaType,
    entries: Sequence[Entry],
    features: Features,
    link: Link,
    frames_of: FramesOf,
    lose: Lose,
    *,
    interpolated_frames: bool = False,
) -> dict[str, Any]:
    """The ``annotations`` block of one label for ``media``; an annotation its export form cannot hold is
    handed to ``lose`` and left out."""
    if media is MediaType.IMAGE:
        return _image_block(features, entries, link, lose)
    decoded = _decoded(entries)
    if media is MediaType.VIDEO:
        video = _Frames()
        top_level: list[dict[str, Any]] = []
        _video_like(features, decoded, media, link, frames_of, interpolated_frames, lambda _g: video, top_level, lose)
        return {
            FRAMES: video.frames_json(),
            SEGMENTS: video.segments,
            KEY_FRAME_FEATURE_MAP: video.keyframes,
            CLASSIFICATIONS: top_level,
        }
    groups = {g: _Frames() for g in (PlaneGroup.AXIAL, PlaneGroup.SAGITTAL, PlaneGroup.CORONAL)}
    top_level = []

    def pick(group: PlaneGroup | None) -> _Frames:
        if group is None:
            raise Unwritable("annotation without a plane", "a DICOM export files every annotation under a plane")
        return groups[group]

    _video_like(features, decoded, media, link, frames_of, interpolated_frames, pick, top_level, lose)
    feature_ids = list(dict.fromkeys(fid for g in groups.values() for fid in g.keyframes))
    return {
        GROUPS: {
            GROUP_NAMES[g]: {"name": GROUP_NAMES[g], CLASSIFICATIONS: [], FRAMES: groups[g].frames_json()}
            for g in groups
        },
        SEGMENTS: {GROUP_NAMES[g]: groups[g].segments for g in groups},
        CLASSIFICATIONS: top_level,
        KEY_FRAME_FEATURE_MAP: {
            fid: {
                name: groups[g].keyframes.get(fid, {})
                for name, g in (
                    ("Axial", PlaneGroup.AXIAL),
                    ("Coronal", PlaneGroup.CORONAL),
                    ("Sagittal", PlaneGroup.SAGITTAL),
                )
            }
            for fid in feature_ids
        },
    }


__all__ = [
    "GROUP_NAMES",
    "Entry",
    "Features",
    "annotations_block",
    "classification",
    "derived_id",
    "interpolate",
    "runs",
    "snake",
]
