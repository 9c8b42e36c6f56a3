"""Writing RTSTRUCT (PS3.3 A.19 RT Structure Set IOD): one ROI per feature, closed planar contours per slice.

Contours are traced on each slice of the series' own grid (its acquisition plane, whatever the orientation) and
mapped to patient LPS millimetres through the series' affine, so oblique, sagittal, coronal and non-square
series are as exact as axial ones (rt-utils assumes axial, square images: notes section 4). Each contour
references the instance of its slice. Objects of one feature are merged into its ROI (the report says so);
the ROI's colour is the objects' or the feature's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Problem, Sink, WriteContext, WriteReport
from labelport.formats.rows import RowOutput, geometry_problem, merged_rows
from labelport.formats.rtstruct.contours import trace
from labelport.formats.segments import Segment, annotations_of, item_segments, segment_color
from labelport.formats.series import SourceSeries, write_private
from labelport.model.annotation import AnyAnnotation, ClassificationAnnotation
from labelport.model.item import LabeledItem

RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
DETACHED_STUDY = "1.2.840.10008.3.1.2.3.1"  # the SOP class RT references use to name a study
SUFFIX = ".RTSTRUCT.dcm"
_PATIENT_STUDY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)
_DEFAULT_COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255))


@dataclass
class _Roi:
    number: int
    name: str
    schema_id: str | None
    segments: list[Segment]
    color: tuple[int, int, int]


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """One RTSTRUCT per data row with masks: into a folder (``<row>.RTSTRUCT.dcm``), or the one file or stream."""
    context = ctx or WriteContext()
    output = RowOutput(sink, SUFFIX)
    report = WriteReport()
    for item in merged_rows(items):
        try:
            _write_item(item, output, context, report)
        except LabelportError as exc:
            report.problems.append(Problem(Location(), f"data row {item.data_row}: {exc}", data_row=item.data_row))
    return report


def _write_item(item: LabeledItem, output: RowOutput, ctx: WriteContext, report: WriteReport) -> None:
    annotations = annotations_of(item)
    if not annotations:
        return
    reason = geometry_problem(item)
    if reason is not None or item.media is None:
        raise ValidationError(f"cannot write an RTSTRUCT: {reason}")
    series = SourceSeries.of(item.media)
    found = item_segments(item, series.grid, ctx.pixels, annotations)
    _report_others(item, found.others, report)
    if not found.segments:
        return
    rois = _rois(found.segments, ctx, item)
    for roi in rois:
        if len(roi.segments) > 1:
            report.lose(item, "object identity", f"the {len(roi.segments)} objects of {roi.name!r} share one ROI")
    ds = structure_set(series, rois)
    write_private(
        ds,
        {
            "data_row": item.data_row.as_dict(),
            "rois": {str(r.number): {"schema_id": r.schema_id, "uuids": [s.uuid for s in r.segments]} for r in rois},
        },
    )
    with output.open(item) as handle:
        ds.save_as(handle, enforce_file_format=True)
    report.items += 1
    report.annotations += len(found.segments)


def _rois(segments: list[Segment], ctx: WriteContext, item: LabeledItem) -> list[_Roi]:
    by_feature: dict[str, _Roi] = {}
    for segment in segments:
        key = segment.schema_id or segment.feature
        roi = by_feature.get(key)
        if roi is None:
            number = len(by_feature) + 1
            color = segment_color(segment, ctx.ontology, item.ontology) or _DEFAULT_COLORS[(number - 1) % 6]
            roi = by_feature[key] = _Roi(number, segment.feature, segment.schema_id, [], color)
        roi.segments.append(segment)
    return list(by_feature.values())


def _mask(roi: _Roi) -> npt.NDArray[np.bool_]:
    mask = roi.segments[0].mask()
    for segment in roi.segments[1:]:
        mask = mask | segment.mask()
    return mask


def structure_set(series: SourceSeries, rois: list[_Roi]) -> Any:
    """The RT Structure Set dataset of ``rois`` on the series (pydicom; no pixel data)."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    first = series.first
    now = dt.datetime.now()
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(RTSTRUCT_STORAGE)
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = RTSTRUCT_STORAGE
    ds.SOPInstanceUID = sop_uid
    for keyword in _PATIENT_STUDY:
        setattr(ds, keyword, first.get(keyword, ""))
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = _series_number(first)
    ds.SeriesDescription = "labelport structure set"
    ds.Manufacturer = "labelport"
    ds.InstanceNumber = 1
    ds.OperatorsName = ""
    ds.StructureSetLabel = "labelport"
    ds.StructureSetDate = now.strftime("%Y%m%d")
    ds.StructureSetTime = now.strftime("%H%M%S")
    if "FrameOfReferenceUID" not in first:
        raise ValidationError("the series has no FrameOfReferenceUID; contours need one", field="FrameOfReferenceUID")
    frame_uid = str(first.FrameOfReferenceUID)
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = first.get("PositionReferenceIndicator", "")
    instances = [(str(d.SOPClassUID), str(d.SOPInstanceUID)) for d in series.datasets]

    def image_ref(sop_class: str, instance_uid: str, frame: int | None = None) -> Dataset:
        ref = Dataset()
        ref.ReferencedSOPClassUID = sop_class
        ref.ReferencedSOPInstanceUID = instance_uid
        if frame is not None:
            ref.ReferencedFrameNumber = frame
        return ref

    rt_series = Dataset()
    rt_series.SeriesInstanceUID = str(first.SeriesInstanceUID)
    rt_series.ContourImageSequence = Sequence([image_ref(c, u) for c, u in instances])
    rt_study = Dataset()
    rt_study.ReferencedSOPClassUID = DETACHED_STUDY
    rt_study.ReferencedSOPInstanceUID = str(first.StudyInstanceUID)
    rt_study.RTReferencedSeriesSequence = Sequence([rt_series])
    frame_ref = Dataset()
    frame_ref.FrameOfReferenceUID = frame_uid
    frame_ref.RTReferencedStudySequence = Sequence([rt_study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame_ref])

    classes = {str(d.SOPInstanceUID): str(d.SOPClassUID) for d in series.datasets}
    affine = series.grid.affine_lps
    structure_rois, contour_rois, observations = [], [], []
    for roi in rois:
        item = Dataset()
        item.ROINumber = roi.number
        item.ReferencedFrameOfReferenceUID = frame_uid
        item.ROIName = roi.name[:64]
        item.ROIGenerationAlgorithm = "MANUAL"
        structure_rois.append(item)
        contours = []
        stack = np.ascontiguousarray(_mask(roi).transpose(2, 1, 0))  # [slice, row, column]
        for k in (int(v) for v in np.flatnonzero(stack.reshape(stack.shape[0], -1).any(axis=1))):
            sop_uid_k, frame = series.instance_of(k)
            for points in trace(stack[k]):
                voxels = np.column_stack([points, np.full(len(points), float(k))])
                lps = voxels @ affine[:3, :3].T + affine[:3, 3]
                contour = Dataset()
                contour.ContourImageSequence = Sequence([image_ref(classes[sop_uid_k], sop_uid_k, frame)])
                contour.ContourGeometricType = "CLOSED_PLANAR"
                contour.NumberOfContourPoints = len(lps)
                contour[_CONTOUR_DATA] = _contour_data(lps)
                # Written as it is encoded (explicit VR little endian): pydicom then writes the raw values.
                contour.set_original_encoding(False, True, contour._character_set)
                contours.append(contour)
        roi_contour = Dataset()
        roi_contour.ROIDisplayColor = list(roi.color)
        roi_contour.ReferencedROINumber = roi.number
        roi_contour.ContourSequence = Sequence(contours)
        contour_rois.append(roi_contour)
        observation = Dataset()
        observation.ObservationNumber = roi.number
        observation.ReferencedROINumber = roi.number
        observation.RTROIInterpretedType = ""
        observation.ROIInterpreter = ""
        observations.append(observation)
    ds.StructureSetROISequence = Sequence(structure_rois)
    ds.ROIContourSequence = Sequence(contour_rois)
    ds.RTROIObservationsSequence = Sequence(observations)
    del pydicom
    return ds


