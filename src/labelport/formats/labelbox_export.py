"""Labelbox export_v2 / ``export()`` rows: one JSON object per data row, written as NDJSON.

Shape (notes/labelbox.md section 3): ``data_row``, ``media_attributes``, ``attachments``, ``metadata_fields``,
``projects -> {project id: {name, labels -> [{label_kind, version, id, label_details, performance_details,
annotations}], project_details}}``. ``annotations`` depends on the media:

- image: ``objects`` (list), ``classifications``, ``relationships``;
- video: ``frames -> {"13": {objects: {feature id: object}, classifications}}``, ``segments -> {feature id:
  [[start, end]...]}``, ``key_frame_feature_map -> {feature id: {"13": true}}``, ``classifications``;
- DICOM: ``groups -> {Axial, Sagittal, Coronal} -> frames`` as for video, ``segments`` and
  ``key_frame_feature_map`` per group; polylines are ``DICOMPolyline`` with ``line``, masks
  ``DICOMSegmentationMask`` with ``mask.url``.

Frames are 0-based in the model and 1-based string keys here. Objects carry ``feature_id`` (the annotation
uuid, so an export can be imported back onto the same annotations), ``feature_schema_id``, ``name`` and
``value`` (the name in snake case; an option's value), as Labelbox exports since 2024; the 2023 samples in
../shared lack the last two.

A keyframe that only repeats the keyframe before it (same geometry and classifications) is written with
``false`` in ``key_frame_feature_map``: that is how the editor marks a track resumed unchanged (see the
video fixture in ../shared/anchors/labelbox/derived). With ``interpolated_frames`` the frames between two
keyframes of a segment are written too, their vectors interpolated linearly, and marked ``false``.

This module is pure: the store, mask files and URLs are the caller's (``labelport.service.exports``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import orjson

from labelport.errors import ValidationError
from labelport.formats.base import Detection, JsonItem, Problem, Source, iter_json_items
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
)
from labelport.model.geometry import Geometry, Line, Mask, Point, Polygon, Rectangle
from labelport.model.media import MediaType, PlaneGroup
from labelport.model.ontology import Classification, Ontology, Option, Tool

NAME = "labelbox_export"

# --- field names ---------------------------------------------------------------------------------
DATA_ROW = "data_row"
MEDIA_ATTRIBUTES = "media_attributes"
ATTACHMENTS = "attachments"
METADATA_FIELDS = "metadata_fields"
PROJECTS = "projects"
LABELS = "labels"
PROJECT_DETAILS = "project_details"
LABEL_DETAILS = "label_details"
PERFORMANCE_DETAILS = "performance_details"
ANNOTATIONS = "annotations"
OBJECTS = "objects"
CLASSIFICATIONS = "classifications"
RELATIONSHIPS = "relationships"
FRAMES = "frames"
SEGMENTS = "segments"
KEY_FRAME_FEATURE_MAP = "key_frame_feature_map"
GROUPS = "groups"
FEATURE_ID = "feature_id"
FEATURE_SCHEMA_ID = "feature_schema_id"
ANNOTATION_KIND = "annotation_kind"
VERSION = "1.0.0"

LABEL_KIND = {MediaType.IMAGE: "Default", MediaType.VIDEO: "Video", MediaType.DICOM: "DICOM", MediaType.NIFTI: "DICOM"}
GROUP_NAMES = {PlaneGroup.AXIAL: "Axial", PlaneGroup.SAGITTAL: "Sagittal", PlaneGroup.CORONAL: "Coronal"}
# (annotation_kind suffix, geometry key) per geometry
GEOMETRY_KINDS: dict[type, tuple[str, str]] = {
    Rectangle: ("BoundingBox", "bounding_box"),
    Polygon: ("Polygon", "polygon"),
    Line: ("Polyline", "line"),
    Point: ("Point", "point"),
    Mask: ("SegmentationMask", "composite_mask"),
}
PREFIX = {MediaType.IMAGE: "Image", MediaType.VIDEO: "Video", MediaType.DICOM: "DICOM", MediaType.NIFTI: "DICOM"}


@dataclass(frozen=True, slots=True)
class ExportParams:
    """What to include besides the labels (all off by default, as on Labelbox)."""

    attachments: bool = False
    metadata_fields: bool = False
    data_row_details: bool = False
    project_details: bool = False
    label_details: bool = False
    performance_details: bool = False
    interpolated_frames: bool = False
    embeddings: bool = False

    # Labelbox scripts also pass these; they change nothing here.
    _IGNORED = frozenset({"media_type_override", "include_labels", "model_run_ids", "project_ids"})

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | ExportParams | None) -> ExportParams:
        """Check every key and value; ``include_<name>`` spellings are accepted too."""
        if raw is None:
            return cls()
        if isinstance(raw, ExportParams):
            return raw
        if not isinstance(raw, Mapping):
            raise ValidationError(f"export params must be a mapping, found {raw!r}", field="params", value=raw)
        known = {f.name for f in fields(cls)}
        values: dict[str, bool] = {}
        for key, value in raw.items():
            name = key[len("include_") :] if isinstance(key, str) and key.startswith("include_") else key
            if name in cls._IGNORED or key in cls._IGNORED:
                continue
            if name not in known:
                raise ValidationError(
                    f"unknown export param {key!r}; expected one of {', '.join(sorted(known))}",
                    field=f"params.{key}",
                    value=value,
                )
            if not isinstance(value, bool):
                raise ValidationError(
                    f"export param {key!r} must be true or false, found {value!r}", field=f"params.{key}", value=value
                )
            values[name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class MaskRequest:
    """One mask image an export links: a feature on a frame (0-based) of a plane, or a stored composite."""

    feature_id: str
    schema_id: str
    frame: int | None
    plane: PlaneGroup | None
    blob: str | None
    label_value: int | None


MaskUrl = Callable[[MaskRequest], str]


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One stored annotation: its feature id (uuid), the ontology node id it resolved to, the model object."""

    feature_id: str
    schema_id: str
    annotation: AnyAnnotation
    label_value: int | None = None


