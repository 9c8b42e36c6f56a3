"""Writing Labelbox NDJSON: one import object per annotation, as the labelbox SDK's ``NDJsonConverter``
writes them (a binary ``png`` per image mask object, ``masks`` with per-frame images for video and DICOM).

Stored pixels (blobs, label volumes) are read through the write context; what NDJSON cannot hold (rotated
boxes, ellipses, skeletons, annotations of a data row with neither id nor global key) is dropped and
reported. Frames are 0-based in the model and 1-based here: writing adds 1.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.formats.base import WriteContext, WriteReport, dumps_line
from labelport.formats.labelbox.fields import (
    ANSWER,
    BBOX,
    BIDIRECTIONAL,
    CLASSIFICATIONS,
    COLOR_RGB,
    CONFIDENCE,
    CUSTOM_METRICS,
    DATA_ROW,
    END,
    FEATURE_NAME,
    FRAME,
    FRAMES,
    GROUP_KEY,
    HEIGHT,
    IM_BYTES,
    INDEX,
    INSTANCE_URI,
    INSTANCES,
    KEYFRAME,
    KEYFRAME_GEOMETRY_KEYS,
    KEYFRAMES,
    LEFT,
    LINE,
    MASK,
    MASKS,
    METRIC_NAME,
    METRIC_VALUE,
    PNG,
    POINT,
    POLYGON,
    RELATIONSHIP,
    SCHEMA_ID,
    SEGMENTS,
    SOURCE,
    START,
    TARGET,
    TOP,
    TYPE,
    UNIDIRECTIONAL,
    UUID,
    WIDTH,
    X,
    Y,
)
from labelport.formats.labelbox.ndjson_read import BINARY_MASK_COLOR, as_data_row
from labelport.imaging.codecs import decode_png_composite, encode_png_binary, encode_png_composite
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    ClassificationAnswer,
    CustomMetric,
    FrameMasks,
    FrameRange,
    Keyframe,
    ObjectAnnotation,
    Radio,
    Segment,
    Text,
    TrackedObject,
    VolumeMask,
)
from labelport.model.encoded import decoded
from labelport.model.geometry import Geometry, Line, Mask, Point, Polygon, RasterSource, Rectangle
from labelport.model.item import LabeledItem
from labelport.model.media import PlaneGroup

DEFAULT_MASK_COLOR = (255, 255, 255)


class Unwritable(Exception):
    """What NDJSON cannot hold of one annotation: ``what`` and ``reason`` go into the write report."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(reason)
        self.what = what
        self.reason = reason


def _feature(out: dict[str, Any], name: str | None, schema_id: str | None) -> None:
    if name is not None:
        out[FEATURE_NAME] = name
    if schema_id is not None:
        out[SCHEMA_ID] = schema_id


def _scores(out: dict[str, Any], confidence: float | None, metrics: tuple[CustomMetric, ...]) -> None:
    if confidence is not None:
        out[CONFIDENCE] = confidence
    if metrics:
        out[CUSTOM_METRICS] = [{METRIC_NAME: m.name, METRIC_VALUE: m.value} for m in metrics]


def _xy(point: Point) -> dict[str, float]:
    return {X: point.x, Y: point.y}


