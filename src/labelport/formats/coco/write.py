"""Writing COCO (object detection / instance segmentation JSON) for image data rows, and volume slices in 2-D.

Boxes are ``bbox`` [x, y, width, height]; polygons ``segmentation`` [[x1, y1, ...]] with their box and area;
masks ``segmentation`` RLE (pycocotools' column-major run lengths, compressed counts string) with box and area;
points ``keypoints`` [x, y, 2]. Categories come from the ontology (or the features used), ids from 1 in order.
With option ``slices`` (axial, coronal, sagittal), a DICOM or NIfTI data row becomes one image per frame of that
plane that holds annotations, named ``<row>/<plane>/<frame>.png`` (frame 0-based, 4 digits): objects drawn on
that plane and each volume object's voxels on that slice (an RLE mask per object and slice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Problem, Sink, WriteContext, WriteReport, open_sink
from labelport.formats.coco import fields as f
from labelport.formats.rows import geometry_problem, merged_rows, row_name
from labelport.formats.segments import annotations_of, item_segments, plane_image
from labelport.imaging.codecs import encode_coco_rle
from labelport.imaging.grids import grid_from_attributes
from labelport.imaging.planes import PlaneView
from labelport.model.annotation import AnyAnnotation, ClassificationAnnotation, ObjectAnnotation, TrackedObject
from labelport.model.geometry import Mask, Point, Polygon, Rectangle
from labelport.model.item import LabeledItem
from labelport.model.media import MediaType, PlaneGroup
from labelport.model.ontology import Ontology, ToolType

_COCO_TOOLS = (ToolType.BBOX, ToolType.POLYGON, ToolType.RASTER_SEGMENTATION, ToolType.POINT)


def parse_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``slices``: a plane (axial, coronal, sagittal) to export volumes as per-slice 2-D images."""
    unknown = sorted(set(raw) - {"slices"})
    if unknown:
        raise ValidationError(f"unknown COCO option {unknown[0]!r}; it takes slices", field=unknown[0])
    slices = raw.get("slices")
    return {"slices": PlaneGroup.parse(slices) if slices else None}


class _Categories:
    def __init__(self, ontology: Ontology | None) -> None:
        self.ids: dict[str, int] = {}
        self.entries: list[dict[str, Any]] = []
        for tool in ontology.tools if ontology else ():
            if tool.type in _COCO_TOOLS:
                self.id(tool.name, tool.schema_id)

    def id(self, name: str | None, schema_id: str | None) -> int:
        key = name or schema_id or "object"
        if key not in self.ids:
            self.ids[key] = len(self.entries) + 1
            entry: dict[str, Any] = {f.ID: self.ids[key], f.NAME: key, f.SUPERCATEGORY: "object"}
            if schema_id:
                entry[f.SCHEMA_ID] = schema_id
            self.entries.append(entry)
        return self.ids[key]


class _Document:
    def __init__(self, ctx: WriteContext, report: WriteReport, slices: PlaneGroup | None) -> None:
        self.ctx = ctx
        self.report = report
        self.slices = slices
        self.categories = _Categories(ctx.ontology)
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []

    def image(self, entry: dict[str, Any]) -> int:
        image_id = len(self.images) + 1
        self.images.append({f.ID: image_id, **entry})
        return image_id

    def annotation(self, image_id: int, annotation: Any, body: dict[str, Any], uuid: str, **extra: Any) -> None:
        category = self.categories.id(annotation.name, annotation.schema_id)
        entry: dict[str, Any] = {
            f.ID: len(self.annotations) + 1,
            f.IMAGE_ID: image_id,
            f.CATEGORY_ID: category,
            f.ISCROWD: 0,
        }
        entry.update(body)
        if getattr(annotation, "confidence", None) is not None:
            entry[f.SCORE] = annotation.confidence
        entry[f.ATTRIBUTES] = {f.UUID: uuid, **extra}
        self.annotations.append(entry)
        self.report.annotations += 1


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """One COCO JSON document of every item (images, annotations, categories) to a file or stream."""
    context = ctx or WriteContext()
    slices = parse_options(context.options)["slices"]
    report = WriteReport()
    document = _Document(context, report, slices)
    for item in merged_rows(items):
        try:
            _item(item, document)
        except LabelportError as exc:
            report.problems.append(Problem(Location(), f"data row {item.data_row}: {exc}", data_row=item.data_row))
    with open_sink(sink) as handle:
        handle.write(
            orjson.dumps(
                {
                    f.INFO: {"description": "labelport COCO export"},
                    f.IMAGES: document.images,
                    f.ANNOTATIONS: document.annotations,
                    f.CATEGORIES: document.categories.entries,
                },
                option=orjson.OPT_SERIALIZE_NUMPY,
            )
        )
    return report


