"""Segments of an item: the voxels each of its mask annotations covers, on the data row's grid.

The imaging standards that hold voxels (NIfTI label maps, DICOM SEG, RTSTRUCT, COCO slices) all start here.
A segment is one annotation: a ``VolumeMask`` (voxels of a label volume whose value is one of its values), one
instance of Labelbox-style composite ``FrameMasks`` on a DICOM plane, or a ``Mask`` object (or track of masks)
drawn on slices of a plane. Label volumes several segments share are loaded once, and ``label_map`` combines
the segments into one label volume with a value per segment and, where segments overlap, a value per overlap
(RedBrick's overlapping groups), so no voxel is lost.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.formats.base import PixelStore
from labelport.imaging.grids import grid_of_volume_grid, volume_on_grid
from labelport.imaging.planes import PlaneView
from labelport.imaging.volume import Grid
from labelport.model.annotation import AnyAnnotation, FrameMasks, ObjectAnnotation, TrackedObject, VolumeMask
from labelport.model.encoded import EncodedAnnotation, decoded
from labelport.model.geometry import Mask, RasterSource, VolumeSource
from labelport.model.item import LabeledItem
from labelport.model.media import DataRow, PlaneGroup
from labelport.model.ontology import Ontology, Tool

Array = npt.NDArray[Any]


@dataclass(eq=False)
class Segment:
    """One mask annotation's voxels: those of ``volume`` (shared, [column, row, slice]) whose value is in
    ``values``. ``number`` is its 1-based position among the item's segments."""

    number: int
    uuid: str
    name: str | None
    schema_id: str | None
    volume: Array
    values: tuple[int, ...]
    color: tuple[int, int, int] | None = None
    group: PlaneGroup | None = None
    annotation: AnyAnnotation | None = None

    @property
    def feature(self) -> str:
        """The feature name (the schema id where the input gave no name)."""
        return self.name or self.schema_id or f"segment {self.number}"

    def mask(self) -> npt.NDArray[np.bool_]:
        if len(self.values) == 1:
            return np.asarray(self.volume == self.values[0])
        return np.isin(self.volume, self.values)


@dataclass
class ItemSegments:
    """The segments of an item and the annotations that are not masks (for the writer to place or drop)."""

    segments: list[Segment] = field(default_factory=list)
    others: list[AnyAnnotation] = field(default_factory=list)


def annotations_of(item: LabeledItem) -> list[AnyAnnotation]:
    """Every annotation of the item's labels, decoded, in order."""
    out: list[AnyAnnotation] = []
    for label in item.labels:
        out.extend(decoded(a) if isinstance(a, EncodedAnnotation) else a for a in label.annotations)
    return out


def instance_uuid(uuid: str, index: int) -> str:
    """The uuid of instance ``index`` of composite masks: the first keeps the masks' uuid, the others derive one
    from it (the rule the importer applies, so an export and a conversion name the same objects)."""
    return uuid if index == 0 else str(uuid_module.uuid5(uuid_module.UUID(uuid), str(index)))


class _Volumes:
    """Label volumes by source, each loaded once."""

    def __init__(self, grid: Grid, media: DataRow | None, pixels: PixelStore | None) -> None:
        self.grid = grid
        self.media = media
        self.pixels = pixels
        self.loaded: dict[str, Array] = {}

    def of(self, source: VolumeSource) -> Array:
        pixels_key = source.pixels.key if source.pixels is not None else ""
        key = source.blob or (f"uri:{source.uri}" if source.uri else f"pixels:{pixels_key}")
        if key not in self.loaded:
            self.loaded[key] = self._load(source)
        return self.loaded[key]

    def _load(self, source: VolumeSource) -> Array:
        if source.pixels is not None:
            return volume_on_grid(source, self.grid, _no_files)
        if self.pixels is None:
            raise ValidationError("the label volume is stored, and this writer has no access to stored pixels")
        array = np.asarray(self.pixels.volume(source, self.media))
        if tuple(array.shape) != self.grid.shape:
            raise ValidationError(
                f"label volume of shape {tuple(array.shape)} does not lie on the series grid {self.grid.shape}",
                field="mask",
                value=list(array.shape),
            )
        return array


def _no_files(uri: str) -> Any:
    raise ValidationError(f"label volume {uri!r} is a file; this writer reads label volumes through its pixel store")


def plane_image(pixels: PixelStore | None, source: RasterSource) -> Array:
    """A mask image [row, column] (grey) or [row, column, 3] (composite) from any raster source."""
    if source.pixels is not None:
        return np.asarray(source.pixels.array())
    if pixels is None:
        raise ValidationError("the mask is stored or in a file, and this writer has no access to pixels")
    return np.asarray(pixels.plane(source))