def snake(name: str) -> str:
    """Labelbox's ``value`` for a tool or classification name: lowercase, runs of other characters as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or name


def derived_id(parent: str, schema_id: str) -> str:
    """A stable feature id for a nested classification or answer of ``parent``."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{parent}/{schema_id}"))


class Features:
    """Ontology look-ups for the export: the node of a stored schema id, nested nodes by name or any id."""

    def __init__(self, ontology: Ontology | None) -> None:
        self.nodes: dict[str, Tool | Classification] = {}
        if ontology is not None:
            for tool in ontology.tools:
                self.nodes[tool.schema_id] = tool
            for top in ontology.classifications:
                self.nodes[top.schema_id] = top

    @staticmethod
    def export_id(node: Tool | Classification | Option) -> str:
        return node.external_ids.labelbox or node.schema_id

    def head(self, schema_id: str, name: str) -> dict[str, Any]:
        node = self.nodes.get(schema_id)
        shown = node.name if node is not None else name
        return {
            FEATURE_SCHEMA_ID: self.export_id(node) if node is not None else schema_id,
            "name": shown,
            "value": snake(shown),
        }

    def children(self, schema_id: str) -> tuple[Classification, ...]:
        node = self.nodes.get(schema_id)
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
    schema = Features.export_id(option) if option is not None else (answer.schema_id or answer.name or "")
    name = (option.label or option.value) if option is not None else (answer.name or "")
    feature_id = derived_id(parent_id, option.schema_id if option is not None else schema)
    return {
        FEATURE_ID: feature_id,
        FEATURE_SCHEMA_ID: schema,
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
        FEATURE_SCHEMA_ID: Features.export_id(node) if node is not None else (c.schema_id or name),
        "name": name,
        "value": snake(name),
    }
    if isinstance(c.answer, Radio):
        out["radio_answer"] = _answer(feature_id, c.answer.answer, node)
    elif isinstance(c.answer, Checklist):
        out["checklist_answers"] = [_answer(feature_id, a, node) for a in c.answer.answers]
    elif isinstance(c.answer, Text):
        out["text_answer"] = {"content": c.answer.answer}
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
    raise ValidationError(
        f"{type(geometry).__name__} has no Labelbox export form", field="geometry", value=type(geometry).__name__
    )