def _item(item: LabeledItem, document: _Document) -> None:
    media = item.media
    annotations = annotations_of(item)
    if media is not None and media.media_type in (MediaType.DICOM, MediaType.NIFTI):
        _volume(item, document, annotations)
        return
    if media is not None and media.media_type is MediaType.VIDEO:
        if annotations:
            document.report.lose(item, "video annotations", "COCO holds still images", len(annotations))
        return
    attributes = media.media_attributes if media else None
    width = attributes.width if attributes else None
    height = attributes.height if attributes else None
    if (width is None or height is None) and annotations:
        width, height = _size_from_masks(annotations, document)
    if width is None or height is None:
        raise ValidationError("the image's width and height are not known (no media attributes, no mask)")
    image_id = document.image(
        {
            f.FILE_NAME: _file_name(item),
            f.WIDTH: width,
            f.HEIGHT: height,
            f.DATA_ROW: item.data_row.as_dict(),
        }
    )
    document.report.items += 1
    for annotation in annotations:
        if isinstance(annotation, ObjectAnnotation) and annotation.placement.frame is None:
            body = _body(annotation.geometry, document, item, height, width)
            if body is not None:
                document.annotation(image_id, annotation, body, annotation.uuid)
        else:
            _lose(item, annotation, document)


def _file_name(item: LabeledItem) -> str:
    media = item.media
    if media is not None and not media.row_data.startswith("["):
        return media.row_data.replace("\\", "/").rsplit("/", 1)[-1]
    return row_name(item)


def _size_from_masks(annotations: list[AnyAnnotation], document: _Document) -> tuple[int | None, int | None]:
    for annotation in annotations:
        if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
            image = plane_image(document.ctx.pixels, annotation.geometry.source)
            return int(image.shape[1]), int(image.shape[0])
    return None, None


def _body(geometry: Any, document: _Document, item: LabeledItem, height: int, width: int) -> dict[str, Any] | None:
    if isinstance(geometry, Rectangle):
        box = [geometry.start.x, geometry.start.y, geometry.width, geometry.height]
        return {f.BBOX: box, f.AREA: geometry.width * geometry.height, f.SEGMENTATION: []}
    if isinstance(geometry, Polygon):
        points = np.array([[p.x, p.y] for p in geometry.points[:-1]], dtype=np.float64)
        return {
            f.SEGMENTATION: [points.ravel().tolist()],
            f.BBOX: _box(points),
            f.AREA: _shoelace(points),
        }
    if isinstance(geometry, Point):
        return {f.KEYPOINTS: [geometry.x, geometry.y, 2], f.NUM_KEYPOINTS: 1, f.BBOX: [geometry.x, geometry.y, 0, 0]}
    if isinstance(geometry, Mask):
        image = plane_image(document.ctx.pixels, geometry.source)
        mask = image != 0 if image.ndim == 2 else np.all(image[..., :3] == np.asarray(geometry.color), axis=-1)
        if mask.shape != (height, width):
            raise ValidationError(
                f"mask is {mask.shape[1]} x {mask.shape[0]} px but the image is {width} x {height} px", field="mask"
            )
        return _mask_body(mask)
    document.report.lose(item, type(geometry).__name__, "COCO holds boxes, polygons, masks and points")
    return None