_CONTOUR_DATA = 0x30060050


def _contour_data(points: npt.NDArray[np.float64]) -> Any:
    """ContourData as a raw element of decimal strings (micrometre precision, at most 16 characters each).

    Built as bytes: pydicom would check each of the hundreds of thousands of values of a large structure set one
    by one, which costs more than everything else the writer does.
    """
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    text = "\\".join(f"{v:.6f}".rstrip("0").rstrip(".") or "0" for v in points.ravel())
    raw = text.encode("ascii")
    if len(raw) % 2:
        raw += b" "
    return RawDataElement(Tag(_CONTOUR_DATA), "DS", len(raw), raw, 0, False, True)


def _series_number(first: Any) -> int:
    try:
        return int(first.get("SeriesNumber") or 0) + 2000
    except (TypeError, ValueError):
        return 2000


def _report_others(item: LabeledItem, others: list[AnyAnnotation], report: WriteReport) -> None:
    for annotation in others:
        if isinstance(annotation, ClassificationAnnotation):
            report.lose(item, "classification", "an RTSTRUCT holds structures (contours), not classifications")
        else:
            kind = type(getattr(annotation, "geometry", annotation)).__name__
            report.lose(item, kind, "an RTSTRUCT holds the contours of masks; write DICOM SR for drawings")


__all__ = ["RTSTRUCT_STORAGE", "structure_set", "write"]
