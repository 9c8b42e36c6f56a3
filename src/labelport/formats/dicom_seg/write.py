"""Writing DICOM SEG (PS3.3 A.51) with highdicom: one Segmentation per data row, on the source series' grid.

Frames follow the source instances (single-frame series: one frame per instance and segment; a multi-frame
source: its own frame order), reference them (``ReferencedSeriesSequence``, per-frame
``DerivationImageSequence``), and empty frames are left out. Each mask annotation is one segment: its label is
the feature name, its category and type codes are the feature's (``Tool.category``/``property_type``) or
SNOMED CT "Tissue", its recommended display colour the annotation's or the feature's; the annotation's uuid is
the segment's TrackingUID (``2.25.<uuid as integer>``), so a SEG read back names the same objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Problem, Sink, WriteContext, WriteReport
from labelport.formats.dicom_support import highdicom
from labelport.formats.rows import RowOutput, geometry_problem, merged_rows
from labelport.formats.segments import (
    LabelMap,
    Segment,
    annotations_of,
    feature_tool,
    item_segments,
    label_map,
    segment_color,
)
from labelport.formats.series import SourceSeries, uuid_to_uid, write_private
from labelport.model.annotation import AnyAnnotation, ClassificationAnnotation, VolumeMask
from labelport.model.item import LabeledItem
from labelport.model.ontology import Code, Ontology

# SNOMED CT "Tissue": dcmqi's and Slicer's default when a segment names no anatomy.
DEFAULT_CATEGORY = Code("85756007", "SCT", "Tissue")
DEFAULT_TYPE = Code("85756007", "SCT", "Tissue")
SUFFIX = ".SEG.dcm"


class SegmentationType(StrEnum):
    """The SEG types labelport writes (PS3.3 C.8.20.2): one bit per voxel and segment, or one label per voxel."""

    BINARY = "BINARY"
    LABELMAP = "LABELMAP"


class Compression(StrEnum):
    """Lossless compression of LABELMAP frames (BINARY frames are bit-packed and stay uncompressed)."""

    NONE = "none"
    JPEGLS = "jpegls"
    RLE = "rle"


_SYNTAX = {
    Compression.NONE: "1.2.840.10008.1.2.1",
    Compression.JPEGLS: "1.2.840.10008.1.2.4.80",
    Compression.RLE: "1.2.840.10008.1.2.5",
}


@dataclass(frozen=True, slots=True)
class SegOptions:
    segmentation_type: SegmentationType = SegmentationType.BINARY
    compression: Compression = Compression.NONE


def parse_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``segmentation_type``: BINARY (default) or LABELMAP; ``compression``: none (default), jpegls or rle
    (LABELMAP only)."""
    unknown = sorted(set(raw) - {"segmentation_type", "compression"})
    if unknown:
        raise ValidationError(
            f"unknown DICOM SEG option {unknown[0]!r}; it takes segmentation_type and compression", field=unknown[0]
        )
    kind = _enum(SegmentationType, raw.get("segmentation_type", SegmentationType.BINARY), "segmentation_type")
    compression = _enum(Compression, raw.get("compression", Compression.NONE), "compression")
    if kind is SegmentationType.BINARY and compression is not Compression.NONE:
        raise ValidationError(
            f"a BINARY segmentation is bit-packed and not compressed; choose segmentation_type LABELMAP for "
            f"{compression.value} compression",
            field="compression",
            value=compression.value,
        )
    return {"segmentation_type": kind, "compression": compression}


def _enum(cls: Any, value: Any, name: str) -> Any:
    text = value.value if isinstance(value, StrEnum) else str(value)
    for member in cls:
        if member.value.lower() == text.lower():
            return member
    raise ValidationError(
        f"{name} must be one of {', '.join(m.value for m in cls)}, found {value!r}", field=name, value=value
    )


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """One SEG per data row with masks: into a folder (``<row>.SEG.dcm``), or the one file or stream given."""
    context = ctx or WriteContext()
    checked = parse_options(context.options)
    options = SegOptions(checked["segmentation_type"], checked["compression"])
    output = RowOutput(sink, SUFFIX)
    report = WriteReport()
    for item in merged_rows(items):
        try:
            _write_item(item, output, context, options, report)
        except LabelportError as exc:
            report.problems.append(Problem(Location(), f"data row {item.data_row}: {exc}", data_row=item.data_row))
    return report


def _write_item(
    item: LabeledItem, output: RowOutput, ctx: WriteContext, options: SegOptions, report: WriteReport
) -> None:
    annotations = annotations_of(item)
    if not annotations:
        return
    reason = geometry_problem(item)
    if reason is not None or item.media is None:
        raise ValidationError(f"cannot write a SEG: {reason}")
    series = SourceSeries.of(item.media)
    found = item_segments(item, series.grid, ctx.pixels, annotations)
    _report_others(item, found.others, found.segments, report)
    if not found.segments:
        return
    labels = label_map(found.segments, series.grid)
    seg = build_segmentation(series, found.segments, labels, options, ctx.ontology, item.ontology)
    write_private(
        seg,
        {
            "data_row": item.data_row.as_dict(),
            "segments": {
                str(s.number): {"uuid": s.uuid, "schema_id": s.schema_id, "name": s.name} for s in found.segments
            },
        },
    )
    with output.open(item) as handle:
        seg.save_as(handle, enforce_file_format=True)
    report.items += 1
    report.annotations += len(found.segments)