def _mask_body(mask: npt.NDArray[np.bool_]) -> dict[str, Any]:
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    box = (
        [float(columns[0]), float(rows[0]), float(columns[-1] - columns[0] + 1), float(rows[-1] - rows[0] + 1)]
        if rows.size
        else [0.0, 0.0, 0.0, 0.0]
    )
    return {f.SEGMENTATION: encode_coco_rle(mask), f.AREA: int(mask.sum()), f.BBOX: box}


def _box(points: npt.NDArray[np.float64]) -> list[float]:
    low, high = points.min(axis=0), points.max(axis=0)
    return [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])]


def _shoelace(points: npt.NDArray[np.float64]) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _lose(item: LabeledItem, annotation: AnyAnnotation, document: _Document) -> None:
    if isinstance(annotation, ClassificationAnnotation):
        document.report.lose(item, "classification", "COCO has no image-level classifications")
    elif isinstance(annotation, TrackedObject):
        document.report.lose(item, "track", "COCO holds still images, not tracks across frames")
    else:
        kind = type(getattr(annotation, "geometry", annotation)).__name__
        document.report.lose(item, kind, "COCO has no place for it")


def _volume(item: LabeledItem, document: _Document, annotations: list[AnyAnnotation]) -> None:
    """A volume's annotations as per-slice 2-D images of the chosen plane."""
    if not annotations:
        return
    plane = document.slices
    if plane is None:
        document.report.lose(
            item,
            "volume annotations",
            "COCO holds 2-D images; choose a plane to export slices (option slices=axial|coronal|sagittal)",
            len(annotations),
        )
        return
    reason = geometry_problem(item)
    if reason is not None or item.media is None:
        raise ValidationError(f"cannot cut slices: {reason}")
    grid = grid_from_attributes(item.media.media_attributes)
    view = PlaneView.of(grid, plane)
    found = item_segments(item, grid, document.ctx.pixels, annotations)
    per_frame: dict[int, list[tuple[Any, dict[str, Any], str, dict[str, Any]]]] = {}
    for segment in found.segments:
        stack = view.stack(segment.mask())
        for frame in (int(v) for v in np.flatnonzero(stack.reshape(stack.shape[0], -1).any(axis=1))):
            uuid = _slice_uuid(segment.uuid, frame)
            per_frame.setdefault(frame, []).append((segment, _mask_body(stack[frame]), uuid, {f.OBJECT: segment.uuid}))
    for annotation in found.others:
        if (
            isinstance(annotation, ObjectAnnotation)
            and annotation.placement.group is plane
            and annotation.placement.frame is not None
        ):
            body = _body(annotation.geometry, document, item, view.height, view.width)
            if body is not None:
                per_frame.setdefault(annotation.placement.frame, []).append((annotation, body, annotation.uuid, {}))
        elif isinstance(annotation, ObjectAnnotation) and annotation.placement.group is not None:
            document.report.lose(
                item, f"{annotation.placement.group.value} drawing", f"only the {plane.value} slices are exported"
            )
        else:
            _lose(item, annotation, document)
    name = row_name(item)
    for frame in sorted(per_frame):
        image_id = document.image(
            {
                f.FILE_NAME: f"{name}/{plane.value}/{frame:04d}.png",
                f.WIDTH: view.width,
                f.HEIGHT: view.height,
                f.DATA_ROW: item.data_row.as_dict(),
                f.PLANE: plane.value,
                f.FRAME: frame,
            }
        )
        for annotation, body, uuid, extra in per_frame[frame]:
            document.annotation(image_id, annotation, body, uuid, **extra)
    document.report.items += 1


def _slice_uuid(uuid: str, frame: int) -> str:
    """The uuid of one slice of a volume object (the object's own uuid is kept in ``attributes.object``)."""
    import uuid as uuid_module

    return str(uuid_module.uuid5(uuid_module.UUID(uuid), f"slice {frame}"))


__all__ = ["parse_options", "write"]
