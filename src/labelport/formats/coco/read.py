"""Reading COCO JSON: one item per image, its annotations as boxes, polygons, masks and points.

An image names its data row by labelport's ``data_row`` when present, else by its ``file_name``. Images of volume
slices (``plane`` and ``frame``) put their objects on that plane and frame of the row; the slices of one volume
object (``attributes.object``) come back as one track of masks across the frames. An annotation whose image is
missing is a located problem; the others are read.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable, Iterator
from typing import Any

from labelport.errors import Location, ValidationError
from labelport.formats.base import Problem, ReadContext, Source, iter_json_items
from labelport.formats.coco import fields as f
from labelport.formats.series import stable_uuid
from labelport.imaging.codecs import decode_coco_rle
from labelport.model.annotation import Keyframe, ObjectAnnotation, Placement, Segment, TrackedObject
from labelport.model.geometry import Geometry, Mask, Point, Polygon, RasterSource, Rectangle
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import Label
from labelport.model.media import PlaneGroup
from labelport.model.pixels import Pixels


def document_of(source: Source) -> tuple[dict[str, Any] | None, str | None]:
    """The COCO document of ``source`` and its file name, or (None, reason)."""
    items = list(iter_json_items(source))
    if len(items) != 1 or items[0].error is not None or not isinstance(items[0].value, dict):
        return None, "not one JSON object"
    return items[0].value, items[0].file


def read(source: Source, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    document, file = document_of(source)
    if document is None:
        yield Problem(Location(file), "a COCO file is one JSON object with images, annotations and categories")
        return
    try:
        yield from _read(document, file, ctx)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
        # A document whose lists or objects are not of the shapes COCO gives them (a category that is a
        # string, an id that is a list): the document fails with the reason, never with a crash.
        yield Problem(Location(file), f"not a COCO document labelport can read ({type(exc).__name__}: {exc})")


def _read(document: dict[str, Any], file: str | None, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    categories = {c.get(f.ID): c for c in document.get(f.CATEGORIES) or []}
    images = {i.get(f.ID): i for i in document.get(f.IMAGES) or []}
    per_image: dict[Any, list[tuple[int, dict[str, Any]]]] = {key: [] for key in images}
    for index, annotation in enumerate(document.get(f.ANNOTATIONS) or []):
        where = Location(file, None, f"{f.ANNOTATIONS}[{index}]")
        image_id = annotation.get(f.IMAGE_ID) if isinstance(annotation, dict) else None
        if image_id not in images:
            yield Problem(
                where,
                f"annotation {annotation.get(f.ID) if isinstance(annotation, dict) else index!r} references image "
                f"{image_id!r}, which is not in images",
                image_id,
            )
            continue
        per_image[image_id].append((index, annotation))
    rows: dict[DataRowKey, list[Any]] = {}
    tracks: dict[DataRowKey, dict[str, list[tuple[int, Any, Any]]]] = {}
    order: list[DataRowKey] = []
    for image_id, image in images.items():
        key = _key(image)
        if key not in rows:
            rows[key], tracks[key] = [], {}
            order.append(key)
        plane = image.get(f.PLANE)
        frame = image.get(f.FRAME)
        group = PlaneGroup.parse(plane) if plane else None
        for index, annotation in per_image[image_id]:
            where = Location(file, None, f"{f.ANNOTATIONS}[{index}]")
            try:
                category = categories.get(annotation.get(f.CATEGORY_ID)) or {}
                name = category.get(f.NAME)
                schema_id = category.get(f.SCHEMA_ID)
                if name is None and schema_id is None:
                    raise ValidationError(
                        f"category {annotation.get(f.CATEGORY_ID)!r} is not in categories", field=f.CATEGORY_ID
                    )
                attributes = annotation.get(f.ATTRIBUTES) or {}
                uuid = attributes.get(f.UUID) or stable_uuid("coco", file, annotation.get(f.ID), image_id)
                geometries = _geometries(annotation, image)
                owner = attributes.get(f.OBJECT)
                if owner and group is not None and frame is not None:
                    tracks[key].setdefault(owner, []).append((int(frame), geometries[0], (name, schema_id)))
                    continue
                for offset, geometry in enumerate(geometries):
                    rows[key].append(
                        ObjectAnnotation(
                            uuid=uuid if offset == 0 else str(uuid_module.uuid5(uuid_module.UUID(uuid), str(offset))),
                            geometry=geometry,
                            name=name,
                            schema_id=schema_id,
                            placement=Placement(frame=frame, group=group) if group is not None else Placement(),
                            confidence=annotation.get(f.SCORE),
                        )
                    )
            except (ValidationError, TypeError, ValueError, KeyError) as exc:
                yield Problem(where, str(exc), annotation.get(f.ID))
    for key in order:
        annotations = list(rows[key])
        for owner, keyframes in tracks[key].items():
            keyframes.sort(key=lambda k: k[0])
            name, schema_id = keyframes[0][2]
            group = next(PlaneGroup.parse(i[f.PLANE]) for i in images.values() if _key(i) == key and i.get(f.PLANE))
            annotations.append(
                TrackedObject(
                    uuid=owner,
                    segments=(Segment(tuple(Keyframe(frame, geometry) for frame, geometry, _ in keyframes)),),
                    name=name,
                    schema_id=schema_id,
                    group=group,
                )
            )
        yield LabeledItem(key, (Label(ctx.label_kind, tuple(annotations)),) if annotations else (), file=file)


def _key(image: dict[str, Any]) -> DataRowKey:
    raw = image.get(f.DATA_ROW)
    if isinstance(raw, dict):
        try:
            return DataRowKey.from_dict(raw)
        except ValidationError:
            pass
    name = str(image.get(f.FILE_NAME) or image.get(f.ID))
    return DataRowKey(names=(name,))


def _decoder(rle: dict[str, Any]) -> Callable[[], Any]:
    return lambda: decode_coco_rle(rle)


def _geometries(annotation: dict[str, Any], image: dict[str, Any]) -> list[Geometry]:
    segmentation = annotation.get(f.SEGMENTATION)
    if isinstance(segmentation, dict):
        rle = dict(segmentation)
        if f.SIZE not in rle:
            rle[f.SIZE] = [image.get(f.HEIGHT), image.get(f.WIDTH)]
        counts = rle.get(f.COUNTS)
        key = f"coco-rle:{rle[f.SIZE]}:{counts if isinstance(counts, str) else hash(tuple(counts or ()))}"
        return [Mask(RasterSource(pixels=Pixels(_decoder(rle), key)), (255, 255, 255))]
    if isinstance(segmentation, list) and segmentation:
        out: list[Geometry] = []
        for ring in segmentation:
            values = [float(v) for v in ring]
            out.append(Polygon(tuple(Point(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2))))
        return out
    keypoints = annotation.get(f.KEYPOINTS)
    if keypoints and len(keypoints) >= 2 and annotation.get(f.NUM_KEYPOINTS, 1) == 1:
        return [Point(float(keypoints[0]), float(keypoints[1]))]
    box = annotation.get(f.BBOX)
    if isinstance(box, list) and len(box) == 4:
        x, y, w, h = (float(v) for v in box)
        return [Rectangle(Point(x, y), Point(x + w, y + h))]
    raise ValidationError("the annotation has no segmentation, keypoints or bbox", field=f.SEGMENTATION)


__all__ = ["document_of", "read"]
