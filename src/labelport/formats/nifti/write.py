"""Writing NIfTI label maps: each data row's masks on the series' own grid, with a JSON sidecar.

The grid is the data row's (DICOM series: the ITK grid of ``imaging.volume``; a NIfTI row: its own), so the
affine is the series' LPS affine as RAS (``diag(-1, -1, 1, 1) @ LPS``, sform and qform, scanner): the file lines
up voxel for voxel with dcm2niix's NIfTI of the same series. Layout ``labelmap`` (default) writes one uint8 or
uint16 label map per row (object n is value n; overlapping objects get a value of their own for the overlap,
listed by both in the sidecar); ``binary`` writes one 0/1 file per object.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Problem, Sink, WriteContext, WriteReport
from labelport.formats.nifti import sidecar as f
from labelport.formats.rows import RowOutput, geometry_problem, merged_rows
from labelport.formats.segments import (
    Segment,
    annotations_of,
    feature_tool,
    hex_color,
    item_segments,
    label_map,
    segment_color,
)
from labelport.imaging.grids import grid_from_attributes
from labelport.imaging.nifti import label_image
from labelport.imaging.volume import Grid
from labelport.model.annotation import AnyAnnotation, ClassificationAnnotation
from labelport.model.item import LabeledItem
from labelport.model.ontology import Ontology

LAYOUTS = ("labelmap", "binary")
SUFFIX = ".nii.gz"
# nibabel's own gzip level for .nii.gz: label maps compress well at 1 and level 6 costs several times more.
GZIP_LEVEL = 1


def parse_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``layout``: labelmap (one label map per data row, default) or binary (one file per object)."""
    unknown = sorted(set(raw) - {"layout"})
    if unknown:
        raise ValidationError(f"unknown NIfTI option {unknown[0]!r}; it takes layout", field=unknown[0])
    layout = str(raw.get("layout", "labelmap")).lower()
    if layout not in LAYOUTS:
        raise ValidationError(f"layout must be labelmap or binary, found {raw.get('layout')!r}", field="layout")
    return {"layout": layout}


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """Label maps (and sidecars) into a folder, one per data row; or one label map to a ``.nii(.gz)`` file or a
    stream (a file gets its sidecar beside it; a stream cannot, and the report says so)."""
    context = ctx or WriteContext()
    layout = parse_options(context.options)["layout"]
    output = RowOutput(sink, SUFFIX, (".nii", ".nii.gz"))
    if layout == "binary" and output.folder is None:
        raise ValidationError("the binary layout writes one file per object; give a folder", field="output")
    report = WriteReport()
    for item in merged_rows(items):
        try:
            _write_item(item, output, context, layout, report)
        except LabelportError as exc:
            report.problems.append(Problem(Location(), f"data row {item.data_row}: {exc}", data_row=item.data_row))
    return report


def _write_item(item: LabeledItem, output: RowOutput, ctx: WriteContext, layout: str, report: WriteReport) -> None:
    annotations = annotations_of(item)
    if not annotations:
        return
    reason = geometry_problem(item)
    if reason is not None or item.media is None:
        raise ValidationError(f"cannot write a label map: {reason}")
    grid = grid_from_attributes(item.media.media_attributes)
    found = item_segments(item, grid, ctx.pixels, annotations)
    _report_others(item, found.others, report)
    if not found.segments:
        return
    labels: list[dict[str, Any]] = []
    if layout == "labelmap":
        combined = label_map(found.segments, grid)
        for segment, values in zip(found.segments, combined.values, strict=True):
            labels.append(_label(segment, values, ctx.ontology, item.ontology))
        with output.open(item) as handle:
            _save(combined.array, grid, handle, plain=output.last is not None and output.last.name.endswith(".nii"))
        sidecar_path = _sidecar_path(output.last)
    else:
        assert output.folder is not None  # write() refused a single file for this layout
        sidecar_path = output.path(item, ".json")
        for segment in found.segments:
            label = _label(segment, (1,), ctx.ontology, item.ontology)
            file = sidecar_path.with_name(f"{sidecar_path.stem}_{segment.number}_{_safe(segment.feature)}{SUFFIX}")
            label[f.FILE] = file.name
            with file.open("wb") as handle:
                _save(segment.mask().astype(np.uint8), grid, handle)
            labels.append(label)
    document = {
        f.FORMAT: f.FORMAT_NAME,
        f.VERSION: 1,
        f.LAYOUT: layout,
        f.DATA_ROW: item.data_row.as_dict(),
        f.SERIES: {
            f.ROW_DATA: item.media.row_data,
            f.MEDIA_TYPE: item.media.media_type.value,
            f.SERIES_UID: item.media.media_attributes.series_instance_uid,
        },
        f.LABELS: labels,
    }
    if sidecar_path is None:
        report.lose(item, "label names", "a NIfTI written to a stream has no sidecar to name its labels")
    else:
        sidecar_path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    report.items += 1
    report.annotations += len(found.segments)


def _sidecar_path(nifti: Path | None) -> Path | None:
    """``<name>.json`` beside ``<name>.nii.gz`` (or ``.nii``); None for a stream."""
    if nifti is None:
        return None
    name = nifti.name[: -len(".nii.gz")] if nifti.name.endswith(".nii.gz") else nifti.stem
    return nifti.with_name(f"{name}.json")


def _save(array: np.ndarray[Any, Any], grid: Grid, handle: IO[bytes], *, plain: bool = False) -> None:
    """The label map as NIfTI-1, gzipped unless ``plain`` (a ``.nii`` file), streamed as nibabel saves it."""
    image: Any = label_image(array, grid)
    if plain:
        image.to_file_map(image.make_file_map({"image": handle}))
        return
    with gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as stream:
        image.to_file_map(image.make_file_map({"image": stream}))


def _label(segment: Segment, values: tuple[int, ...], *ontologies: Ontology | None) -> dict[str, Any]:
    tool = feature_tool(segment.name, segment.schema_id, *ontologies)
    color = segment_color(segment, *ontologies)
    label: dict[str, Any] = {
        f.VALUE: segment.number,
        f.VALUES: list(values),
        f.NAME: segment.name or (tool.name if tool else segment.feature),
        f.SCHEMA_ID: segment.schema_id,
        f.UUID: segment.uuid,
        f.COLOR: hex_color(color) if color else None,
    }
    if tool is not None and tool.category is not None:
        label[f.CATEGORY] = tool.category.as_dict()
    if tool is not None and tool.property_type is not None:
        label[f.PROPERTY_TYPE] = tool.property_type.as_dict()
    return {k: v for k, v in label.items() if v is not None}


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:60] or "object"


def _report_others(item: LabeledItem, others: list[AnyAnnotation], report: WriteReport) -> None:
    for annotation in others:
        if isinstance(annotation, ClassificationAnnotation):
            report.lose(item, "classification", "a NIfTI label map holds voxels, not classifications")
        else:
            kind = type(getattr(annotation, "geometry", annotation)).__name__
            report.lose(item, kind, "a NIfTI label map holds voxel masks; drawings have no place in it")


__all__ = ["LAYOUTS", "parse_options", "write"]