def build_segmentation(
    series: SourceSeries,
    segments: list[Segment],
    labels: LabelMap,
    options: SegOptions,
    *ontologies: Ontology | None,
) -> Any:
    """The highdicom Segmentation of ``segments`` on the series' grid (a LABELMAP refuses overlaps)."""
    hd = highdicom("DICOM SEG")
    if options.segmentation_type is SegmentationType.LABELMAP and labels.overlaps:
        overlapping = _overlapping(segments, labels)
        raise ValidationError(
            f"segments {overlapping[0]!r} and {overlapping[1]!r} overlap, and a LABELMAP segmentation holds one "
            "segment per voxel; write a BINARY segmentation, which keeps overlapping segments apart",
            field="segmentation_type",
            value="LABELMAP",
        )
    descriptions = [_description(hd, s, ontologies) for s in segments]
    pixel_array = _frames(series, segments, labels)
    first = series.first
    return hd.seg.Segmentation(
        source_images=series.datasets,
        pixel_array=pixel_array,
        segmentation_type=options.segmentation_type.value,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=_series_number(first),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="labelport",
        manufacturer_model_name="labelport",
        software_versions=_version(),
        device_serial_number="0",
        content_description="labelport segmentation",
        content_creator_name="labelport^",
        transfer_syntax_uid=_SYNTAX[options.compression],
        omit_empty_frames=True,
    )


def _frames(series: SourceSeries, segments: list[Segment], labels: LabelMap) -> npt.NDArray[Any]:
    """The pixel array highdicom takes: [frame, row, column] of segment numbers, or stacked
    [frame, row, column, segment] masks when segments overlap; frames in the source's order."""
    if labels.overlaps:
        stacked = np.stack([s.mask().transpose(2, 1, 0) for s in segments], axis=-1).astype(np.uint8)
        return _source_order(series, stacked)
    array = labels.array
    if any(values != (s.number,) for values, s in zip(labels.values, segments, strict=True)):
        raise LabelportError("internal: a label map without overlaps has one value per segment")
    # [column, row, slice] -> [slice, row, column]; a C-contiguous view when the volume came from NIfTI.
    return _source_order(series, array.transpose(2, 1, 0))


def _source_order(series: SourceSeries, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Frames of a single multi-frame source follow its frame numbers; single-frame instances, the grid order
    (``series.datasets`` is in grid order)."""
    if not series.multiframe:
        return array
    frames = [series.instance_of(k)[1] or 1 for k in range(array.shape[0])]
    ordered = np.empty_like(array)
    ordered[np.asarray(frames) - 1] = array
    return ordered


def _description(hd: Any, segment: Segment, ontologies: tuple[Ontology | None, ...]) -> Any:
    tool = feature_tool(segment.name, segment.schema_id, *ontologies)
    category = (tool.category if tool else None) or DEFAULT_CATEGORY
    property_type = (tool.property_type if tool else None) or DEFAULT_TYPE
    color = segment_color(segment, *ontologies)
    return hd.seg.SegmentDescription(
        segment_number=segment.number,
        segment_label=segment.feature[:64],
        segmented_property_category=_code(hd, category),
        segmented_property_type=_code(hd, property_type),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        tracking_uid=uuid_to_uid(segment.uuid),
        tracking_id=segment.uuid,
        display_color=hd.color.CIELabColor.from_rgb(*color) if color else None,
    )


def _code(hd: Any, code: Code) -> Any:
    return hd.sr.CodedConcept(value=code.value, scheme_designator=code.scheme, meaning=code.meaning)


def _overlapping(segments: list[Segment], labels: LabelMap) -> tuple[str, str]:
    owners: dict[int, Segment] = {}
    for segment, values in zip(segments, labels.values, strict=True):
        for value in values:
            if value in owners:
                return owners[value].feature, segment.feature
            owners[value] = segment
    return segments[0].feature, segments[-1].feature


def _report_others(
    item: LabeledItem, others: list[AnyAnnotation], segments: list[Segment], report: WriteReport
) -> None:
    for annotation in others:
        if isinstance(annotation, ClassificationAnnotation):
            report.lose(item, "classification", "a DICOM SEG holds voxel masks, not classifications")
        else:
            kind = type(getattr(annotation, "geometry", annotation)).__name__
            report.lose(item, kind, "a DICOM SEG holds voxel masks; write DICOM SR or RTSTRUCT for drawings")
    nested = sum(
        len(getattr(s.annotation, "classifications", ())) for s in segments if isinstance(s.annotation, VolumeMask)
    )
    if nested:
        report.lose(item, "classification of a mask", "a DICOM SEG segment holds no classifications", nested)


def _series_number(first: Any) -> int:
    try:
        return int(first.get("SeriesNumber") or 0) + 1000
    except (TypeError, ValueError):
        return 1000


def _version() -> str:
    from labelport import __version__

    return __version__


__all__ = ["Compression", "SegOptions", "SegmentationType", "build_segmentation", "parse_options", "write"]
