"""Writing items as Encord label rows, in the union of what both SDK generations read (notes section 12).

One label row per item: ``image``, ``video``, ``dicom`` or ``nifti`` by its media. ``data_hash`` is the data
row's external id when it has one (an id that came from Encord goes back to Encord), else its id;
``data_title`` its global key. Every row has ``branch_name`` and ``spaces: {}``; timestamps are written as
``"%a, %d %b %Y %H:%M:%S UTC"``. Polygons carry both ``polygon`` and ``polygons``; classifications are
written both as per-frame entries (SDK <= 0.1.202 reads those) and with ``range`` and their metadata in
``classification_answers`` (SDK >= 0.1.204 reads only that).

On a DICOM series, objects on the slice plane (the plane whose frames run along the acquisition's slice
axis, ``slices.SliceMap``) are written on Encord's slice images, keyed by grid slice with each slice's
instance UID in its ``metadata``; label volumes become one bitmask per slice they touch. Objects drawn on
another plane have no acquired slice and are reported as lost, as is what Encord has no shape for.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import orjson

from labelport.errors import ValidationError
from labelport.formats.base import WriteContext, WriteReport
from labelport.formats.encord.answers import attribute_dicts, dynamic_dicts, is_dynamic
from labelport.formats.encord.coordinates import SHAPE_OF_GEOMETRY, Frame, bitmask_dict, mask_array, shape_dict, snake
from labelport.formats.encord.fields import (
    ACTIONS,
    ANNOTATION_TASK_STATUS,
    BITMASK,
    BRANCH_NAME,
    CLASSIFICATION_ANSWERS,
    CLASSIFICATION_HASH,
    CLASSIFICATIONS,
    COLOR,
    CONFIDENCE,
    CREATED_AT,
    CREATED_AT_OBJECT,
    CREATED_BY,
    DATA_DURATION,
    DATA_FPS,
    DATA_HASH,
    DATA_LINK,
    DATA_SEQUENCE,
    DATA_TITLE,
    DATA_TYPE,
    DATA_UNITS,
    DATASET_HASH,
    DATASET_TITLE,
    DICOM_INSTANCE_UID,
    FEATURE_HASH,
    HEIGHT,
    IS_SHADOW_DATA,
    LABEL_HASH,
    LABEL_STATUS,
    LABELS,
    LAST_EDITED_AT,
    LAST_EDITED_AT_OBJECT,
    LAST_EDITED_BY,
    MAIN_BRANCH,
    MANUAL_ANNOTATION,
    METADATA,
    MIME_DICOM,
    MIME_NIFTI,
    MULTIFRAME_FRAME_NUMBER,
    NAME,
    OBJECT_ACTIONS,
    OBJECT_ANSWERS,
    OBJECT_HASH,
    OBJECTS,
    RANGE,
    SERIES_UID,
    SHAPE,
    SPACES,
    STUDY_UID,
    TIMESTAMP_FORMAT,
    VALUE,
    WIDTH,
    DataType,
    LabelStatus,
    Shape,
    TaskStatus,
)
from labelport.formats.encord.hashes import hash_of_uuid
from labelport.formats.encord.ontology import DEFAULT_COLOR, SHAPE_FOR_TOOL, feature_hash
from labelport.formats.encord.slices import SliceMap, frames_in, ranges
from labelport.imaging.codecs import decode_png_composite
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    FrameMasks,
    FrameRange,
    ObjectAnnotation,
    Relationship,
    TrackedObject,
    VolumeMask,
)
from labelport.model.encoded import decoded
from labelport.model.geometry import Geometry, Mask, RasterSource, VolumeSource
from labelport.model.item import LabeledItem
from labelport.model.label import Label, LabelKind
from labelport.model.media import DataRow, MediaType, PlaneGroup
from labelport.model.ontology import Classification, Ontology, Tool
from labelport.model.workflow import WorkflowStatus

_DATA_TYPE = {
    MediaType.IMAGE: DataType.IMAGE,
    MediaType.VIDEO: DataType.VIDEO,
    MediaType.DICOM: DataType.DICOM,
    MediaType.NIFTI: DataType.NIFTI,
}
_LABEL_HASHES = uuid_module.UUID("3f5a0c8e-8e2b-4c2a-9b61-5d1f0e7c4a90")
_STATUS = {
    WorkflowStatus.TO_LABEL: (LabelStatus.LABEL_IN_PROGRESS, TaskStatus.QUEUED),
    WorkflowStatus.IN_REVIEW: (LabelStatus.LABELLED, TaskStatus.IN_REVIEW),
    WorkflowStatus.IN_REWORK: (LabelStatus.LABEL_IN_PROGRESS, TaskStatus.RETURNED),
    WorkflowStatus.DONE: (LabelStatus.REVIEWED, TaskStatus.COMPLETED),
}


UNKNOWN_TIME = "Thu, 01 Jan 1970 00:00:00 UTC"


class Unwritable(Exception):
    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason


def timestamp(value: datetime | None) -> str | None:
    return value.strftime(TIMESTAMP_FORMAT) if value is not None else None


@dataclass(slots=True)
class _Meta:
    """What every entry of one label row repeats: author, time, manual or predicted."""

    created_by: str | None
    created_at: str | None
    edited_at: str | None
    manual: bool

    def object_fields(self, confidence: float | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created_at is not None:
            out[CREATED_AT_OBJECT] = self.created_at
        out[CREATED_BY] = self.created_by
        if confidence is not None:  # Encord reads a missing confidence as 1
            out[CONFIDENCE] = confidence
        if self.edited_at is not None:
            out[LAST_EDITED_AT_OBJECT] = self.edited_at
        out[MANUAL_ANNOTATION] = self.manual
        return out


@dataclass(slots=True)
class _Row:
    """A label row being written: frames of objects, answers, classification answers."""

    frames: dict[int, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    object_answers: dict[str, Any] = field(default_factory=dict)
    object_actions: dict[str, Any] = field(default_factory=dict)
    classification_answers: dict[str, Any] = field(default_factory=dict)
    slice_metadata: dict[int, dict[str, Any]] = field(default_factory=dict)
    count: int = 0

    def frame(self, frame: int) -> dict[str, list[dict[str, Any]]]:
        return self.frames.setdefault(frame, {OBJECTS: [], CLASSIFICATIONS: []})


class Features:
    """The ontology's tools and classifications by schema id, platform id and name, for writing."""

    def __init__(self, ontology: Ontology | None) -> None:
        self.ontology = ontology

    def tool(self, name: str | None, schema_id: str | None) -> Tool | None:
        if self.ontology is None:
            return None
        if schema_id is not None:
            found = self.ontology.find_tool(schema_id=schema_id)
            if found is not None:
                return found
        return self.ontology.find_tool(name=name) if name is not None else None

    def classification(self, name: str | None, schema_id: str | None) -> Classification | None:
        if self.ontology is None:
            return None
        if schema_id is not None:
            found = self.ontology.find_classification(schema_id=schema_id)
            if found is not None:
                return found
        return self.ontology.find_classification(name=name) if name is not None else None