def _b64_text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _answer_dict(answer: ClassificationAnswer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _feature(out, answer.name, answer.schema_id)
    _scores(out, answer.confidence, answer.custom_metrics)
    if answer.classifications:
        out[CLASSIFICATIONS] = [_classification_dict(c) for c in answer.classifications]
    if answer.keyframe is not None:
        out[KEYFRAME] = answer.keyframe
    if answer.frames:
        out[FRAMES] = _frames_list(answer.frames)
    return out


def _frames_list(frames: Iterable[FrameRange]) -> list[dict[str, int]]:
    return [{START: f.start + 1, END: f.end + 1} for f in frames]


def _classification_dict(cls: ClassificationAnnotation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _feature(out, cls.name, cls.schema_id)
    answer = cls.answer
    if isinstance(answer, Text):
        out[ANSWER] = answer.answer
    elif isinstance(answer, Radio):
        out[ANSWER] = _answer_dict(answer.answer)
    else:
        out[ANSWER] = [_answer_dict(a) for a in answer.answers]
    _scores(out, cls.confidence, cls.custom_metrics)
    frames = list(cls.frames)
    if cls.placement.frame is not None:
        frames.append(FrameRange(cls.placement.frame, cls.placement.frame))
    if frames:
        out[FRAMES] = _frames_list(frames)
    return out


def _keyframe_dict(writer: _Writer, keyframe: Keyframe, dicom: bool) -> dict[str, Any]:
    key, value = writer.geometry(keyframe.geometry)
    if key not in ((LINE,) if dicom else KEYFRAME_GEOMETRY_KEYS):
        raise Unwritable(
            f"{type(keyframe.geometry).__name__} keyframe",
            f"Labelbox {'DICOM' if dicom else 'video'} keyframes hold {'a line' if dicom else 'bbox, point or line'}",
        )
    return {
        FRAME: keyframe.frame + 1,
        key: value,
        CLASSIFICATIONS: [_classification_dict(c) for c in keyframe.classifications],
    }


def _tracked_dict(
    writer: _Writer,
    out: dict[str, Any],
    segments: Iterable[Segment],
    group: PlaneGroup | None,
    classifications: Iterable[ClassificationAnnotation],
) -> dict[str, Any]:
    if group is not None:
        out[GROUP_KEY] = group.value
    out[CLASSIFICATIONS] = [_classification_dict(c) for c in classifications]
    out[SEGMENTS] = [{KEYFRAMES: [_keyframe_dict(writer, k, group is not None) for k in s.keyframes]} for s in segments]
    return out


class _Writer:
    """Turns one item's annotations into NDJSON objects, reading stored pixels through the context."""

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx

    def _plane(self, source: RasterSource) -> npt.NDArray[Any]:
        if source.pixels is not None:
            return np.asarray(source.pixels.array())
        if source.png is not None:
            return decode_png_composite(source.png)
        if self.ctx.pixels is None:
            raise Unwritable("mask", f"its pixels are in the store (blob {source.blob}) and no store was given")
        return self.ctx.pixels.plane(source)

    def png(self, source: RasterSource) -> bytes:
        """The PNG of a mask frame as it is stored (composite or grey)."""
        if source.png is not None:
            return source.png
        if source.pixels is not None:
            array = np.asarray(source.pixels.array())
            return encode_png_composite(array) if array.ndim == 3 else encode_png_binary(array)
        if self.ctx.pixels is None:
            raise Unwritable("mask", f"its pixels are in the store (blob {source.blob}) and no store was given")
        return self.ctx.pixels.png(source)

    def mask(self, mask: Mask) -> dict[str, Any]:
        """A binary ``png`` of the object's pixels, as the labelbox SDK writes (and reads) image masks."""
        source = mask.source
        if source.uri is not None:
            return {INSTANCE_URI: source.uri, COLOR_RGB: list(mask.color)}
        if source.png is not None and mask.color == BINARY_MASK_COLOR:
            return {PNG: _b64_text(source.png)}
        array = self._plane(source)
        selected = np.all(array == np.asarray(mask.color, dtype=array.dtype), axis=2) if array.ndim == 3 else array != 0
        return {PNG: _b64_text(encode_png_binary(selected))}

    def geometry(self, geometry: Geometry) -> tuple[str, Any]:
        if isinstance(geometry, Rectangle):
            start, end = geometry.start, geometry.end
            return BBOX, {TOP: start.y, LEFT: start.x, HEIGHT: end.y - start.y, WIDTH: end.x - start.x}
        if isinstance(geometry, Polygon):
            return POLYGON, [_xy(p) for p in geometry.points]
        if isinstance(geometry, Line):
            return LINE, [_xy(p) for p in geometry.points]
        if isinstance(geometry, Point):
            return POINT, _xy(geometry)
        if isinstance(geometry, Mask):
            return MASK, self.mask(geometry)
        name = type(geometry).__name__
        raise Unwritable(name, "Labelbox NDJSON holds bbox, polygon, line, point and mask objects")

    def volume_frames(self, item: LabeledItem, mask: VolumeMask, group: PlaneGroup) -> Iterator[tuple[int, bytes]]:
        """(0-based frame, composite PNG) of each slice of ``group`` where the mask has voxels."""
        from labelport.imaging.grids import plane_of

        if item.media is None or self.ctx.pixels is None:
            raise Unwritable("volume mask", "its data row's geometry and pixels are needed to cut plane images")
        volume = self.ctx.pixels.volume(mask.source, item.media)
        view = plane_of(item.media.media_attributes, group)
        selected = np.isin(volume, mask.values)
        stacked = view.stack(selected)  # [frame, y, x]
        color = np.asarray(mask.color or DEFAULT_MASK_COLOR, dtype=np.uint8)
        for frame in np.flatnonzero(stacked.reshape(stacked.shape[0], -1).any(axis=1)):
            rgb = np.zeros((*stacked.shape[1:], 3), dtype=np.uint8)
            rgb[stacked[frame]] = color
            yield int(frame), encode_png_composite(rgb)

    def annotation(self, item: LabeledItem, ann: AnyAnnotation) -> dict[str, Any]:
        """One annotation as a Labelbox NDJSON object; raises ``Unwritable`` for what the format cannot hold."""
        out: dict[str, Any] = {}
        if isinstance(ann, ClassificationAnnotation):
            if ann.uuid is not None:
                out[UUID] = ann.uuid
            out[DATA_ROW] = as_data_row(item.data_row)
            out.update(_classification_dict(ann))
            return out
        out[UUID] = ann.uuid
        out[DATA_ROW] = as_data_row(item.data_row)
        if isinstance(ann, ObjectAnnotation):
            _feature(out, ann.name, ann.schema_id)
            _scores(out, ann.confidence, ann.custom_metrics)
            placement = ann.placement
            if placement.frame is not None:
                # A per-frame object of another format: in Labelbox it is a one-keyframe track.
                segment = Segment((Keyframe(placement.frame, ann.geometry, ann.classifications),))
                return _tracked_dict(self, out, (segment,), placement.group, ())
            out[CLASSIFICATIONS] = [_classification_dict(c) for c in ann.classifications]
            key, value = self.geometry(ann.geometry)
            out[key] = value
            return out
        if isinstance(ann, TrackedObject):
            _feature(out, ann.name, ann.schema_id)
            _scores(out, ann.confidence, ann.custom_metrics)
            return _tracked_dict(self, out, ann.segments, ann.group, ann.classifications)
        if isinstance(ann, FrameMasks):
            if ann.group is not None:
                out[GROUP_KEY] = ann.group.value
            frames = [{INDEX: f.frame + 1, **self._frame_source(f.source)} for f in ann.frames]
            instances = []
            for instance in ann.instances:
                entry: dict[str, Any] = {COLOR_RGB: list(instance.color)}
                _feature(entry, instance.name, instance.schema_id)
                instances.append(entry)
            out[MASKS] = {FRAMES: frames, INSTANCES: instances}
            return out
        if isinstance(ann, VolumeMask):
            group = ann.group or PlaneGroup.AXIAL
            out[GROUP_KEY] = group.value
            frames = [{INDEX: f + 1, IM_BYTES: _b64_text(png)} for f, png in self.volume_frames(item, ann, group)]
            if not frames:
                raise Unwritable("empty volume mask", "it has no voxels, and Labelbox masks need at least one frame")
            entry = {COLOR_RGB: list(ann.color or DEFAULT_MASK_COLOR)}
            _feature(entry, ann.name, ann.schema_id)
            out[MASKS] = {FRAMES: frames, INSTANCES: [entry]}
            return out
        _feature(out, ann.name, ann.schema_id)
        out[RELATIONSHIP] = {
            SOURCE: ann.source,
            TARGET: ann.target,
            TYPE: BIDIRECTIONAL if ann.bidirectional else UNIDIRECTIONAL,
        }
        return out

    def _frame_source(self, source: RasterSource) -> dict[str, str]:
        if source.uri is not None:
            return {INSTANCE_URI: source.uri}
        return {IM_BYTES: _b64_text(self.png(source))}


def objects(item: LabeledItem, ctx: WriteContext | None = None) -> Iterator[dict[str, Any]]:
    """The NDJSON objects of every annotation of ``item`` (all its labels); raises ``ValidationError`` for an
    annotation NDJSON cannot hold (``write`` reports those instead)."""
    writer = _Writer(ctx or WriteContext())
    for label in item.labels:
        for annotation in label.annotations:
            try:
                yield writer.annotation(item, decoded(annotation))
            except Unwritable as exc:
                raise ValidationError(f"{exc.what}: {exc.reason}", field="annotation", value=exc.what) from None


def write_items(items: Iterable[LabeledItem], handle: IO[bytes], ctx: WriteContext) -> WriteReport:
    report = WriteReport()
    writer = _Writer(ctx)
    for item in items:
        try:
            as_data_row(item.data_row)
        except ValidationError as exc:
            report.lose(item, "data row", exc.message, item.annotation_count())
            continue
        written = 0
        for label in item.labels:
            for annotation in label.annotations:
                try:
                    line = writer.annotation(item, decoded(annotation))
                except Unwritable as exc:
                    report.lose(item, exc.what, exc.reason)
                    continue
                handle.write(dumps_line(line))
                written += 1
        report.items += 1
        report.annotations += written
    return report