def _object(
    features: Features,
    item: StoredItem,
    media: MediaType,
    geometry: Geometry,
    nested: Iterable[ClassificationAnnotation],
    mask_url: MaskUrl,
    *,
    frame: int | None = None,
    plane: PlaneGroup | None = None,
) -> dict[str, Any]:
    kind = GEOMETRY_KINDS.get(type(geometry))
    if kind is None:
        raise ValidationError(
            f"{type(geometry).__name__} has no Labelbox export form", field="geometry", value=type(geometry).__name__
        )
    out: dict[str, Any] = {FEATURE_ID: item.feature_id, **features.head(item.schema_id, "")}
    out[ANNOTATION_KIND] = PREFIX[media] + kind[0]
    out[CLASSIFICATIONS] = classifications(nested, features.children(item.schema_id), item.feature_id)
    if isinstance(geometry, Mask):
        request = MaskRequest(item.feature_id, item.schema_id, frame, plane, geometry.source.blob, item.label_value)
        out[kind[1]] = {"url": mask_url(request), "color_rgb": list(geometry.color)}
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


def _runs(frames: Iterable[int]) -> list[list[int]]:
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


def _video_like(
    features: Features,
    items: Sequence[StoredItem],
    media: MediaType,
    mask_url: MaskUrl,
    interpolated: bool,
    out: Callable[[PlaneGroup | None], _Frames],
    top: list[dict[str, Any]],
) -> None:
    for item in items:
        a = item.annotation
        if isinstance(a, TrackedObject):
            target = out(a.group)
            for f, geometry, nested, key in _track_frames(a, interpolated):
                obj = _object(features, item, media, geometry, nested, mask_url, frame=f, plane=a.group)
                target.put(item.feature_id, f, obj, key)
            target.segments[item.feature_id] = [
                [s.keyframes[0].frame + 1, s.keyframes[-1].frame + 1] for s in a.segments
            ]
        elif isinstance(a, FrameMasks):
            target = out(a.group)
            instance = a.instances[0]
            for fm in a.frames:
                request = MaskRequest(
                    item.feature_id, item.schema_id, fm.frame, a.group, fm.source.blob, item.label_value
                )
                mask_object: dict[str, Any] = {
                    FEATURE_ID: item.feature_id,
                    **features.head(item.schema_id, instance.name or ""),
                }
                mask_object[ANNOTATION_KIND] = PREFIX[media] + "SegmentationMask"
                mask_object[CLASSIFICATIONS] = []
                if media is MediaType.VIDEO:
                    mask_object["composite_mask"] = {"url": mask_url(request), "color_rgb": list(instance.color)}
                else:
                    mask_object["mask"] = {"url": mask_url(request)}
                target.put(item.feature_id, fm.frame, mask_object, True)
            target.segments[item.feature_id] = _runs(fm.frame for fm in a.frames)
        elif isinstance(a, ObjectAnnotation) and a.placement.frame is not None:
            target = out(a.placement.group)
            f = a.placement.frame
            obj = _object(
                features, item, media, a.geometry, a.classifications, mask_url, frame=f, plane=a.placement.group
            )
            target.put(item.feature_id, f, obj, a.placement.keyframe)
            target.segments.setdefault(item.feature_id, []).extend(_runs([f]))
        elif isinstance(a, ClassificationAnnotation):
            node = features.nodes.get(item.schema_id)
            shown = classification(a, node if isinstance(node, Classification) else None, item.feature_id)
            if a.placement.frame is not None:
                out(a.placement.group).frame(a.placement.frame)[CLASSIFICATIONS].append(shown)
            else:
                top.append(shown)
                if a.frames:
                    out(a.placement.group).segments[item.feature_id] = [[r.start + 1, r.end + 1] for r in a.frames]
        else:
            raise ValidationError(
                f"{type(a).__name__} has no {media.value} export form", field="annotation", value=type(a).__name__
            )


