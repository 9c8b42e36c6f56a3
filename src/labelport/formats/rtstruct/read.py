"""Reading RTSTRUCT (ours and other tools') onto the referenced series' grid: contours rasterised per slice.

Each contour's points (patient LPS mm) go through the inverse of the series' affine; they must lie on one
slice of the grid (within ``PLANE_TOLERANCE`` of a slice), or the file is refused naming the ROI, the contour
and where it lies. Contours of one slice combine by XOR (holes), and points on a contour count as inside.
Each ROI becomes one ``VolumeMask``; ROIs that overlap keep their overlap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError, ValidationError
from labelport.formats.base import Problem, ReadContext, Source
from labelport.formats.dicom_support import read_objects
from labelport.formats.rtstruct.contours import fill
from labelport.formats.rtstruct.write import RTSTRUCT_STORAGE
from labelport.formats.segments import Segment, label_map
from labelport.formats.series import read_private, referenced_series_uid, row_key_of, series_for, stable_uuid
from labelport.imaging.grids import grid_from_attributes
from labelport.model.annotation import VolumeMask
from labelport.model.geometry import VolumeSource
from labelport.model.item import LabeledItem
from labelport.model.label import Label
from labelport.model.ontology import Ontology, Tool, ToolType
from labelport.model.pixels import Pixels

# A contour more than this fraction of the slice spacing away from every slice is off the grid.
PLANE_TOLERANCE = 0.05


def read(source: Source, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    """One item per RTSTRUCT of ``source`` (a file, a folder, bytes or a stream); needs the series (``series``)."""
    return read_objects(source, ctx, (RTSTRUCT_STORAGE,), "an RTSTRUCT", item_of)


def item_of(ds: Any, name: str, ctx: ReadContext) -> LabeledItem:
    private = read_private(ds)
    key = row_key_of(ds, private)
    referenced = referenced_series_uid(ds)
    series = series_for(ctx.options, key, referenced)
    if series is None:
        raise ValidationError(
            f"{name}: an RTSTRUCT's contours are placed on the series it references ({referenced}); give that "
            "series (`labelport convert ... --series DIR`)",
            field="series",
        )
    expected = series.media_attributes.series_instance_uid
    if referenced is not None and expected is not None and referenced != expected:
        raise ValidationError(
            f"{name}: the RTSTRUCT references series {referenced}, but the series given is {expected}",
            field="RTReferencedSeriesSequence",
            value=referenced,
        )
    grid = grid_from_attributes(series.media_attributes)
    names = {
        int(r.ROINumber): str(r.get("ROIName") or f"ROI {r.ROINumber}") for r in ds.get("StructureSetROISequence", ())
    }
    ids: dict[str, Any] = private.get("rois") or {}
    segments: list[Segment] = []
    colors: list[tuple[int, int, int] | None] = []
    uuids: list[str] = []
    sop = str(ds.get("SOPInstanceUID", name))
    for roi in ds.get("ROIContourSequence", ()):
        number = int(roi.ReferencedROINumber)
        roi_name = names.get(number, f"ROI {number}")
        mask = _rasterise(roi, grid, roi_name, name)
        mine = ids.get(str(number)) or {}
        known = mine.get("uuids") or []
        uuids.append(known[0] if len(known) == 1 else stable_uuid("rtstruct", sop, number))
        segments.append(
            Segment(len(segments) + 1, uuids[-1], roi_name, mine.get("schema_id"), mask.view(np.uint8), (1,))
        )
        color = roi.get("ROIDisplayColor")
        colors.append((int(color[0]), int(color[1]), int(color[2])) if color and len(color) == 3 else None)
    combined = label_map(segments, grid)
    source = VolumeSource(pixels=Pixels.of(combined.array, key=f"rtstruct:{sop}"))
    annotations = tuple(
        VolumeMask(
            uuid=segment.uuid, source=source, values=values, name=segment.name, schema_id=segment.schema_id, color=color
        )
        for segment, values, color in zip(segments, combined.values, colors, strict=True)
    )
    tools = {
        s.feature: Tool(
            ToolType.RASTER_SEGMENTATION,
            s.feature,
            schema_id=s.schema_id or stable_uuid("feature", s.feature),
            color="#{:02x}{:02x}{:02x}".format(*c) if c else None,
        )
        for s, c in zip(segments, colors, strict=True)
    }
    return LabeledItem(
        key,
        (Label(ctx.label_kind, annotations),),
        media=series,
        ontology=Ontology(f"RTSTRUCT {sop}", tools=tuple(tools.values())) if tools else None,
        file=name,
    )


def _rasterise(roi: Any, grid: Any, roi_name: str, name: str) -> npt.NDArray[np.bool_]:
    """The ROI's voxels on the grid [column, row, slice]."""
    inverse = np.linalg.inv(grid.affine_lps)
    per_slice: dict[int, list[npt.NDArray[np.float64]]] = defaultdict(list)
    for index, contour in enumerate(roi.get("ContourSequence", ()) or ()):
        data = np.asarray([float(v) for v in contour.ContourData], dtype=np.float64)
        if data.size == 0 or data.size % 3:
            raise MediaError(
                f"{name}: ROI {roi_name!r} contour {index + 1} holds {data.size} numbers, not x/y/z triples",
                path=name,
            )
        lps = data.reshape(-1, 3)
        voxels = (np.column_stack([lps, np.ones(len(lps))]) @ inverse.T)[:, :3]
        k = voxels[:, 2]
        nearest = np.round(k)
        if np.max(np.abs(k - nearest)) > PLANE_TOLERANCE or np.ptp(nearest) != 0:
            raise MediaError(
                f"{name}: ROI {roi_name!r} contour {index + 1} lies off every slice plane of the series "
                f"(slice index {float(k[0]):.3f} at LPS ({lps[0, 0]:.2f}, {lps[0, 1]:.2f}, {lps[0, 2]:.2f}); slices "
                f"are at whole indices 0 to {grid.shape[2] - 1})",
                path=name,
            )
        slice_index = int(nearest[0])
        if not 0 <= slice_index < grid.shape[2]:
            raise MediaError(
                f"{name}: ROI {roi_name!r} contour {index + 1} lies on slice {slice_index}, outside the series "
                f"(slices 0 to {grid.shape[2] - 1})",
                path=name,
            )
        per_slice[slice_index].append(voxels[:, :2])
    mask = np.zeros(grid.shape, dtype=np.bool_)
    columns, rows = grid.shape[0], grid.shape[1]
    for index, contours in per_slice.items():
        mask[:, :, index] = fill(contours, rows, columns).T
    return mask


__all__ = ["item_of", "read"]
