"""The annotation objects of a series (not segmentations) as model annotations, and back.

| RedBrick                     | labelport                                                             |
|------------------------------|-----------------------------------------------------------------------|
| ``landmarks3d``              | a Point on a slice of a plane (acquisition plane when it can)          |
| ``measurements`` length      | a Line of 2 points on a slice                                         |
| ``measurements`` angle       | a Line of 3 points (point1, vertex, point2) on a slice                |
| ``cuboids``                  | a Rectangle track on the acquisition plane, keyframes at both ends    |
| ``boundingBoxes``            | a Rectangle on acquisition slice ``video.frameIndex``                 |
| ``landmarks``, ``polygons``, ``polylines``, ``ellipses`` | Point, Polygon, Line, Ellipse on that slice |
| ``classifications`` / task ``classification`` | classifications of the data row            |
| ``instanceClassifications``  | classifications on one slice (frame range k..k)                      |

Objects of one ``video.trackId`` become one track (segments end at ``endTrack``). ``absolutePoint*`` (LPS mm)
must agree with the voxel point within a voxel; on export it is computed from the series geometry.
"""

from __future__ import annotations

import math
import uuid as uuid_module
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelport.formats.redbrick import attributes
from labelport.formats.redbrick import fields as f
from labelport.formats.redbrick.geometry import SeriesGeometry
from labelport.formats.redbrick.segment_map import Category, RecordError, parse_attributes, parse_category
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    FrameRange,
    Keyframe,
    ObjectAnnotation,
    Placement,
    Segment,
    TrackedObject,
)
from labelport.model.geometry import Ellipse, Geometry, Line, Point, Polygon, Rectangle
from labelport.model.ontology import Classification, Ontology, Tool

# Derived annotation uuids: uuid5 of the data row's global key and the object's place in the series, so a
# second import of the same items list replaces the first instead of adding to it.
NAMESPACE = uuid_module.UUID("6f1b2c9e-5a53-4c1e-9a59-3f0d9a7a1b2c")


def derived_uuid(key: str, *parts: object, given: Any = None) -> str:
    """The uuid of an annotation: RedBrick's label ``id`` when it is one, else derived from the key and parts."""
    if isinstance(given, str) and given:
        try:
            return str(uuid_module.UUID(given))
        except ValueError:
            return str(uuid_module.uuid5(NAMESPACE, f"{key}\x00id\x00{given}"))
    return str(uuid_module.uuid5(NAMESPACE, "\x00".join([key, *(str(p) for p in parts)])))


@dataclass(frozen=True, eq=False)
class SeriesReading:
    """What reading a series' objects needs: names for messages, its data row key, geometry, ontology."""

    what: str
    key: str
    geometry: SeriesGeometry
    ontology: Ontology | None

    def tool(self, category: Category) -> Tool | None:
        if self.ontology is None:
            return None
        if category.name is not None:
            return self.ontology.find_tool(name=category.name)
        return self.ontology.find_tool(schema_id=str(category.class_id))

    def feature(self, raw: dict[str, Any], where: str) -> tuple[str | None, str | None, tuple[Classification, ...]]:
        """(name, schema id, the tool's classifications) of an object's ``category``."""
        if f.CATEGORY not in raw:
            raise RecordError(f"{self.what}: {where} has no category", where, raw)
        category = parse_category(raw[f.CATEGORY], f"{where}.category")
        tool = self.tool(category)
        nested = tool.classifications if tool is not None else ()
        if category.name is not None:
            return category.name, None, nested
        return None, str(category.class_id), nested