def annotations_block(
    media: MediaType,
    items: Sequence[StoredItem],
    features: Features,
    mask_url: MaskUrl,
    *,
    interpolated_frames: bool = False,
) -> dict[str, Any]:
    """The ``annotations`` block of one label for ``media``."""
    if media is MediaType.IMAGE:
        objects, top, relationships = [], [], []
        for item in items:
            a = item.annotation
            if isinstance(a, ObjectAnnotation):
                objects.append(_object(features, item, media, a.geometry, a.classifications, mask_url))
            elif isinstance(a, ClassificationAnnotation):
                node = features.nodes.get(item.schema_id)
                top.append(classification(a, node if isinstance(node, Classification) else None, item.feature_id))
            elif isinstance(a, Relationship):
                relationships.append(
                    {
                        FEATURE_ID: item.feature_id,
                        **features.head(item.schema_id, a.name or ""),
                        "relationship": {
                            "source": a.source,
                            "target": a.target,
                            "type": "bidirectional" if a.bidirectional else "unidirectional",
                        },
                    }
                )
            else:
                raise ValidationError(f"{type(a).__name__} has no image export form", field="annotation")
        return {OBJECTS: objects, CLASSIFICATIONS: top, RELATIONSHIPS: relationships}
    if media is MediaType.VIDEO:
        video = _Frames()
        top_level: list[dict[str, Any]] = []
        _video_like(features, items, media, mask_url, interpolated_frames, lambda _g: video, top_level)
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
            raise ValidationError("a DICOM annotation needs a plane (groupKey)", field="groupKey")
        return groups[group]

    _video_like(features, items, media, mask_url, interpolated_frames, pick, top_level)
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


# --- detect / read / write ------------------------------------------------------------------------


def detect(source: Source) -> Detection:
    """export_v2 rows have ``data_row`` and ``projects`` (or ``media_attributes``) at the top level."""
    seen = 0
    for item in iter_json_items(source):
        if item.error is not None or not isinstance(item.value, Mapping):
            return Detection(0.0, f"{item.location}: not a JSON object")
        if DATA_ROW not in item.value:
            return Detection(0.0, f"{item.location}: no {DATA_ROW!r} key")
        seen += 1
        if seen >= 3:
            break
    if not seen:
        return Detection(0.0, "no JSON objects")
    return Detection(0.9, f"{seen} object(s) with a {DATA_ROW!r} key, as export_v2 rows have")


def read(source: Source) -> Iterator[dict[str, Any] | Problem]:
    """The export rows of an NDJSON (or JSON array) file as dicts, with a located Problem for each bad line.

    Converting rows back to model records is not done yet; import uses the NDJSON import format.
    """
    for item in iter_json_items(source):
        yield _row_or_problem(item)


def _row_or_problem(item: JsonItem) -> dict[str, Any] | Problem:
    if item.error is not None:
        return Problem(item.location, item.error, item.value)
    if not isinstance(item.value, dict) or DATA_ROW not in item.value:
        return Problem(item.location, f"an export row is an object with {DATA_ROW!r}", item.value)
    return item.value


def write(rows: Iterable[Mapping[str, Any]], out: IO[bytes] | Path | str) -> int:
    """Write rows as NDJSON (one row per line); returns the number of rows."""
    if isinstance(out, str | Path):
        with Path(out).open("wb") as handle:
            return write(rows, handle)
    count = 0
    for row in rows:
        out.write(orjson.dumps(row) + b"\n")
        count += 1
    return count


__all__ = [
    "NAME",
    "ExportParams",
    "Features",
    "MaskRequest",
    "MaskUrl",
    "StoredItem",
    "annotations_block",
    "classification",
    "detect",
    "interpolate",
    "read",
    "snake",
    "write",
]
