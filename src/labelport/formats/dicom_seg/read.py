"""Reading DICOM SEG (ours and other tools'): each frame placed on a voxel grid by its own position.

With the referenced series known (``ctx.options["series"]``: its ``DataRow``), frames land on the series' grid;
a SEG referencing another series is refused. Without it, the grid is the SEG's own (its orientation, pixel
spacing and slice spacing, spanning its frames), and an importer puts the volume onto the data row's grid
(``imaging.grids.embed_on_grid``: axis permutations, flips and whole-voxel offsets, never resampling). Frames
may be cropped, skip empty slices or run in any order; each is placed from its ImagePositionPatient, so no
frame order is assumed. BINARY, FRACTIONAL (a voxel belongs where it holds at least half the maximum) and
LABELMAP segmentations are read; overlapping segments keep their overlap (a value of its own, listed by each).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError, ValidationError
from labelport.formats.base import Problem, ReadContext, Source
from labelport.formats.dicom_support import read_objects
from labelport.formats.series import (
    read_private,
    referenced_series_uid,
    row_key_of,
    series_for,
    stable_uuid,
    uid_to_uuid,
)
from labelport.imaging.grids import affine_text, grid_from_attributes, volume_grid
from labelport.imaging.volume import Grid
from labelport.model.annotation import VolumeMask
from labelport.model.geometry import VolumeSource
from labelport.model.item import LabeledItem
from labelport.model.label import Label
from labelport.model.media import DataRow
from labelport.model.ontology import Code, Ontology, Tool, ToolType
from labelport.model.pixels import Pixels

SEG_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.66.4": "DICOM SEG (Segmentation Storage)",
    "1.2.840.10008.5.1.4.1.1.66.7": "DICOM SEG (Label Map Segmentation Storage)",
}
# A frame position off the grid by more than this fraction of a voxel is not on it.
GRID_TOLERANCE = 0.01


@dataclass
class _Frame:
    index: int  # 0-based frame of the SEG
    segment: int | None  # None: a LABELMAP frame (pixel value = segment number)
    position: npt.NDArray[np.float64]
    row_dir: npt.NDArray[np.float64]
    col_dir: npt.NDArray[np.float64]
    spacing: tuple[float, float]  # (between rows, between columns)


def read(source: Source, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    """One item per SEG of ``source`` (a file, a folder of SEG files, bytes or a stream)."""
    return read_objects(source, ctx, SEG_CLASSES, "a DICOM SEG", item_of)


def item_of(ds: Any, name: str, ctx: ReadContext) -> LabeledItem:
    """The item a SEG holds: its data row and one ``VolumeMask`` per segment."""
    private = read_private(ds)
    key = row_key_of(ds, private)
    series = series_for(ctx.options, key, referenced_series_uid(ds))
    if series is not None:
        _check_series(ds, series, name)
        grid = grid_from_attributes(series.media_attributes)
        on_series = True
    else:
        grid = _own_grid(ds, name)
        on_series = False
    labelmap = str(ds.get("SegmentationType", "BINARY")).upper() == "LABELMAP"
    frames = _frames(ds, name, labelmap)
    pixels = _pixels(ds, len(frames))
    # A LABELMAP may describe its background as segment 0; it is no object.
    descriptions = {int(s.SegmentNumber): s for s in ds.get("SegmentSequence", ()) if int(s.SegmentNumber) > 0}
    if not descriptions:
        raise MediaError(f"{name}: the SEG describes no segment (SegmentSequence is empty)", path=name)
    threshold = _threshold(ds)
    volume, values = _place(frames, pixels, grid, sorted(descriptions), threshold, name)
    sop = str(ds.get("SOPInstanceUID", name))
    source = VolumeSource(
        pixels=Pixels.of(volume, key=f"dicom-seg:{sop}"), grid=None if on_series else volume_grid(grid)
    )
    ids: dict[str, Any] = private.get("segments") or {}
    annotations = []
    tools: dict[str, Tool] = {}
    for number in sorted(descriptions):
        description = descriptions[number]
        mine = ids.get(str(number)) or {}
        label = str(description.get("SegmentLabel") or f"segment {number}")
        uuid = (
            mine.get("uuid")
            or uid_to_uuid(str(description.get("TrackingUID", "")) or None)
            or stable_uuid("dicom-seg", sop, number)
        )
        color = _rgb(description.get("RecommendedDisplayCIELabValue"))
        schema_id = mine.get("schema_id")
        annotations.append(
            VolumeMask(
                uuid=uuid,
                source=source,
                values=values[number],
                name=mine.get("name") or label,
                schema_id=schema_id,
                color=color,
            )
        )
        feature = mine.get("name") or label
        if feature not in tools:
            tools[feature] = Tool(
                ToolType.RASTER_SEGMENTATION,
                feature,
                schema_id=schema_id or stable_uuid("feature", feature),
                color="#{:02x}{:02x}{:02x}".format(*color) if color else None,
                category=_code(description.get("SegmentedPropertyCategoryCodeSequence")),
                property_type=_code(description.get("SegmentedPropertyTypeCodeSequence")),
            )
    ontology = Ontology(f"DICOM SEG {sop}", tools=tuple(tools.values()))
    return LabeledItem(
        key,
        (Label(ctx.label_kind, tuple(annotations)),),
        media=series,
        ontology=ontology,
        file=name,
    )


def _check_series(ds: Any, series: DataRow, name: str) -> None:
    referenced = referenced_series_uid(ds)
    expected = series.media_attributes.series_instance_uid
    if referenced is not None and expected is not None and referenced != expected:
        raise ValidationError(
            f"{name}: the SEG references series {referenced}, but the series given is {expected} "
            f"({series.row_data}); give the series the SEG was made on",
            field="ReferencedSeriesSequence",
            value=referenced,
        )
    frame_of_reference = str(ds.get("FrameOfReferenceUID", ""))
    del frame_of_reference  # the grid check below places every frame; a foreign frame of reference misses it


def _functional(ds: Any, item: Any, name: str) -> Any:
    for holder in (item, (ds.get("SharedFunctionalGroupsSequence") or [None])[0]):
        if holder is None:
            continue
        seq = holder.get(name)
        if seq:
            return seq[0]
    return None


def _frames(ds: Any, name: str, labelmap: bool) -> list[_Frame]:
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if not per_frame or len(per_frame) != count:
        raise MediaError(
            f"{name}: the SEG has {count} frames but {len(per_frame or ())} per-frame functional groups; "
            "its frames cannot be placed",
            path=name,
        )
    frames = []
    for index, item in enumerate(per_frame):
        where = f"{name} frame {index + 1}"
        position = _functional(ds, item, "PlanePositionSequence")
        orientation = _functional(ds, item, "PlaneOrientationSequence")
        measures = _functional(ds, item, "PixelMeasuresSequence")
        if position is None or orientation is None or measures is None:
            raise MediaError(f"{where}: no plane position, orientation or pixel spacing", path=name)
        iop = np.asarray([float(v) for v in orientation.ImageOrientationPatient], dtype=np.float64)
        spacing = [float(v) for v in measures.PixelSpacing]
        segment = None
        if not labelmap:
            identification = _functional(ds, item, "SegmentIdentificationSequence")
            if identification is None:
                raise MediaError(f"{where}: no SegmentIdentificationSequence (which segment it holds)", path=name)
            segment = int(identification.ReferencedSegmentNumber)
        frames.append(
            _Frame(
                index,
                segment,
                np.asarray([float(v) for v in position.ImagePositionPatient], dtype=np.float64),
                iop[:3],
                iop[3:],
                (spacing[0], spacing[1]),
            )
        )
    return frames


def _pixels(ds: Any, count: int) -> npt.NDArray[Any]:
    try:
        array = np.asarray(ds.pixel_array)
    except Exception as exc:
        raise MediaError(f"cannot decode the SEG's pixel data ({exc})") from exc
    return array.reshape((count, *array.shape[-2:]))


def _threshold(ds: Any) -> float:
    """The smallest stored value that counts as inside: 1 for BINARY and LABELMAP, half the maximum for a
    FRACTIONAL segmentation."""
    if str(ds.get("SegmentationType", "")).upper() == "FRACTIONAL":
        return max(1.0, float(ds.get("MaximumFractionalValue", 255)) / 2)
    return 1.0


def _own_grid(ds: Any, name: str) -> Grid:
    """A grid spanning the SEG's frames: its orientation and spacings, origin at the frames' lowest corner."""
    frames = _frames(ds, name, labelmap=str(ds.get("SegmentationType", "")).upper() == "LABELMAP")
    first = frames[0]
    normal = np.cross(first.row_dir, first.col_dir)
    depths = sorted({round(float(f.position @ normal), 4) for f in frames})
    measures = _functional(ds, ds.PerFrameFunctionalGroupsSequence[0], "PixelMeasuresSequence")
    step = measures.get("SpacingBetweenSlices") if measures is not None else None
    if not step and len(depths) > 1:
        step = min(b - a for a, b in itertools.pairwise(depths))
    step = float(step or (measures.get("SliceThickness") if measures is not None else None) or 1.0)
    rows, columns = int(ds.Rows), int(ds.Columns)
    row_step, col_step = first.spacing
    along_x = [float(f.position @ first.row_dir) for f in frames]
    along_y = [float(f.position @ first.col_dir) for f in frames]
    origin = first.row_dir * min(along_x) + first.col_dir * min(along_y) + normal * depths[0]
    shape = (
        round((max(along_x) - min(along_x)) / col_step) + columns,
        round((max(along_y) - min(along_y)) / row_step) + rows,
        round((depths[-1] - depths[0]) / step) + 1,
    )
    affine = np.eye(4)
    affine[:3, 0] = first.row_dir * col_step
    affine[:3, 1] = first.col_dir * row_step
    affine[:3, 2] = normal * step
    affine[:3, 3] = origin
    return Grid(shape, affine)


def _place(
    frames: list[_Frame],
    pixels: npt.NDArray[Any],
    grid: Grid,
    numbers: list[int],
    threshold: float,
    name: str,
) -> tuple[npt.NDArray[Any], dict[int, tuple[int, ...]]]:
    """The label volume on ``grid`` and each segment's values: segment n is value n, each set of overlapping
    segments a value of its own above the highest segment number."""
    top = max(numbers)
    dtype = np.uint8 if top < 200 else np.uint16
    volume = np.zeros(grid.shape, dtype=dtype)
    labels: dict[frozenset[int], int] = {frozenset({n}): n for n in numbers}
    sets: dict[int, frozenset[int]] = {0: frozenset(), **{n: frozenset({n}) for n in numbers}}
    inverse = np.asarray(np.linalg.inv(grid.affine_lps[:3, :3]), dtype=np.float64)
    origin = grid.affine_lps[:3, 3]
    for frame in frames:
        block, image_axes = _target(frame, pixels.shape[1:], inverse, origin, grid, name)
        image = pixels[frame.index]
        placed = np.transpose(image, image_axes)  # [row, column] -> the block's axis order
        region = volume[block]
        present = [frame.segment] if frame.segment is not None else [int(v) for v in np.unique(placed) if v]
        for segment in present:
            if segment not in sets:
                raise MediaError(
                    f"{name} frame {frame.index + 1}: segment {segment} is not described in SegmentSequence",
                    path=name,
                )
            inside = placed >= threshold if frame.segment is not None else placed == segment
            for existing in np.unique(region[inside]):
                owner = sets[int(existing)] | {segment}
                label = labels.get(owner)
                if label is None:
                    label = labels[owner] = max(max(labels.values()), top) + 1
                    sets[label] = owner
                    if label > np.iinfo(volume.dtype).max:
                        volume = volume.astype(np.uint16)
                        region = volume[block]
                region[inside & (region == existing)] = label
    values = {n: tuple(sorted(label for owner, label in labels.items() if n in owner)) for n in numbers}
    return volume, values


def _target(
    frame: _Frame,
    shape: tuple[int, ...],
    inverse: npt.NDArray[np.float64],
    origin: npt.NDArray[np.float64],
    grid: Grid,
    name: str,
) -> tuple[tuple[slice, ...], tuple[int, int]]:
    """Where a frame lands on the grid: the block of voxels (slices) and how to transpose [row, column] into it;
    in-plane flips come out as negative-step slices."""
    rows, columns = int(shape[0]), int(shape[1])
    # Voxel step per image column and per image row, and the voxel of image pixel (0, 0).
    per_column = inverse @ (frame.row_dir * frame.spacing[1])
    per_row = inverse @ (frame.col_dir * frame.spacing[0])
    start = inverse @ (frame.position - origin)
    steps = np.stack([per_row, per_column])  # image axis (0 row, 1 column) -> voxel delta
    signed = np.round(steps)
    ok = (
        np.allclose(steps, signed, atol=GRID_TOLERANCE)
        and bool(np.all(np.abs(signed).sum(axis=1) == 1))
        and np.allclose(start, np.round(start), atol=GRID_TOLERANCE)
    )
    if ok:
        axes = [int(np.flatnonzero(signed[d])[0]) for d in range(2)]
        fixed = ({0, 1, 2} - set(axes)).pop() if axes[0] != axes[1] else None
        if fixed is not None:
            corner = np.round(start).astype(int)
            block: list[slice] = [slice(0, 0)] * 3
            extent = {axes[0]: (rows, int(signed[0, axes[0]])), axes[1]: (columns, int(signed[1, axes[1]]))}
            inside = 0 <= corner[fixed] < grid.shape[fixed]
            block[fixed] = slice(corner[fixed], corner[fixed] + 1)
            for axis, (size, sign) in extent.items():
                first, last = corner[axis], corner[axis] + sign * (size - 1)
                inside = inside and min(first, last) >= 0 and max(first, last) < grid.shape[axis]
                block[axis] = (
                    slice(first, first + size) if sign > 0 else slice(first, None if last == 0 else last - 1, -1)
                )
            if inside:
                # The image's two axes go to voxel axes ``axes``; the fixed axis is a length-1 block.
                order = sorted([(axes[0], 0), (axes[1], 1)])
                image_axes = (order[0][1], order[1][1])
                block_tuple = tuple(block)
                return _with_fixed(block_tuple, fixed), image_axes
    raise MediaError(
        f"{name} frame {frame.index + 1}: at {_vec(frame.position)} with rows along {_vec(frame.col_dir)} and "
        f"columns along {_vec(frame.row_dir)}, it does not lie on the voxel grid of shape {grid.shape} with LPS "
        f"affine\n{affine_text(grid.affine_lps)}",
        path=name,
    )


def _with_fixed(block: tuple[slice, ...], fixed: int) -> tuple[Any, ...]:
    """The block with its fixed axis as an index (the region is 2-D, in voxel axis order)."""
    out: list[Any] = list(block)
    out[fixed] = block[fixed].start
    return tuple(out)


def _vec(values: Any) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in values) + ")"


def _code(sequence: Any) -> Code | None:
    if not sequence:
        return None
    item = sequence[0]
    try:
        return Code(str(item.CodeValue), str(item.CodingSchemeDesignator), str(item.CodeMeaning))
    except (AttributeError, ValidationError):
        return None


def _rgb(lab: Any) -> tuple[int, int, int] | None:
    """The RGB of a RecommendedDisplayCIELabValue (DICOM scaled CIELab, 0..65535), through highdicom when
    installed (it is a runtime dependency of SEG reading)."""
    if not lab:
        return None
    try:
        from highdicom.color import CIELabColor

        color = CIELabColor.from_dicom_value(tuple(int(v) for v in lab))
        red, green, blue = color.to_rgb()
    except (ImportError, ValueError, TypeError):
        return None
    return (int(red), int(green), int(blue))


__all__ = ["SEG_CLASSES", "item_of", "read"]