def _selected(image: Array, color: tuple[int, int, int]) -> npt.NDArray[np.bool_]:
    """Pixels of a mask image that belong to ``color``: any non-zero pixel of a grey mask, the colour of a
    composite one."""
    if image.ndim == 2:
        return np.asarray(image != 0)
    return np.asarray(np.all(image[..., :3] == np.asarray(color, dtype=image.dtype), axis=-1))


def item_segments(
    item: LabeledItem, grid: Grid, pixels: PixelStore | None, annotations: Sequence[AnyAnnotation] | None = None
) -> ItemSegments:
    """The segments of an item on ``grid`` (the data row's), and its other annotations.

    Raises ValidationError when a mask does not fit the grid (a label volume of another shape, a slice image of
    another size).
    """
    volumes = _Volumes(grid, item.media, pixels)
    result = ItemSegments()
    views: dict[PlaneGroup, PlaneView] = {}

    def view(group: PlaneGroup) -> PlaneView:
        if group not in views:
            views[group] = PlaneView.of(grid, group)
        return views[group]

    drawn: dict[
        str, tuple[Array, ObjectAnnotation | TrackedObject, PlaneGroup]
    ] = {}  # uuid -> volume of masks drawn on slices
    for annotation in annotations if annotations is not None else annotations_of(item):
        if isinstance(annotation, VolumeMask):
            result.segments.append(
                Segment(
                    len(result.segments) + 1,
                    annotation.uuid,
                    annotation.name,
                    annotation.schema_id,
                    volumes.of(annotation.source),
                    annotation.values,
                    annotation.color,
                    annotation.group,
                    annotation,
                )
            )
        elif isinstance(annotation, FrameMasks) and annotation.group is not None:
            plane = view(annotation.group)
            composite = np.zeros(grid.shape, dtype=np.uint8 if len(annotation.instances) < 256 else np.uint16)
            for frame in annotation.frames:
                image = plane_image(pixels, frame.source)
                _check_plane(image, plane, frame.frame)
                flat = np.zeros(image.shape[:2], dtype=composite.dtype)
                for index, instance in enumerate(annotation.instances):
                    flat[_selected(image, instance.color)] = index + 1
                plane.insert(composite, frame.frame, flat)
            for index, instance in enumerate(annotation.instances):
                result.segments.append(
                    Segment(
                        len(result.segments) + 1,
                        instance_uuid(annotation.uuid, index),
                        instance.name,
                        instance.schema_id,
                        composite,
                        (index + 1,),
                        instance.color,
                        annotation.group,
                        annotation,
                    )
                )
        elif isinstance(annotation, ObjectAnnotation | TrackedObject) and _slice_masks(annotation):
            group = annotation.placement.group if isinstance(annotation, ObjectAnnotation) else annotation.group
            if group is None:
                raise ValidationError("a mask on a DICOM series needs a plane", field="plane")
            plane = view(group)
            target = drawn.get(annotation.uuid)
            array = target[0] if target else np.zeros(grid.shape, dtype=np.uint8)
            for index, geometry in _mask_frames(annotation):
                image = plane_image(pixels, geometry.source)
                _check_plane(image, plane, index)
                current = plane.extract(array, index).copy()
                current[_selected(image, geometry.color)] = 1
                plane.insert(array, index, current)
            if target is None:
                drawn[annotation.uuid] = (array, annotation, group)
                result.segments.append(
                    Segment(
                        len(result.segments) + 1,
                        annotation.uuid,
                        annotation.name,
                        annotation.schema_id,
                        array,
                        (1,),
                        None,
                        group,
                        annotation,
                    )
                )
        else:
            result.others.append(annotation)
    return result


def _slice_masks(annotation: AnyAnnotation) -> bool:
    """A mask object on a slice of a plane, or a track of masks across slices."""
    if isinstance(annotation, ObjectAnnotation):
        placement = annotation.placement
        return isinstance(annotation.geometry, Mask) and placement.group is not None and placement.frame is not None
    if isinstance(annotation, TrackedObject):
        return annotation.group is not None and all(isinstance(k.geometry, Mask) for k in annotation.keyframes)
    return False


def _mask_frames(annotation: AnyAnnotation) -> Iterable[tuple[int, Mask]]:
    if isinstance(annotation, ObjectAnnotation):
        assert annotation.placement.frame is not None and isinstance(annotation.geometry, Mask)
        yield annotation.placement.frame, annotation.geometry
    elif isinstance(annotation, TrackedObject):
        for keyframe in annotation.keyframes:
            assert isinstance(keyframe.geometry, Mask)
            yield keyframe.frame, keyframe.geometry


def _check_plane(image: Array, plane: PlaneView, frame: int) -> None:
    if tuple(image.shape[:2]) != (plane.height, plane.width):
        raise ValidationError(
            f"mask of {plane.plane.value} frame {frame + 1} is {image.shape[1]} x {image.shape[0]} px but a slice "
            f"of the {plane.plane.value} plane of this series is {plane.width} x {plane.height} px",
            field="mask",
            value=[image.shape[1], image.shape[0]],
        )
    if not 0 <= frame < plane.frames:
        raise ValidationError(
            f"mask frame {frame + 1} is out of range: the {plane.plane.value} plane has frames 1 to {plane.frames}",
            field="frame",
            value=frame + 1,
        )