def _list(series: Mapping[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    raw = series.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise RecordError(f"{where}.{name}: expected a list of objects, found {raw!r}", f"{where}.{name}", raw)
    return raw


def _frame(raw: dict[str, Any], reading: SeriesReading, where: str) -> int:
    video = raw.get(f.VIDEO)
    frame = video.get(f.FRAME_INDEX) if isinstance(video, dict) else None
    if frame is None:
        if reading.geometry.is_volume:
            raise RecordError(f"{reading.what}: {where} on a 3-D series needs video.frameIndex (its slice)", where, raw)
        return 0
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise RecordError(f"{where}.video.frameIndex: expected a slice index, found {frame!r}", where, frame)
    return frame


def _norm_point(raw: Any, where: str) -> tuple[float, float]:
    if not isinstance(raw, dict) or f.X_NORM not in raw or f.Y_NORM not in raw:
        raise RecordError(f"{where}: expected {{xNorm, yNorm}}, found {raw!r}", where, raw)
    values = []
    for name in (f.X_NORM, f.Y_NORM):
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RecordError(f"{where}.{name}: expected a number, found {value!r}", where, value)
        values.append(float(value))
    return values[0], values[1]


@dataclass
class _Drawn:
    """One 2-D object read, before objects of one track are joined."""

    where: str
    raw: dict[str, Any]
    frame: int
    geometry: Geometry
    group: Any


def _geometry_2d(
    kind: str, raw: dict[str, Any], reading: SeriesReading, where: str, frame: int
) -> tuple[Any, Geometry]:
    geo = reading.geometry
    if kind == f.BOUNDING_BOXES:
        left, top = _norm_point(raw.get(f.POINT_TOP_LEFT), f"{where}.pointTopLeft")
        width = raw.get(f.W_NORM)
        height = raw.get(f.H_NORM)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in (width, height)):
            raise RecordError(f"{where}: wNorm and hNorm are numbers >= 0, found {width!r}, {height!r}", where, raw)
        corners = [(left, top), (left + float(width), top + float(height))]  # type: ignore[arg-type]
        group, plane_frame, pts = geo.place(geo.image_voxels(corners, frame, where), where, planes=(geo.acquisition,))
        return (group, plane_frame), Rectangle(Point(*pts[0]), Point(*pts[1]))
    if kind == f.LANDMARKS:
        point = _norm_point(raw.get(f.POINT), f"{where}.point")
        group, plane_frame, pts = geo.place(geo.image_voxels([point], frame, where), where, planes=(geo.acquisition,))
        return (group, plane_frame), Point(*pts[0])
    if kind in (f.POLYGONS, f.POLYLINES):
        raw_points = raw.get(f.POINTS)
        if not isinstance(raw_points, list):
            raise RecordError(f"{where}.points: expected a list of points, found {raw_points!r}", where, raw_points)
        points = [_norm_point(p, f"{where}.points[{i}]") for i, p in enumerate(raw_points)]
        group, plane_frame, pts = geo.place(geo.image_voxels(points, frame, where), where, planes=(geo.acquisition,))
        try:
            shape: Geometry = (
                Polygon(tuple(Point(*p) for p in pts)) if kind == f.POLYGONS else Line(tuple(Point(*p) for p in pts))
            )
        except Exception as exc:
            raise RecordError(f"{where}: {exc}", where, raw_points) from None
        return (group, plane_frame), shape
    # ellipses: the radii are normalised by the image width (redbrick-sdk's docstring), rotation clockwise
    center = _norm_point(raw.get(f.POINT_CENTER), f"{where}.pointCenter")
    group, plane_frame, pts = geo.place(geo.image_voxels([center], frame, where), where, planes=(geo.acquisition,))
    view = geo.views[group]
    if view.axes[:2] != (0, 1) or any(view.flips[:2]):
        raise RecordError(
            f"{where}: ellipses are read on series whose acquisition plane is the DICOM image as stored; this "
            f"series' {group.value} plane flips or swaps its axes",
            where,
            raw,
        )
    columns = geo.grid.shape[0]
    numbers = []
    for name in (f.X_RADIUS_NORM, f.Y_RADIUS_NORM, f.ROTATION_RAD):
        value = raw.get(name, 0.0 if name == f.ROTATION_RAD else None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordError(f"{where}.{name}: expected a number, found {value!r}", where, value)
        numbers.append(float(value))
    rx, ry, rotation = numbers
    return (group, plane_frame), Ellipse(Point(*pts[0]), rx * columns, ry * columns, math.degrees(rotation))


def series_objects(
    series: Mapping[str, Any], reading: SeriesReading, where: str
) -> Iterator[tuple[str, AnyAnnotation]]:
    """(JSON path, annotation) of each object and classification of a series; RecordError on the first bad one."""
    geo = reading.geometry
    key = reading.key
    for index, raw in enumerate(_list(series, f.LANDMARKS_3D, where)):
        at = f"{where}.landmarks3d[{index}]"
        name, schema_id, nested = reading.feature(raw, at)
        ijk = geo.voxel(raw.get(f.POINT), raw.get(f.ABSOLUTE_POINT), f"{at}.point", f"{at}.absolutePoint")
        group, frame, pts = geo.place(ijk[np.newaxis], at)
        uuid = derived_uuid(key, f.LANDMARKS_3D, index, given=raw.get(f.LABEL_ID))
        yield (
            at,
            ObjectAnnotation(
                uuid,
                Point(*pts[0]),
                name,
                schema_id,
                Placement(frame, group),
                classifications=_attrs(raw, nested, at),
            ),
        )
    for index, raw in enumerate(_list(series, f.MEASUREMENTS, where)):
        at = f"{where}.measurements[{index}]"
        name, schema_id, nested = reading.feature(raw, at)
        kind = raw.get(f.MEASURE_TYPE)
        keys: tuple[tuple[str, str], ...]
        if kind == f.TYPE_LENGTH:
            keys = ((f.POINT_1, f.ABSOLUTE_POINT_1), (f.POINT_2, f.ABSOLUTE_POINT_2))
        elif kind == f.TYPE_ANGLE:
            keys = ((f.POINT_1, f.ABSOLUTE_POINT_1), (f.VERTEX, f.ABSOLUTE_VERTEX), (f.POINT_2, f.ABSOLUTE_POINT_2))
        else:
            raise RecordError(f"{at}.type: a measurement is 'length' or 'angle', found {kind!r}", at, kind)
        ijk = np.stack([geo.voxel(raw.get(p), raw.get(a), f"{at}.{p}", f"{at}.{a}") for p, a in keys])
        group, frame, pts = geo.place(ijk, at)
        uuid = derived_uuid(key, f.MEASUREMENTS, index, given=raw.get(f.LABEL_ID))
        yield (
            at,
            ObjectAnnotation(
                uuid,
                Line(tuple(Point(*p) for p in pts)),
                name,
                schema_id,
                Placement(frame, group),
                classifications=_attrs(raw, nested, at),
            ),
        )
    for index, raw in enumerate(_list(series, f.CUBOIDS, where)):
        at = f"{where}.cuboids[{index}]"
        name, schema_id, nested = reading.feature(raw, at)
        corners = np.stack(
            [
                geo.voxel(raw.get(f.POINT_1), raw.get(f.ABSOLUTE_POINT_1), f"{at}.point1", f"{at}.absolutePoint1"),
                geo.voxel(raw.get(f.POINT_2), raw.get(f.ABSOLUTE_POINT_2), f"{at}.point2", f"{at}.absolutePoint2"),
            ]
        )
        yield (
            at,
            _cuboid(
                corners,
                reading,
                at,
                name,
                schema_id,
                _attrs(raw, nested, at),
                derived_uuid(key, f.CUBOIDS, index, given=raw.get(f.LABEL_ID)),
            ),
        )
    yield from _drawn_objects(series, reading, where)
    for index, raw in enumerate(_list(series, f.SERIES_CLASSIFICATIONS, where)):
        at = f"{where}.classifications[{index}]"
        video = raw.get(f.VIDEO)
        frames: tuple[FrameRange, ...] = ()
        if isinstance(video, dict) and video.get(f.FRAME_INDEX) is not None:
            frame = _frame(raw, reading, at)
            frames = (FrameRange(frame, frame),)
        values = parse_attributes(raw.get(f.ATTRIBUTES), f"{at}.attributes")
        level = derived_uuid(key, "classification", *(f.start for f in frames))
        for annotation in _top(values, reading, at, frames, level):
            yield at, annotation
    for index, raw in enumerate(_list(series, f.INSTANCE_CLASSIFICATIONS, where)):
        at = f"{where}.instanceClassifications[{index}]"
        file_index = raw.get(f.FILE_INDEX)
        slices = geo.grid.shape[2]
        if isinstance(file_index, bool) or not isinstance(file_index, int) or not 0 <= file_index < slices:
            raise RecordError(
                f"{reading.what}: {at}.fileIndex must be a slice 0..{slices - 1}, found {file_index!r}",
                at,
                file_index,
            )
        values = parse_attributes(raw.get(f.VALUES), f"{at}.values")
        frames = (FrameRange(file_index, file_index),)
        for annotation in _top(values, reading, at, frames, derived_uuid(key, "instance", file_index)):
            yield at, annotation


def task_classification(
    task: Mapping[str, Any], reading: SeriesReading, where: str
) -> Iterator[tuple[str, ClassificationAnnotation]]:
    """The task's (study) ``classification``, kept on its first series."""
    raw = task.get(f.TASK_CLASSIFICATION)
    at = f"{where}.classification" if where else "classification"
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise RecordError(f'{at}: expected {{"attributes": ...}}, found {raw!r}', at, raw)
    values = parse_attributes(raw.get(f.ATTRIBUTES), f"{at}.attributes")
    for annotation in _top(values, reading, at, (), derived_uuid(reading.key, "study")):
        yield at, annotation


def _top(
    values: Mapping[str, Any], reading: SeriesReading, where: str, frames: tuple[FrameRange, ...], uuid: str
) -> tuple[ClassificationAnnotation, ...]:
    allowed = reading.ontology.classifications if reading.ontology is not None else None
    return attributes.classifications(values, allowed, f"{where}.attributes", frames=frames, uuid=uuid)


def _attrs(raw: dict[str, Any], nested: Sequence[Classification], where: str) -> tuple[ClassificationAnnotation, ...]:
    values = parse_attributes(raw.get(f.ATTRIBUTES), f"{where}.attributes")
    return attributes.classifications(values, nested or None, f"{where}.attributes")


def _cuboid(
    corners: np.ndarray[Any, Any],
    reading: SeriesReading,
    where: str,
    name: str | None,
    schema_id: str | None,
    classifications: tuple[ClassificationAnnotation, ...],
    uuid: str,
) -> AnyAnnotation:
    geo = reading.geometry
    group = geo.acquisition
    view = geo.views[group]
    plane = view.from_voxel(corners)
    frames = plane[:, 0]
    if not np.allclose(frames, np.round(frames)) or not all(0 <= fr < view.frames for fr in np.round(frames)):
        raise RecordError(f"{where}: the cuboid's corners are not on slices of the series", where, corners.tolist())
    rectangle = Rectangle(Point(*plane[0, 1:]), Point(*plane[1, 1:]))
    low, high = sorted(round(float(fr)) for fr in frames)
    if low == high:
        return ObjectAnnotation(
            uuid, rectangle, name, schema_id, Placement(low, group), classifications=classifications
        )
    return TrackedObject(
        uuid,
        (Segment((Keyframe(low, rectangle), Keyframe(high, rectangle))),),
        name,
        schema_id,
        group,
        classifications=classifications,
    )


def _drawn_objects(
    series: Mapping[str, Any], reading: SeriesReading, where: str
) -> Iterator[tuple[str, AnyAnnotation]]:
    """2-D objects on slices; those sharing a ``video.trackId`` joined into one track."""
    tracks: dict[tuple[str, str], list[_Drawn]] = {}
    for kind in (f.BOUNDING_BOXES, f.LANDMARKS, f.POLYGONS, f.POLYLINES, f.ELLIPSES):
        for index, raw in enumerate(_list(series, kind, where)):
            at = f"{where}.{kind}[{index}]"
            name, schema_id, nested = reading.feature(raw, at)
            frame = _frame(raw, reading, at)
            (group, plane_frame), geometry = _geometry_2d(kind, raw, reading, at, frame)
            video = raw.get(f.VIDEO)
            track = video.get(f.TRACK_ID) if isinstance(video, dict) else None
            if isinstance(track, str) and track:
                tracks.setdefault((kind, track), []).append(_Drawn(at, raw, plane_frame, geometry, group))
                continue
            uuid = derived_uuid(reading.key, kind, index, given=raw.get(f.LABEL_ID))
            yield (
                at,
                ObjectAnnotation(
                    uuid,
                    geometry,
                    name,
                    schema_id,
                    Placement(plane_frame, group),
                    classifications=_attrs(raw, nested, at),
                ),
            )
    for (kind, track), drawn in tracks.items():
        first = drawn[0]
        name, schema_id, nested = reading.feature(first.raw, first.where)
        drawn.sort(key=lambda d: d.frame)
        segments: list[list[Keyframe]] = [[]]
        for item in drawn:
            if segments[-1] and segments[-1][-1].frame == item.frame:
                raise RecordError(
                    f"{item.where}: track {track!r} has two objects on slice {item.frame}", item.where, track
                )
            segments[-1].append(Keyframe(item.frame, item.geometry))
            video = item.raw.get(f.VIDEO) or {}
            if video.get(f.END_TRACK) and item is not drawn[-1]:
                segments.append([])
        uuid = derived_uuid(reading.key, kind, "track", track)
        yield (
            first.where,
            TrackedObject(
                uuid,
                tuple(Segment(tuple(s)) for s in segments if s),
                name,
                schema_id,
                first.group,
                classifications=_attrs(first.raw, nested, first.where),
            ),
        )


__all__ = ["NAMESPACE", "SeriesReading", "derived_uuid", "series_objects", "task_classification"]
