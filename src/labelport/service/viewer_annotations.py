"""A data row's annotations as the viewer draws them: vector shapes per plane and frame in continuous pixel
coordinates (the model's own, ``model.geometry``), masks with the frames they cover on every plane, answers
of classifications as text, colours and names from the project's ontology, and the import each came from.

Both label kinds are read: pre-labels (``prediction``) and ground truth. A tracked object is drawn on its
keyframes (no interpolation between them). The source of an annotation is the import job that wrote it: the
finished import of the same project and label kind that ran while the annotation was stored (imports write
in one transaction); when two ran at once, the one whose statuses name the annotation.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from labelport.errors import NotFoundError
from labelport.model.annotation import (
    AnyAnnotation,
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    FrameMasks,
    ObjectAnnotation,
    Radio,
    Relationship,
    Text,
    TrackedObject,
    VolumeMask,
)
from labelport.model.codec import from_json
from labelport.model.geometry import (
    Ellipse,
    Geometry,
    Line,
    Mask,
    Point,
    Polygon,
    Rectangle,
    RotatedRectangle,
    Skeleton,
)
from labelport.model.jobs import JobKind, JobState
from labelport.model.label import LabelKind
from labelport.model.media import DataRow, MediaType, PlaneGroup
from labelport.model.ontology import Ontology
from labelport.model.workflow import as_utc
from labelport.service import slices
from labelport.service.hub import Hub
from labelport.service.imports import label_query
from labelport.service.ontologies import get_ontology
from labelport.service.projects import get_project
from labelport.store import jobs as job_store
from labelport.store.schema import annotation_rows, import_status_pages, jobs

# Colours for features whose ontology gives none (Labelbox's default tool palette order).
PALETTE = ("#1cb6f5", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
IMAGE_PLANE = "image"  # where masks of images and videos sit in ``Mask.frames``


class ShapeType(StrEnum):
    POLYLINE = "polyline"
    POLYGON = "polygon"
    BOX = "box"
    POINT = "point"
    ELLIPSE = "ellipse"
    SKELETON = "skeleton"


@dataclass(frozen=True, slots=True)
class Shape:
    """A vector geometry on one frame: ``plane`` is None on images and videos, ``frame`` None on an image.

    ``points`` are (x, y) in continuous pixel coordinates: a box is its two corners, an ellipse its centre
    (with ``radii`` and ``angle`` in degrees), a rotated box its four corners as a polygon, a skeleton its
    nodes (with ``edges`` between their indexes).
    """

    type: ShapeType
    points: list[tuple[float, float]]
    plane: PlaneGroup | None = None
    frame: int | None = None
    radii: tuple[float, float] | None = None
    angle: float | None = None
    edges: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MaskPlacement:
    """Where a mask can be shown: the plane it was drawn on (None for images and videos) and its frames per
    plane (``axial``, ``sagittal``, ``coronal``, or ``image``)."""

    drawn_on: PlaneGroup | None
    frames: dict[str, list[int]]


@dataclass(frozen=True, slots=True)
class Source:
    """The import an annotation came from."""

    job_id: str
    job_name: str
    format: str
    file: str | None
    at: datetime | None
    by: str | None


@dataclass(frozen=True, slots=True)
class ViewerAnnotation:
    """One object (vectors or a mask) or one classification of a data row, ready to draw and describe."""

    uuid: str
    kind: LabelKind
    feature: str
    schema_id: str
    tool: str
    color: str
    confidence: float | None
    answers: list[str]
    source: Source | None
    shapes: list[Shape] = field(default_factory=list)
    mask: MaskPlacement | None = None
    frames: list[tuple[int, int]] = field(default_factory=list)  # classification frame ranges, inclusive
    relation: tuple[str, str] | None = None  # relationship: (source uuid, target uuid)


# --- geometry -------------------------------------------------------------------------------------------------


def _xy(point: Point) -> tuple[float, float]:
    return (point.x, point.y)


def _rotated_corners(box: RotatedRectangle) -> list[tuple[float, float]]:
    angle = math.radians(box.angle)
    cos, sin = math.cos(angle), math.sin(angle)
    out = []
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = dx * box.width / 2, dy * box.height / 2
        out.append((box.center.x + x * cos - y * sin, box.center.y + x * sin + y * cos))
    return out


def shape_of(geometry: Geometry, plane: PlaneGroup | None, frame: int | None) -> Shape | None:
    """The drawable shape of a vector geometry; None for masks (drawn from their pixels)."""
    if isinstance(geometry, Line):
        return Shape(ShapeType.POLYLINE, [_xy(p) for p in geometry.points], plane, frame)
    if isinstance(geometry, Polygon):
        points = [_xy(p) for p in geometry.points]
        return Shape(
            ShapeType.POLYGON, points[:-1] if len(points) > 3 and points[0] == points[-1] else points, plane, frame
        )
    if isinstance(geometry, Rectangle):
        return Shape(ShapeType.BOX, [_xy(geometry.start), _xy(geometry.end)], plane, frame)
    if isinstance(geometry, Point):
        return Shape(ShapeType.POINT, [_xy(geometry)], plane, frame)
    if isinstance(geometry, RotatedRectangle):
        return Shape(ShapeType.POLYGON, _rotated_corners(geometry), plane, frame)
    if isinstance(geometry, Ellipse):
        return Shape(
            ShapeType.ELLIPSE,
            [_xy(geometry.center)],
            plane,
            frame,
            (geometry.radius_x, geometry.radius_y),
            geometry.angle,
        )
    if isinstance(geometry, Skeleton):
        names = [n.name for n in geometry.nodes]
        edges = [(names.index(a), names.index(b)) for a, b in geometry.edges]
        return Shape(ShapeType.SKELETON, [_xy(n.point) for n in geometry.nodes], plane, frame, edges=edges)
    return None


# --- answers ----------------------------------------------------------------------------------------------------


def _names(ontology: Ontology | None) -> dict[str, str]:
    return {node.schema_id: node.name for node in ontology.walk()} if ontology is not None else {}


def _answer_names(answer: ClassificationAnswer, names: dict[str, str]) -> str:
    return answer.name or names.get(answer.schema_id or "", answer.schema_id or "?")


def answers_of(
    classifications: tuple[ClassificationAnnotation, ...], names: dict[str, str], prefix: str = ""
) -> list[str]:
    """Each classification as ``question: answer`` lines, nested ones as ``question > answer > question: answer``."""
    lines: list[str] = []
    for c in classifications:
        question = prefix + (c.name or names.get(c.schema_id or "", c.schema_id or "?"))
        chosen: tuple[ClassificationAnswer, ...] = ()
        if isinstance(c.answer, Radio):
            chosen = (c.answer.answer,)
        elif isinstance(c.answer, Checklist):
            chosen = c.answer.answers
        if isinstance(c.answer, Text):
            lines.append(f"{question}: {c.answer.answer}")
            continue
        lines.append(f"{question}: {', '.join(_answer_names(a, names) for a in chosen)}")
        for a in chosen:
            lines.extend(answers_of(a.classifications, names, f"{question} > {_answer_names(a, names)} > "))
    return lines


# --- sources ----------------------------------------------------------------------------------------------------


def _sources(
    hub: Hub, project_id: str, stored: list[tuple[dict[str, Any], AnyAnnotation, LabelKind]]
) -> dict[str, Source]:
    """The import job of each stored annotation (by uuid), found by when it was stored (module docstring)."""
    if not stored:
        return {}
    stamps = [columns["created_at"] for columns, _annotation, _kind in stored]
    with hub.read() as conn:
        found = [
            job_store.info(r)
            for r in conn.execute(
                sa.select(jobs).where(
                    jobs.c.project_id == project_id,
                    jobs.c.kind == JobKind.IMPORT.value,
                    jobs.c.state == JobState.FINISHED.value,
                    jobs.c.organization_id == hub.organization_id,
                    jobs.c.started_at <= max(stamps),
                    jobs.c.finished_at >= min(stamps),
                )
            )
        ]
        out: dict[str, Source] = {}
        for columns, _annotation, kind in stored:
            created = as_utc(columns["created_at"])
            candidates = [
                j
                for j in found
                if j.options.get("label_kind") == kind.value
                and j.started_at is not None
                and j.finished_at is not None
                and as_utc(j.started_at) <= created <= as_utc(j.finished_at)
            ]
            uuid = str(columns["uuid"])
            if len(candidates) > 1:
                candidates = [j for j in candidates if _statuses_name(conn, j.id, uuid)] or candidates[-1:]
            if candidates:
                job = candidates[0]
                out[f"{kind.value}:{uuid}"] = Source(
                    job_id=job.id,
                    job_name=job.name,
                    format=job.format,
                    file=job.options.get("input_name"),
                    at=as_utc(job.finished_at) if job.finished_at else None,
                    by=job.created_by,
                )
    return out


def _statuses_name(conn: sa.Connection, job_id: str, uuid: str) -> bool:
    text = sa.cast(import_status_pages.c.statuses, sa.Text)
    found = conn.execute(
        sa.select(import_status_pages.c.page)
        .where(import_status_pages.c.job_id == job_id, text.contains(f'"{uuid}"'))
        .limit(1)
    ).first()
    return found is not None


# --- annotations --------------------------------------------------------------------------------------------------


def _stored(
    hub: Hub, project_id: str, data_row_id: str, kind: LabelKind, uuid: str | None = None
) -> list[tuple[dict[str, Any], AnyAnnotation]]:
    query = sa.select(annotation_rows).where(
        annotation_rows.c.label_id == label_query(project_id, data_row_id, kind).scalar_subquery()
    )
    if uuid is not None:
        query = query.where(annotation_rows.c.uuid == uuid)
    with hub.read() as conn:
        rows = conn.execute(query.order_by(annotation_rows.c.id)).all()
    return [(dict(r._mapping), from_json(r.payload["annotation"])) for r in rows]


class Palette:
    """Display colours of a project's features: the ontology's, else one of ``PALETTE`` per tool."""

    def __init__(self, ontology: Ontology | None) -> None:
        self.colors: dict[str, str] = {}
        self.tools: dict[str, str] = {}  # schema id -> tool type (``line``, ``raster-segmentation``...)
        if ontology is not None:
            for index, tool in enumerate(ontology.tools):
                self.colors[tool.schema_id] = _hex(tool.color) or PALETTE[index % len(PALETTE)]
                self.tools[tool.schema_id] = tool.type.value

    def color(self, schema_id: str, fallback: tuple[int, int, int] | None = None) -> str:
        if schema_id in self.colors:
            return self.colors[schema_id]
        if fallback is not None:
            return "#{:02x}{:02x}{:02x}".format(*fallback)
        return PALETTE[zlib.crc32(schema_id.encode()) % len(PALETTE)]  # stable across processes


def _hex(text: str | None) -> str | None:
    if not text:
        return None
    value = text.strip().lower()
    if not value.startswith("#"):
        value = "#" + value
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value if len(value) == 7 and all(c in "0123456789abcdef" for c in value[1:]) else None


def rgb_of(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` -> (r, g, b)."""
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _ontology(hub: Hub, project_id: str) -> Ontology | None:
    project = get_project(hub, project_id)
    return get_ontology(hub, project.ontology_id).ontology if project.ontology_id else None