@dataclass(eq=False)
class LabelMap:
    """Segments combined into one label volume [column, row, slice]: segment i's voxels are those whose value is
    in ``values[i]``; a value shared by several segments marks their overlap."""

    array: Array
    values: list[tuple[int, ...]]

    @property
    def overlaps(self) -> bool:
        seen: set[int] = set()
        for values in self.values:
            if seen.intersection(values):
                return True
            seen.update(values)
        return False


def label_map(segments: Sequence[Segment], grid: Grid) -> LabelMap:
    """One label volume for all segments: segment ``number`` n is value n, and each set of overlapping segments
    gets a value of its own after them (uint8, or uint16 above 255 values).

    Segments that share one source volume are remapped with one table look-up (no per-segment pass).
    """
    if not segments:
        return LabelMap(np.zeros(grid.shape, dtype=np.uint8), [])
    sources = {id(s.volume) for s in segments}
    if len(sources) == 1 and np.issubdtype(segments[0].volume.dtype, np.integer):
        return _remapped(segments)
    return _combined(segments, grid)


def _remapped(segments: Sequence[Segment]) -> LabelMap:
    source = segments[0].volume
    owners: dict[int, frozenset[int]] = {}
    for segment in segments:
        for value in segment.values:
            owners[value] = owners.get(value, frozenset()) | {segment.number}
    labels: dict[frozenset[int], int] = {frozenset({s.number}): s.number for s in segments}
    for owner in sorted(set(owners.values()), key=sorted):
        if owner not in labels:
            labels[owner] = len(labels) + 1
    top = int(source.max()) if source.size else 0
    dtype = np.uint8 if len(labels) < 256 else np.uint16
    lut = np.zeros(max(top, max(owners)) + 1, dtype=dtype)
    for value, owner in owners.items():
        lut[value] = labels[owner]
    if np.array_equal(lut[: top + 1], np.arange(top + 1)):
        array = source if source.dtype == dtype else source.astype(dtype)
    else:
        array = lut[source]
    values = [tuple(sorted(label for owner, label in labels.items() if s.number in owner)) for s in segments]
    return LabelMap(array, values)


def _combined(segments: Sequence[Segment], grid: Grid) -> LabelMap:
    labels: dict[frozenset[int], int] = {frozenset({s.number}): s.number for s in segments}
    sets: dict[int, frozenset[int]] = {0: frozenset()}
    array = np.zeros(grid.shape, dtype=np.uint16 if len(segments) > 200 else np.uint8)
    for segment in segments:
        mask = segment.mask()
        for existing in np.unique(array[mask]):
            owner = sets[int(existing)] | {segment.number}
            if owner not in labels:
                labels[owner] = len(labels) + 1
            label = labels[owner]
            if label > np.iinfo(array.dtype).max:
                array = array.astype(np.uint16)
            sets[label] = owner
            array[mask & (array == existing)] = label
    values = [tuple(sorted(label for owner, label in labels.items() if s.number in owner)) for s in segments]
    return LabelMap(array, values)


def feature_tool(name: str | None, schema_id: str | None, *ontologies: Ontology | None) -> Tool | None:
    """The ontology tool of a feature, looked up in each ontology given (the caller's, the item's)."""
    for ontology in ontologies:
        if ontology is None:
            continue
        tool = ontology.find_tool(schema_id=schema_id) if schema_id else None
        if tool is None and name:
            tool = ontology.find_tool(name=name)
        if tool is not None:
            return tool
    return None


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def parse_hex_color(text: str | None) -> tuple[int, int, int] | None:
    """An (r, g, b) triple from ``#rrggbb`` (an ontology tool's colour), or None when it is not one."""
    if not text or not isinstance(text, str):
        return None
    digits = text.strip().lstrip("#")
    if len(digits) != 6:
        return None
    try:
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    except ValueError:
        return None


def segment_color(segment: Segment, *ontologies: Ontology | None) -> tuple[int, int, int] | None:
    """The display colour of a segment: its own, else its feature's in the ontology."""
    if segment.color is not None:
        return segment.color
    tool = feature_tool(segment.name, segment.schema_id, *ontologies)
    return parse_hex_color(tool.color) if tool is not None else None


def grid_of(source: VolumeSource) -> Grid | None:
    return grid_of_volume_grid(source.grid) if source.grid is not None else None


__all__ = [
    "ItemSegments",
    "LabelMap",
    "Segment",
    "annotations_of",
    "feature_tool",
    "hex_color",
    "instance_uuid",
    "item_segments",
    "label_map",
    "parse_hex_color",
    "plane_image",
    "segment_color",
]