class RowWriter:
    """Turns items into label row dicts, reading stored pixels through the context."""

    def __init__(self, ctx: WriteContext, report: WriteReport) -> None:
        self.ctx = ctx
        self.report = report
        self.features = Features(ctx.ontology)

    # --- pixels -----------------------------------------------------------------------------------------

    def _plane(self, source: RasterSource) -> npt.NDArray[Any]:
        if source.pixels is not None:
            return np.asarray(source.pixels.array())
        if source.png is not None:
            return decode_png_composite(source.png)
        if self.ctx.pixels is None:
            raise Unwritable("mask", f"its pixels are in the store (blob {source.blob}) and no store was given")
        return self.ctx.pixels.plane(source)

    def _volume(self, item: LabeledItem, mask: VolumeMask) -> npt.NDArray[np.bool_]:
        if mask.source.pixels is not None:
            volume = np.asarray(mask.source.pixels.array())
        elif self.ctx.pixels is None or item.media is None:
            raise Unwritable("volume mask", "its data row's geometry and stored voxels are needed")
        else:
            volume = self.ctx.pixels.volume(mask.source, item.media)
        selected: npt.NDArray[np.bool_] = np.isin(volume, mask.values)
        return selected

    # --- the row -----------------------------------------------------------------------------------------

    def row(self, item: LabeledItem) -> dict[str, Any]:
        """The label row of ``item``; what it cannot hold goes to the report as losses."""
        report = self.report
        label = item.label(LabelKind.GROUND_TRUTH) or (item.labels[0] if item.labels else None)
        media = item.media
        annotations = [decoded(a) for a in label.annotations] if label is not None else []
        data_type = self._data_type(media, annotations)
        data_hash, data_title = self._names(item)
        meta = self._meta(label)
        row = _Row()
        unit: dict[str, Any] = {DATA_HASH: data_hash, DATA_TITLE: data_title}
        slices: SliceMap | None = None
        if data_type in (DataType.DICOM, DataType.NIFTI):
            slices = self._slices(media)
            width = slices.columns if slices is not None else _size(media, "width")
            height = slices.rows if slices is not None else _size(media, "height")
        else:
            width, height = _size(media, "width"), _size(media, "height")
        if (width is None or height is None) and data_type is DataType.IMAGE:
            width, height = self._mask_size(annotations) or (width, height)
        # Without the media's size no coordinates can be written; classifications still can.
        size = Frame(width, height) if width is not None and height is not None else _NO_SIZE
        frame_count = media.media_attributes.frames if media is not None else None
        for annotation in annotations:
            try:
                self._annotation(item, annotation, data_type, size, slices, frame_count, row, meta)
            except Unwritable as exc:
                report.lose(item, exc.what, exc.reason)
            except ValidationError as exc:
                report.lose(item, type(annotation).__name__, exc.message)
        unit.update(self._unit(data_type, media, width, height, row, slices))
        if size is _NO_SIZE:
            unit.pop(WIDTH, None)
            unit.pop(HEIGHT, None)
        created = timestamp(label.details.created_at) if label is not None else None
        edited = timestamp(label.details.updated_at) if label is not None else None
        status = item.review.status if item.review is not None else None
        label_status, task_status = (
            _STATUS.get(status, (LabelStatus.LABEL_IN_PROGRESS, TaskStatus.QUEUED))
            if status
            else (
                LabelStatus.LABEL_IN_PROGRESS if row.count else LabelStatus.NOT_LABELLED,
                TaskStatus.QUEUED,
            )
        )
        report.annotations += row.count
        return {
            LABEL_HASH: str(uuid_module.uuid5(_LABEL_HASHES, f"{data_hash}/{label.id if label else ''}")),
            BRANCH_NAME: MAIN_BRANCH,
            CREATED_AT: created,
            LAST_EDITED_AT: edited or created,
            DATA_HASH: data_hash,
            DATASET_HASH: (media.dataset_id if media is not None else None) or "",
            DATASET_TITLE: (item.review.dataset_name if item.review is not None else None) or "",
            DATA_TITLE: data_title,
            DATA_TYPE: data_type.value,
            ANNOTATION_TASK_STATUS: task_status.value,
            IS_SHADOW_DATA: False,
            LABEL_STATUS: label_status.value,
            DATA_UNITS: {data_hash: unit},
            OBJECT_ANSWERS: row.object_answers,
            CLASSIFICATION_ANSWERS: row.classification_answers,
            OBJECT_ACTIONS: row.object_actions,
            SPACES: {},
        }

    def _mask_size(self, annotations: Sequence[AnyAnnotation]) -> tuple[int, int] | None:
        """An image's size from one of its masks, when nothing else gives it (a mask covers the whole image:
        COCO's RLE size is the image's)."""
        for annotation in annotations:
            if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
                try:
                    shape = self._plane(annotation.geometry.source).shape
                except (Unwritable, ValidationError):
                    continue
                return int(shape[1]), int(shape[0])
        return None

    @staticmethod
    def _data_type(media: DataRow | None, annotations: Sequence[AnyAnnotation]) -> DataType:
        if media is not None:
            return _DATA_TYPE[media.media_type]
        if any(isinstance(a, VolumeMask) or getattr(getattr(a, "placement", None), "group", None) for a in annotations):
            return DataType.DICOM
        framed = any(
            isinstance(a, TrackedObject | FrameMasks)
            or (isinstance(a, ObjectAnnotation) and a.placement.frame is not None)
            or (isinstance(a, ClassificationAnnotation) and a.frames)
            for a in annotations
        )
        return DataType.VIDEO if framed else DataType.IMAGE

    @staticmethod
    def _names(item: LabeledItem) -> tuple[str, str]:
        media, key = item.media, item.data_row
        if media is not None:
            data_hash = media.external_id or media.id
            return data_hash, media.global_key or data_hash
        data_hash = key.external_id or key.id or (key.names[0] if key.names else None) or key.global_key or ""
        return data_hash, key.global_key or (key.names[-1] if key.names else data_hash)

    @staticmethod
    def _meta(label: Label | None) -> _Meta:
        """Who and when, from the label; an unknown time is the epoch (SDK <= 0.1.190 needs one on every
        object, and a writer that made one up from the clock would not write the same bytes twice)."""
        if label is None:
            return _Meta(None, UNKNOWN_TIME, None, True)
        details = label.details
        return _Meta(
            details.created_by,
            timestamp(details.created_at) or UNKNOWN_TIME,
            timestamp(details.updated_at),
            label.kind is LabelKind.GROUND_TRUTH,
        )

    @staticmethod
    def _slices(media: DataRow | None) -> SliceMap | None:
        if media is None or media.media_attributes.slices is None or media.media_attributes.columns is None:
            return None
        return SliceMap.of(media.media_attributes)

    def _unit(
        self,
        data_type: DataType,
        media: DataRow | None,
        width: int | None,
        height: int | None,
        row: _Row,
        slices: SliceMap | None,
    ) -> dict[str, Any]:
        attributes = media.media_attributes if media is not None else None
        out: dict[str, Any] = {}
        if data_type is DataType.DICOM:
            out[DATA_TYPE] = MIME_DICOM
        elif data_type is DataType.NIFTI:
            out[DATA_TYPE] = MIME_NIFTI
        else:
            out[DATA_TYPE] = (attributes.mime_type if attributes is not None else None) or (
                "video/mp4" if data_type is DataType.VIDEO else "image/png"
            )
        out[DATA_SEQUENCE] = 0
        if data_type in (DataType.IMAGE, DataType.VIDEO, DataType.NIFTI):
            out[DATA_LINK] = media.row_data if media is not None else ""
        out[WIDTH] = width
        out[HEIGHT] = height
        if data_type is DataType.IMAGE:
            out[LABELS] = row.frames.get(0, {OBJECTS: [], CLASSIFICATIONS: []})
            return out
        labels: dict[str, Any] = {}
        for frame in sorted(row.frames):
            entry: dict[str, Any] = dict(row.frames[frame])
            if frame in row.slice_metadata:
                entry[METADATA] = row.slice_metadata[frame]
            labels[str(frame)] = entry
        out[LABELS] = labels
        if data_type is DataType.VIDEO and attributes is not None and attributes.frame_rate:
            out[DATA_FPS] = attributes.frame_rate
            if attributes.frames:
                out[DATA_DURATION] = attributes.frames / attributes.frame_rate
        if data_type is DataType.DICOM and attributes is not None and attributes.series_instance_uid:
            out[METADATA] = {STUDY_UID: attributes.study_instance_uid, SERIES_UID: attributes.series_instance_uid}
        return out

    # --- annotations ----------------------------------------------------------------------------------------

    def _tool(self, annotation: ObjectAnnotation | TrackedObject | VolumeMask, geometry: str) -> tuple[str, str, str]:
        """featureHash, name and colour of an object's feature."""
        tool = self.features.tool(annotation.name, annotation.schema_id)
        if tool is not None:
            if tool.type not in SHAPE_FOR_TOOL:
                raise Unwritable(tool.type.value, "Encord has no such shape")
            return feature_hash(tool), tool.name, tool.color or DEFAULT_COLOR
        name = annotation.name or annotation.schema_id or geometry
        return annotation.schema_id or name, name, DEFAULT_COLOR

    def _entry(
        self,
        annotation: ObjectAnnotation | TrackedObject | VolumeMask,
        geometry: Geometry | None,
        size: Frame,
        meta: _Meta,
        mask: npt.NDArray[Any] | None = None,
        object_hash: str | None = None,
    ) -> dict[str, Any]:
        if size is _NO_SIZE:
            raise Unwritable(
                type(geometry).__name__ if geometry is not None else "mask", "the media's width and height are unknown"
            )
        if geometry is not None:
            shape, coordinates = shape_dict(geometry, size, mask)
        elif mask is not None:
            shape, coordinates = Shape.BITMASK, {BITMASK: bitmask_dict(mask)}
        else:
            raise ValidationError("an object needs a geometry or a mask", field="shape")
        feature, name, color = self._tool(annotation, shape.value)
        return {
            NAME: name,
            COLOR: color,
            SHAPE: shape.value,
            VALUE: snake(name),
            **meta.object_fields(annotation.confidence),
            OBJECT_HASH: object_hash or hash_of_uuid(annotation.uuid),
            FEATURE_HASH: feature,
            **coordinates,
        }

    def _answers(
        self,
        row: _Row,
        annotation: ObjectAnnotation | TrackedObject | VolumeMask,
        meta: _Meta,
        frames: Sequence[int],
        keyframe_answers: Sequence[tuple[int, ClassificationAnnotation]] = (),
        to_encord: Any = None,
        object_hash: str | None = None,
    ) -> None:
        """``object_answers`` (static) and ``object_actions`` (dynamic, on ``frames`` or their own) of an object."""
        tool = self.features.tool(annotation.name, annotation.schema_id)
        nodes = tool.classifications if tool is not None else None
        static = [c for c in annotation.classifications if not is_dynamic(c, nodes)]
        dynamic = [c for c in annotation.classifications if is_dynamic(c, nodes)]
        hash_ = object_hash or hash_of_uuid(annotation.uuid)
        row.object_answers[hash_] = {
            OBJECT_HASH: hash_,
            CLASSIFICATIONS: attribute_dicts(static, nodes, manual=meta.manual),
        }
        actions: list[dict[str, Any]] = []
        for c in dynamic:
            spans = c.frames or ranges(frames)
            if to_encord is not None:
                spans = ranges(to_encord(f) for f in frames_in(spans))
            actions.extend(dynamic_dicts(c, nodes, spans, manual=meta.manual))
        for frame, c in keyframe_answers:
            encord_frame = to_encord(frame) if to_encord is not None else frame
            actions.extend(dynamic_dicts(c, nodes, [FrameRange(encord_frame, encord_frame)], manual=meta.manual))
        if actions:
            row.object_actions[hash_] = {OBJECT_HASH: hash_, ACTIONS: list(reversed(actions))}

    def _annotation(
        self,
        item: LabeledItem,
        annotation: AnyAnnotation,
        data_type: DataType,
        size: Frame,
        slices: SliceMap | None,
        frame_count: int | None,
        row: _Row,
        meta: _Meta,
    ) -> None:
        if isinstance(annotation, Relationship):
            raise Unwritable("relationship", "Encord label rows have no relationships between objects")
        if isinstance(annotation, ClassificationAnnotation):
            self._classification(annotation, data_type, slices, frame_count, row, meta)
            return
        series = data_type in (DataType.DICOM, DataType.NIFTI)
        if isinstance(annotation, VolumeMask):
            if slices is None:
                raise Unwritable("volume mask", "its data row's geometry is needed to cut it into slices")
            self._volume_mask(item, annotation, size, slices, row, meta)
            return
        if isinstance(annotation, FrameMasks):
            self._frame_masks(annotation, data_type, size, slices, row, meta)
            return
        if isinstance(annotation, ObjectAnnotation):
            placement = annotation.placement
            if data_type is DataType.IMAGE:
                if placement.frame not in (None, 0):
                    raise Unwritable("object on a frame", "an image has one frame")
                self._object_entry(annotation, annotation.geometry, 0, size, row, meta)
                self._answers(row, annotation, meta, [0])
                return
            if placement.frame is None:
                raise Unwritable(type(annotation.geometry).__name__, "an object on a video or series needs a frame")
            frame = self._encord_frame(placement.frame, placement.group, slices, series)
            geometry = slices.from_plane(annotation.geometry) if slices is not None and series else annotation.geometry
            self._object_entry(annotation, geometry, frame, size, row, meta, slices)
            to_encord = self._to_encord(slices, series, placement.group)
            self._answers(row, annotation, meta, [placement.frame], to_encord=to_encord)
            return
        # a tracked object
        if data_type is DataType.IMAGE:
            raise Unwritable("tracked object", "an image has one frame")
        keyframes = annotation.keyframes
        for segment in annotation.segments:
            frames = [k.frame for k in segment.keyframes]
            if frames[-1] - frames[0] + 1 != len(frames):
                # Labelbox interpolates between keyframes; Encord draws an object only on its frames.
                self.report.lose(
                    item,
                    "frames between keyframes",
                    "Encord holds the keyframes only, not what a platform interpolates",
                )
        for keyframe in keyframes:
            frame = self._encord_frame(keyframe.frame, annotation.group, slices, series)
            geometry = slices.from_plane(keyframe.geometry) if slices is not None and series else keyframe.geometry
            self._object_entry(annotation, geometry, frame, size, row, meta, slices)
        to_encord = self._to_encord(slices, series, annotation.group)
        answers = [(k.frame, c) for k in keyframes for c in k.classifications]
        self._answers(row, annotation, meta, [k.frame for k in keyframes], answers, to_encord)

    def _to_encord(self, slices: SliceMap | None, series: bool, group: PlaneGroup | None) -> Any:
        if slices is None or not series:
            return None
        return lambda frame: self._encord_frame(frame, group, slices, series)

    def _encord_frame(self, frame: int, group: PlaneGroup | None, slices: SliceMap | None, series: bool) -> int:
        """The Encord frame of a model frame: on a series, the grid slice of a frame of the slice plane."""
        if not series:
            return frame
        if slices is None:
            if group is not None:
                raise Unwritable(f"object on the {group.value} plane", "the series' geometry is unknown")
            return frame
        if group is not None and group is not slices.plane:
            raise Unwritable(
                f"object on the {group.value} plane",
                f"Encord labels the acquired slices ({slices.plane.value} plane here); another plane has no slice",
            )
        return slices.slice_of_frame(frame)

    def _slice_metadata(self, row: _Row, k: int, slices: SliceMap | None) -> None:
        if slices is None or k in row.slice_metadata:
            return
        instance = slices.uid_of(k)
        if instance is None:
            return
        uid, number = instance
        row.slice_metadata[k] = {
            DICOM_INSTANCE_UID: uid,
            MULTIFRAME_FRAME_NUMBER: number,
            WIDTH: slices.columns,
            HEIGHT: slices.rows,
        }

    def _object_entry(
        self,
        annotation: ObjectAnnotation | TrackedObject,
        geometry: Geometry,
        frame: int,
        size: Frame,
        row: _Row,
        meta: _Meta,
        slices: SliceMap | None = None,
    ) -> None:
        mask = None
        if isinstance(geometry, Mask):
            mask = mask_array(geometry.source, self._plane, geometry.color)
        if type(geometry) not in SHAPE_OF_GEOMETRY:
            raise Unwritable(type(geometry).__name__, "Encord has no such shape")
        row.frame(frame)[OBJECTS].append(self._entry(annotation, geometry, size, meta, mask))
        self._slice_metadata(row, frame, slices)
        row.count += 1

    def _volume_mask(
        self, item: LabeledItem, mask: VolumeMask, size: Frame, slices: SliceMap, row: _Row, meta: _Meta
    ) -> None:
        selected = self._volume(item, mask)
        if selected.shape != (slices.columns, slices.rows, slices.slices):
            raise Unwritable("volume mask", f"its voxels {selected.shape} are not on the series grid")
        touched = np.flatnonzero(selected.reshape(-1, selected.shape[2]).any(axis=0))
        if touched.size == 0:
            raise Unwritable("empty volume mask", "it has no voxels, and an Encord bitmask lies on a slice")
        for k in touched:
            image = slices.extract(selected, int(k))
            row.frame(int(k))[OBJECTS].append(self._entry(mask, None, size, meta, image))
            self._slice_metadata(row, int(k), slices)
        row.count += 1
        self._answers(
            row, mask, meta, [slices.frame_of(int(k)) for k in touched], to_encord=lambda f: slices.slice_of_frame(f)
        )

    def _frame_masks(
        self, masks: FrameMasks, data_type: DataType, size: Frame, slices: SliceMap | None, row: _Row, meta: _Meta
    ) -> None:
        series = data_type in (DataType.DICOM, DataType.NIFTI)
        if data_type is DataType.IMAGE:
            raise Unwritable("frame masks", "an image has one frame")
        for index, instance in enumerate(masks.instances):
            object_hash = (
                hash_of_uuid(masks.uuid)
                if index == 0
                else str(uuid_module.uuid5(uuid_module.UUID(masks.uuid), str(index)))
            )
            carrier = VolumeMask(masks.uuid, _NO_VOLUME, name=instance.name, schema_id=instance.schema_id)
            for frame_mask in masks.frames:
                plane = np.asarray(self._plane(frame_mask.source))
                selected = (
                    np.all(plane == np.asarray(instance.color, dtype=plane.dtype), axis=2)
                    if plane.ndim == 3
                    else plane != 0
                )
                if not selected.any():
                    continue
                frame = self._encord_frame(frame_mask.frame, masks.group, slices, series)
                if slices is not None and series:
                    volume = np.zeros((slices.columns, slices.rows, slices.slices), dtype=np.bool_)
                    slices.view.insert(volume, frame_mask.frame, selected)
                    selected = slices.extract(volume, frame)
                row.frame(frame)[OBJECTS].append(self._entry(carrier, None, size, meta, selected, object_hash))
                self._slice_metadata(row, frame, slices)
            row.object_answers[object_hash] = {OBJECT_HASH: object_hash, CLASSIFICATIONS: []}
            row.count += 1

    def _classification(
        self,
        annotation: ClassificationAnnotation,
        data_type: DataType,
        slices: SliceMap | None,
        frame_count: int | None,
        row: _Row,
        meta: _Meta,
    ) -> None:
        node = self.features.classification(annotation.name, annotation.schema_id)
        series = data_type in (DataType.DICOM, DataType.NIFTI)
        if data_type is DataType.IMAGE:
            frames: list[int] | None = None if node is not None and node.global_scope else [0]
        elif annotation.frames:
            frames = [
                self._encord_frame(f, annotation.placement.group, slices, series) for f in frames_in(annotation.frames)
            ]
        elif node is None or node.global_scope:
            frames = None  # on the whole row: a global classification
        elif frame_count:
            frames = list(range(frame_count))
        else:
            raise Unwritable("classification without frames", "the media's frame count is unknown")
        if annotation.uuid is None:
            raise Unwritable("classification without a uuid", "Encord names each classification by a hash")
        hash_ = hash_of_uuid(annotation.uuid)
        feature = feature_hash(node) if node is not None else (annotation.schema_id or annotation.name or "")
        entries = attribute_dicts((annotation,), None, manual=meta.manual, root=node)
        spans = [[s.start, s.end] for s in ranges(frames)] if frames is not None else []
        answer: dict[str, Any] = {
            CLASSIFICATION_HASH: hash_,
            FEATURE_HASH: feature,
            SPACES: {},
            RANGE: spans,
            CREATED_BY: meta.created_by,
            CREATED_AT_OBJECT: meta.created_at,
            LAST_EDITED_BY: meta.created_by,
            LAST_EDITED_AT_OBJECT: meta.edited_at or meta.created_at,
            CONFIDENCE: annotation.confidence,
            MANUAL_ANNOTATION: meta.manual,
            CLASSIFICATIONS: entries,
        }
        row.classification_answers[hash_] = {k: v for k, v in answer.items() if v is not None or k == CREATED_BY}
        name = node.name if node is not None else (annotation.name or feature)
        frame_entry: dict[str, Any] = {
            NAME: name,
            VALUE: snake(name),
            CLASSIFICATION_HASH: hash_,
            FEATURE_HASH: feature,
            **meta.object_fields(annotation.confidence),
        }
        for frame in frames or ():
            row.frame(frame)[CLASSIFICATIONS].append(frame_entry)
            self._slice_metadata(row, frame, slices if series else None)
        row.count += 1


# Stand-ins: a volume source for frame masks written as volume masks' slices, and an unknown media size
# (nothing is written with it).
_NO_VOLUME = VolumeSource(uri="-")
_NO_SIZE = Frame(1, 1)


def _size(media: DataRow | None, name: str) -> int | None:
    if media is None:
        return None
    value: int | None = getattr(media.media_attributes, name)
    return value


def rows(items: Iterable[LabeledItem], ctx: WriteContext, report: WriteReport) -> Iterator[dict[str, Any]]:
    """Label row dicts of ``items``, one per item; losses go to ``report``."""
    writer = RowWriter(ctx, report)
    for item in items:
        row = writer.row(item)
        report.items += 1
        yield row


def write_rows(items: Iterable[LabeledItem], handle: IO[bytes], ctx: WriteContext) -> WriteReport:
    """Write a JSON array of label rows to ``handle``, one row at a time."""
    report = WriteReport()
    handle.write(b"[")
    first = True
    for row in rows(items, ctx, report):
        handle.write(b"\n" if first else b",\n")
        handle.write(orjson.dumps(row))
        first = False
    handle.write(b"\n]\n" if not first else b"]\n")
    return report


__all__ = ["RowWriter", "rows", "timestamp", "write_rows"]