def _describe(
    hub: Hub,
    row: DataRow,
    columns: dict[str, Any],
    annotation: AnyAnnotation,
    kind: LabelKind,
    palette: Palette,
    names: dict[str, str],
    source: Source | None,
) -> ViewerAnnotation:
    schema_id = str(columns["schema_id"])
    fallback = getattr(annotation, "color", None)
    if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
        fallback = annotation.geometry.color
    base = ViewerAnnotation(
        uuid=str(columns["uuid"]),
        kind=kind,
        feature=str(columns["feature_name"]),
        schema_id=schema_id,
        tool=palette.tools.get(schema_id, str(columns["annotation_type"])),
        color=palette.color(schema_id, fallback if isinstance(fallback, tuple) else None),
        confidence=columns.get("confidence"),
        answers=answers_of(tuple(getattr(annotation, "classifications", ())), names),
        source=source,
    )
    if isinstance(annotation, ObjectAnnotation):
        if isinstance(annotation.geometry, Mask):
            frame = annotation.placement.frame or 0
            return _with(base, mask=MaskPlacement(None, {IMAGE_PLANE: [frame]}))
        shape = shape_of(annotation.geometry, annotation.placement.group, annotation.placement.frame)
        return _with(base, shapes=[shape] if shape is not None else [])
    if isinstance(annotation, TrackedObject):
        shapes = [shape_of(k.geometry, annotation.group, k.frame) for k in annotation.keyframes]
        return _with(base, shapes=[s for s in shapes if s is not None])
    if isinstance(annotation, VolumeMask):
        frames = (
            slices.mask_frames(hub, row, annotation) if row.media_type in (MediaType.DICOM, MediaType.NIFTI) else {}
        )
        return _with(base, mask=MaskPlacement(annotation.group, {p.value: f for p, f in frames.items()}))
    if isinstance(annotation, FrameMasks):
        return _with(
            base, mask=MaskPlacement(annotation.group, {IMAGE_PLANE: sorted(f.frame for f in annotation.frames)})
        )
    if isinstance(annotation, ClassificationAnnotation):
        ranges = [(r.start, r.end) for r in annotation.frames]
        if annotation.placement.frame is not None and not ranges:
            ranges = [(annotation.placement.frame, annotation.placement.frame)]
        return _with(base, answers=answers_of((annotation,), names), frames=ranges, tool="classification")
    if isinstance(annotation, Relationship):
        return _with(base, relation=(annotation.source, annotation.target), tool="relationship")
    return base


