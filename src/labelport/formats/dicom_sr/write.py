"""Writing DICOM SR TID 1500 Measurement Reports (Comprehensive 3D SR) with highdicom, one per data row.

Every drawing is a measurement group (TID 1410): on the acquisition plane (the plane whose frames are the
series' own slices) as SCOORD in the pixel coordinates of its source instance, pixel centre at +0.5 (DESIGN.md),
with the instance (and frame) referenced; on a reconstructed plane (sagittal or coronal of an axial series) as
SCOORD3D in patient LPS millimetres of the frame of reference, never as SCOORD (it has no source image). Points
are POINT, lines POLYLINE, polygons and boxes closed POLYLINE (SCOORD) or POLYGON (SCOORD3D), ellipses ELLIPSE.
Classifications are qualitative evaluations: an object's in its group, a data row's in a TID 1501 group.

Codes are private (scheme ``99LABELPORT``, ``codes.py``): the finding is the feature, the finding category the
tool; the group's tracking UID holds the annotation uuid (``2.25.<integer>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import LabelportError, Location, ValidationError
from labelport.formats.base import Problem, Sink, WriteContext, WriteReport
from labelport.formats.dicom_sr import codes
from labelport.formats.dicom_support import highdicom
from labelport.formats.rows import RowOutput, geometry_problem, merged_rows
from labelport.formats.segments import annotations_of
from labelport.formats.series import SourceSeries, uuid_to_uid, write_private
from labelport.imaging.planes import PlaneView
from labelport.model.annotation import (
    AnyAnnotation,
    Checklist,
    ClassificationAnnotation,
    ObjectAnnotation,
    Radio,
    Text,
    TrackedObject,
)
from labelport.model.geometry import Geometry
from labelport.model.item import LabeledItem
from labelport.model.media import PlaneGroup

SUFFIX = ".SR.dcm"


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """One SR per data row with drawings or classifications: a folder (``<row>.SR.dcm``), or one file or stream."""
    ctx or WriteContext()
    output = RowOutput(sink, SUFFIX)
    report = WriteReport()
    for item in merged_rows(items):
        try:
            _write_item(item, output, report)
        except LabelportError as exc:
            report.problems.append(Problem(Location(), f"data row {item.data_row}: {exc}", data_row=item.data_row))
    return report


def acquisition_plane(series: SourceSeries) -> PlaneGroup:
    """The plane whose frames are the series' own slices (the one drawings reference instances on)."""
    for group in PlaneGroup:
        if PlaneView.of(series.grid, group).axes[2] == 2:
            return group
    raise LabelportError("internal: no plane runs along the slices")


