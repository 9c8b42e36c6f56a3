"""Model annotations (not segmentations) back to a series' RedBrick objects: the inverse of ``objects.py``.

On a 3-D series a point is a ``landmarks3d`` entry, a line of 2 points a length and of 3 points an angle
measurement (any plane: they are voxel points), a rectangle track of two equal keyframes a cuboid;
rectangles, polygons, other lines, ellipses and points of tracks are 2-D objects on an acquisition slice
(``video.frameIndex``), so one drawn on a reformatted plane cannot be written. ``absolutePoint*``,
``length`` (mm) and ``angle`` (degrees) are computed from the series geometry.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelport.formats.base import WriteReport
from labelport.formats.redbrick import attributes
from labelport.formats.redbrick import fields as f
from labelport.formats.redbrick.geometry import SeriesGeometry, clean, voxel_json, world_json
from labelport.model.annotation import AnyAnnotation, ClassificationAnnotation, ObjectAnnotation, TrackedObject
from labelport.model.geometry import Ellipse, Geometry, Line, Point, Polygon, Rectangle
from labelport.model.item import LabeledItem
from labelport.model.media import PlaneGroup
from labelport.model.ontology import Classification, Ontology, Tool

KINDS_2D = {
    Rectangle: f.BOUNDING_BOXES,
    Point: f.LANDMARKS,
    Polygon: f.POLYGONS,
    Line: f.POLYLINES,
    Ellipse: f.ELLIPSES,
}


@dataclass
class SeriesObjects:
    """What a series' annotations become: its object lists, its classifications, instance classifications,
    and the task-level (study) attributes found on it."""

    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    classifications: dict[str, Any] = field(default_factory=dict)
    instance: dict[int, dict[str, Any]] = field(default_factory=dict)
    study: dict[str, Any] = field(default_factory=dict)

    def add(self, kind: str, entry: dict[str, Any]) -> None:
        self.lists.setdefault(kind, []).append(entry)


@dataclass(frozen=True, eq=False)
class SeriesWriting:
    item: LabeledItem
    geometry: SeriesGeometry
    ontology: Ontology | None
    report: WriteReport

    def tool(self, annotation: Any) -> Tool | None:
        if self.ontology is None:
            return None
        if annotation.schema_id is not None:
            found = self.ontology.find_tool(schema_id=annotation.schema_id)
            if found is not None:
                return found
        return self.ontology.find_tool(name=annotation.name) if annotation.name else None

    def category(self, annotation: Any) -> str:
        tool = self.tool(annotation)
        return str(annotation.name or (tool.name if tool is not None else annotation.schema_id))

    def common(self, annotation: Any) -> dict[str, Any]:
        tool = self.tool(annotation)
        out: dict[str, Any] = {f.LABEL_ID: annotation.uuid, f.CATEGORY: self.category(annotation)}
        values = attributes.values(annotation.classifications, tool.classifications if tool is not None else ())
        if values:
            out[f.ATTRIBUTES] = values
        return out

    def lose(self, what: str, reason: str) -> None:
        self.report.lose(self.item, what, reason)


def write_objects(
    annotations: Iterable[AnyAnnotation], writing: SeriesWriting, slice_files: list[str]
) -> SeriesObjects:
    out = SeriesObjects()
    for annotation in annotations:
        if isinstance(annotation, ObjectAnnotation):
            _object(annotation, writing, out)
        elif isinstance(annotation, TrackedObject):
            _track(annotation, writing, out)
        elif isinstance(annotation, ClassificationAnnotation):
            _classification(annotation, writing, out, slice_files)
        else:
            writing.lose(type(annotation).__name__, "RedBrick tasks hold no such annotation")
            continue
        writing.report.annotations += 1
    return out


def _object(annotation: ObjectAnnotation, writing: SeriesWriting, out: SeriesObjects) -> None:
    geo = writing.geometry
    group, frame = annotation.placement.group, annotation.placement.frame
    geometry = annotation.geometry
    if group is None or frame is None:
        writing.lose(type(geometry).__name__, "an object on a series needs its plane and slice")
        return
    points = _points(geometry)
    if geo.is_volume and isinstance(geometry, Point | Line) and (isinstance(geometry, Point) or len(points) in (2, 3)):
        ijk = geo.to_voxels(group, frame, points)
        lps = geo.to_lps(ijk)
        entry = writing.common(annotation)
        if isinstance(geometry, Point):
            out.add(f.LANDMARKS_3D, {f.POINT: voxel_json(ijk[0]), f.ABSOLUTE_POINT: world_json(lps[0]), **entry})
        elif len(points) == 2:
            out.add(
                f.MEASUREMENTS,
                {
                    f.MEASURE_TYPE: f.TYPE_LENGTH,
                    f.POINT_1: voxel_json(ijk[0]),
                    f.POINT_2: voxel_json(ijk[1]),
                    f.NORMAL: geo.normal(group),
                    f.ABSOLUTE_POINT_1: world_json(lps[0]),
                    f.ABSOLUTE_POINT_2: world_json(lps[1]),
                    f.LENGTH: clean(float(np.linalg.norm(lps[1] - lps[0]))),
                    **entry,
                },
            )
        else:
            a, b = lps[0] - lps[1], lps[2] - lps[1]
            cosine = float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
            out.add(
                f.MEASUREMENTS,
                {
                    f.MEASURE_TYPE: f.TYPE_ANGLE,
                    f.POINT_1: voxel_json(ijk[0]),
                    f.VERTEX: voxel_json(ijk[1]),
                    f.POINT_2: voxel_json(ijk[2]),
                    f.NORMAL: geo.normal(group),
                    f.ABSOLUTE_POINT_1: world_json(lps[0]),
                    f.ABSOLUTE_VERTEX: world_json(lps[1]),
                    f.ABSOLUTE_POINT_2: world_json(lps[2]),
                    f.ANGLE: clean(math.degrees(math.acos(max(-1.0, min(1.0, cosine))))),
                    **entry,
                },
            )
        return
    drawn = _drawn(annotation.geometry, group, frame, writing)
    if drawn is None:
        return
    kind, shape = drawn
    slice_index = shape.pop("_slice")
    video = {f.VIDEO: {f.FRAME_INDEX: slice_index}} if geo.is_volume else {}
    out.add(kind, {**shape, **writing.common(annotation), **video})


def _points(geometry: Geometry) -> list[tuple[float, float]]:
    if isinstance(geometry, Point):
        return [(geometry.x, geometry.y)]
    if isinstance(geometry, Line | Polygon):
        return [(p.x, p.y) for p in geometry.points]
    if isinstance(geometry, Rectangle):
        return [(geometry.start.x, geometry.start.y), (geometry.end.x, geometry.end.y)]
    if isinstance(geometry, Ellipse):
        return [(geometry.center.x, geometry.center.y)]
    return []


def _norm(point: tuple[float, float]) -> dict[str, float | int]:
    return {f.X_NORM: clean(point[0]), f.Y_NORM: clean(point[1])}


def _drawn(
    geometry: Geometry, group: PlaneGroup, frame: int, writing: SeriesWriting
) -> tuple[str, dict[str, Any]] | None:
    """(kind, fields) of a 2-D object on an acquisition slice; None (and a loss) when it cannot be written."""
    kind = KINDS_2D.get(type(geometry))
    name = type(geometry).__name__
    if kind is None:
        writing.lose(name, "RedBrick has no such object")
        return None
    points = _points(geometry)
    if isinstance(geometry, Polygon) and len(points) > 3 and points[-1] == points[0]:
        points = points[:-1]
    placed = writing.geometry.on_acquisition_slice(group, frame, points)
    if placed is None:
        writing.lose(
            name,
            f"drawn on the {group.value} plane, which is not this series' slices; RedBrick's 2-D "
            "objects sit on acquisition slices",
        )
        return None
    slice_index, norm = placed
    shape: dict[str, Any] = {"_slice": slice_index}
    if isinstance(geometry, Rectangle):
        xs, ys = sorted(p[0] for p in norm), sorted(p[1] for p in norm)
        shape |= {
            f.POINT_TOP_LEFT: _norm((xs[0], ys[0])),
            f.W_NORM: clean(xs[1] - xs[0]),
            f.H_NORM: clean(ys[1] - ys[0]),
        }
    elif isinstance(geometry, Point):
        shape[f.POINT] = _norm(norm[0])
    elif isinstance(geometry, Polygon | Line):
        shape[f.POINTS] = [_norm(p) for p in norm]
    else:
        assert isinstance(geometry, Ellipse)  # KINDS_2D holds no other type
        view = writing.geometry.views[group]
        if view.axes[:2] != (0, 1) or any(view.flips[:2]):
            writing.lose(name, "ellipses are written on series whose acquisition plane is the image as stored")
            return None
        columns = writing.geometry.grid.shape[0]
        shape |= {
            f.POINT_CENTER: _norm(norm[0]),
            f.X_RADIUS_NORM: clean(geometry.radius_x / columns),
            f.Y_RADIUS_NORM: clean(geometry.radius_y / columns),
            f.ROTATION_RAD: clean(math.radians(geometry.angle)),
        }
    return kind, shape


def _track(annotation: TrackedObject, writing: SeriesWriting, out: SeriesObjects) -> None:
    geo = writing.geometry
    group = annotation.group
    if group is None:
        writing.lose("TrackedObject", "a track on a series needs its plane")
        return
    keyframes = annotation.keyframes
    if (
        geo.is_volume
        and len(annotation.segments) == 1
        and len(keyframes) == 2
        and all(isinstance(k.geometry, Rectangle) for k in keyframes)
        and keyframes[0].geometry == keyframes[1].geometry
        and group is geo.acquisition
    ):
        rectangle = keyframes[0].geometry
        assert isinstance(rectangle, Rectangle)
        low = geo.to_voxels(group, keyframes[0].frame, [(rectangle.start.x, rectangle.start.y)])[0]
        high = geo.to_voxels(group, keyframes[1].frame, [(rectangle.end.x, rectangle.end.y)])[0]
        lps = geo.to_lps(np.stack([low, high]))
        out.add(
            f.CUBOIDS,
            {
                f.POINT_1: voxel_json(low),
                f.POINT_2: voxel_json(high),
                f.ABSOLUTE_POINT_1: world_json(lps[0]),
                f.ABSOLUTE_POINT_2: world_json(lps[1]),
                **writing.common(annotation),
            },
        )
        return
    for segment in annotation.segments:
        for position, keyframe in enumerate(segment.keyframes):
            entry = _drawn(keyframe.geometry, group, keyframe.frame, writing)
            if entry is None:
                return
            kind, shape = entry
            video = {
                f.FRAME_INDEX: shape.pop("_slice"),
                f.TRACK_ID: annotation.uuid,
                f.KEY_FRAME: True,
                f.END_TRACK: position == len(segment.keyframes) - 1,
            }
            out.add(kind, {**shape, **writing.common(annotation), f.VIDEO: video})


def _classification(
    annotation: ClassificationAnnotation, writing: SeriesWriting, out: SeriesObjects, slice_files: list[str]
) -> None:
    nodes: tuple[Classification, ...] = writing.ontology.classifications if writing.ontology is not None else ()
    values = attributes.values((annotation,), nodes)
    if not values:
        writing.lose("classification", "it names no classification of the ontology")
        return
    if annotation.frames:
        if annotation.placement.group not in (None, writing.geometry.acquisition):
            writing.lose("classification", "it is on frames of a reformatted plane, not the series' slices")
            return
        for frames in annotation.frames:
            for frame in range(frames.start, frames.end + 1):
                out.instance.setdefault(frame, {}).update(values)
        return
    name = next(iter(values))
    node = next((n for n in nodes if n.name == name), None)
    if node is None and writing.item.ontology is not None:  # no project ontology: the reader's features say
        node = next((n for n in writing.item.ontology.classifications if n.name == name), None)
    if node is not None and node.external_ids.redbrick == f.STUDY_LEVEL:
        out.study.update(values)
    else:
        out.classifications.update(values)


def instance_entries(out: SeriesObjects, slice_files: list[str]) -> list[dict[str, Any]]:
    return [
        {f.FILE_INDEX: frame, f.FILE_NAME: slice_files[frame] if frame < len(slice_files) else "", f.VALUES: values}
        for frame, values in sorted(out.instance.items())
    ]


__all__ = ["SeriesObjects", "SeriesWriting", "instance_entries", "write_objects"]