def _with(base: ViewerAnnotation, **changes: Any) -> ViewerAnnotation:
    return replace(base, **changes)


def row_annotations(hub: Hub, project_id: str, row: DataRow) -> list[ViewerAnnotation]:
    """Every annotation of a project's data row, both label kinds (ground truth first), in import order."""
    ontology = _ontology(hub, project_id)
    palette, names = Palette(ontology), _names(ontology)
    stored = [
        (columns, annotation, kind)
        for kind in (LabelKind.GROUND_TRUTH, LabelKind.PREDICTION)
        for columns, annotation in _stored(hub, project_id, row.id, kind)
    ]
    sources = _sources(hub, project_id, stored)
    return [
        _describe(hub, row, columns, annotation, kind, palette, names, sources.get(f"{kind.value}:{columns['uuid']}"))
        for columns, annotation, kind in stored
    ]


@dataclass(frozen=True, slots=True)
class Feature:
    """A feature of the project's ontology as a legend shows it."""

    schema_id: str
    name: str
    kind: str  # tool | classification
    type: str
    color: str | None


def features(hub: Hub, project_id: str) -> list[Feature]:
    """The tools (with their display colours) and top-level classifications of the project's ontology."""
    ontology = _ontology(hub, project_id)
    if ontology is None:
        return []
    palette = Palette(ontology)
    tools = [Feature(t.schema_id, t.name, "tool", t.type.value, palette.color(t.schema_id)) for t in ontology.tools]
    questions = [Feature(c.schema_id, c.name, "classification", c.type.value, None) for c in ontology.classifications]
    return tools + questions


def find_annotation(
    hub: Hub, project_id: str, row: DataRow, uuid: str, kind: LabelKind
) -> tuple[AnyAnnotation, tuple[int, int, int]]:
    """One stored annotation of a row, with its display colour; NotFoundError when the row has none such."""
    found = _stored(hub, project_id, row.id, kind, uuid)
    if not found:
        raise NotFoundError(f"data row {row.id} has no {kind.value} annotation {uuid!r} in project {project_id!r}")
    columns, annotation = found[0]
    fallback = getattr(annotation, "color", None)
    if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
        fallback = annotation.geometry.color
    color = Palette(_ontology(hub, project_id)).color(
        str(columns["schema_id"]), fallback if isinstance(fallback, tuple) else None
    )
    return annotation, rgb_of(color)


__all__ = [
    "IMAGE_PLANE",
    "PALETTE",
    "Feature",
    "MaskPlacement",
    "Palette",
    "Shape",
    "ShapeType",
    "Source",
    "ViewerAnnotation",
    "answers_of",
    "features",
    "find_annotation",
    "rgb_of",
    "row_annotations",
    "shape_of",
]