class _Writer:
    def __init__(self, item: LabeledItem, series: SourceSeries, report: WriteReport) -> None:
        self.hd = highdicom("DICOM SR")
        self.item = item
        self.series = series
        self.report = report
        self.acquisition = acquisition_plane(series)
        self.views = {g: PlaneView.of(series.grid, g) for g in PlaneGroup}
        self.groups: list[Any] = []
        self.objects: dict[str, dict[str, Any]] = {}  # uuid -> plane, frame, schema id (for reading back)
        self.checklists: set[str] = set()

    def add(self, annotation: AnyAnnotation) -> None:
        if isinstance(annotation, ObjectAnnotation):
            placement = annotation.placement
            if placement.group is None or placement.frame is None:
                self.report.lose(self.item, type(annotation.geometry).__name__, "it names no plane and slice")
                return
            self._object(annotation, annotation.geometry, placement.group, placement.frame, annotation.uuid)
        elif isinstance(annotation, TrackedObject) and annotation.group is not None:
            for keyframe in annotation.keyframes:
                uuid = codes.keyframe_uuid(annotation.uuid, keyframe.frame)
                self._object(annotation, keyframe.geometry, annotation.group, keyframe.frame, uuid)
            self.report.lose(
                self.item, "track", "an SR holds one drawing per keyframe; the track (interpolation) is not kept"
            )
        elif isinstance(annotation, ClassificationAnnotation):
            evaluations = self._evaluations((annotation,))
            if evaluations:
                tracking = self.hd.sr.TrackingIdentifier(
                    uid=uuid_to_uid(annotation.uuid) if annotation.uuid else self.hd.UID(),
                    identifier=(annotation.name or annotation.schema_id or "classification")[:64],
                )
                self.groups.append(
                    self.hd.sr.MeasurementsAndQualitativeEvaluations(
                        tracking_identifier=tracking, qualitative_evaluations=evaluations
                    )
                )
        else:
            kind = type(annotation).__name__
            self.report.lose(
                self.item, kind, "a DICOM SR holds drawings and classifications; write DICOM SEG for masks"
            )

    def _object(self, annotation: Any, geometry: Geometry, group: PlaneGroup, frame: int, uuid: str) -> None:
        graphic = codes.graphic_of(geometry)
        if graphic is None:
            self.report.lose(self.item, type(geometry).__name__, "DICOM SR has no graphic type for this geometry")
            return
        points = graphic.points
        view = self.views[group]
        plane_points = np.column_stack([np.full(len(points), float(frame)), points])
        if group is self.acquisition:
            region = self._scoord(view, plane_points, graphic.scoord_type)
        else:
            lps = view.to_lps(plane_points)
            region = self.hd.sr.ImageRegion3D(
                graphic_type=graphic.scoord3d_type,
                graphic_data=lps,
                frame_of_reference_uid=self.series.frame_of_reference_uid,
            )
        tool = codes.tool_of(geometry)
        tracking = self.hd.sr.TrackingIdentifier(
            uid=uuid_to_uid(uuid), identifier=(annotation.name or annotation.schema_id or tool.value)[:64]
        )
        evaluations = self._evaluations(annotation.classifications)
        self.groups.append(
            self.hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking,
                referenced_region=region,
                finding_type=codes.feature_code(self.hd, annotation.name, annotation.schema_id),
                finding_category=codes.tool_code(self.hd, tool),
                qualitative_evaluations=evaluations or None,
            )
        )
        self.objects[uuid] = {"plane": group.value, "frame": frame, "schema_id": annotation.schema_id}
        self.report.annotations += 1

    def _scoord(self, view: PlaneView, plane_points: npt.NDArray[np.float64], graphic_type: str) -> Any:
        voxels = view.to_voxel(plane_points)  # continuous (i, j, k), voxel centres at integers
        k = round(float(voxels[0, 2]))
        sop_uid, frame = self.series.instance_of(k)
        source = next(d for d in self.series.datasets if str(d.SOPInstanceUID) == sop_uid)
        # SCOORD: (column, row) with the top-left corner of the image at (0, 0), so a pixel centre is at +0.5.
        graphic_data = voxels[:, :2] + 0.5
        return self.hd.sr.ImageRegion(
            graphic_type=graphic_type,
            graphic_data=graphic_data,
            source_image=self.hd.sr.SourceImageForRegion(
                referenced_sop_class_uid=str(source.SOPClassUID),
                referenced_sop_instance_uid=sop_uid,
                referenced_frame_numbers=[frame] if frame is not None else None,
            ),
        )

    def _evaluations(self, classifications: Iterable[ClassificationAnnotation]) -> list[Any]:
        out = []
        for classification in classifications:
            name = codes.feature_code(self.hd, classification.name, classification.schema_id)
            answer = classification.answer
            if isinstance(answer, Text):
                self.report.lose(
                    self.item, "text classification", "an SR qualitative evaluation holds coded answers, not free text"
                )
                continue
            answers = (answer.answer,) if isinstance(answer, Radio) else answer.answers
            for chosen in answers:
                out.append(
                    self.hd.sr.QualitativeEvaluation(
                        name=name, value=codes.feature_code(self.hd, chosen.name, chosen.schema_id)
                    )
                )
                if chosen.classifications:
                    self.report.lose(
                        self.item,
                        "nested classification",
                        "an SR qualitative evaluation holds one level of answers",
                        len(chosen.classifications),
                    )
            if isinstance(answer, Checklist):
                self.checklists.add(str(classification.schema_id or classification.name))
        return out


def _write_item(item: LabeledItem, output: RowOutput, report: WriteReport) -> None:
    annotations = annotations_of(item)
    if not annotations:
        return
    reason = geometry_problem(item)
    if reason is not None or item.media is None:
        raise ValidationError(f"cannot write an SR: {reason}")
    series = SourceSeries.of(item.media)
    writer = _Writer(item, series, report)
    for annotation in annotations:
        writer.add(annotation)
    if not writer.groups:
        return
    hd = writer.hd
    measurement_report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(),
        procedure_reported=codes.PROCEDURE(hd),
        imaging_measurements=writer.groups,
    )
    first = series.first
    sr = hd.sr.Comprehensive3DSR(
        evidence=series.datasets,
        content=measurement_report,
        series_instance_uid=hd.UID(),
        series_number=_series_number(first),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="labelport",
        is_complete=True,
    )
    write_private(
        sr,
        {"data_row": item.data_row.as_dict(), "objects": writer.objects, "checklists": sorted(writer.checklists)},
    )
    with output.open(item) as handle:
        sr.save_as(handle, enforce_file_format=True)
    report.items += 1
    report.annotations += sum(1 for a in annotations if isinstance(a, ClassificationAnnotation))


def _series_number(first: Any) -> int:
    try:
        return int(first.get("SeriesNumber") or 0) + 3000
    except (TypeError, ValueError):
        return 3000


__all__ = ["acquisition_plane", "write"]
