"""Reading DICOM SR TID 1500 back into annotations on the right plane and frame of the referenced series.

A SCOORD region names its source instance: the drawing is on the acquisition plane, on that instance's slice,
its (column, row) coordinates (pixel centre at +0.5) mapped through the plane view. A SCOORD3D region is in
patient LPS: it goes on the plane where all its points share one frame (a whole slice index), the reconstructed
planes tried first; a region on no slice plane of the series is refused. Qualitative evaluations become
classifications (of the object, or of the data row for a TID 1501 group). The series comes from
``ctx.options["series"]`` (a ``DataRow`` or a lookup).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError, ValidationError
from labelport.formats.base import Problem, ReadContext, Source
from labelport.formats.dicom_sr import codes
from labelport.formats.dicom_support import highdicom, read_objects
from labelport.formats.series import (
    SourceSeries,
    read_private,
    referenced_series_uid,
    row_key_of,
    series_for,
    stable_uuid,
    uid_to_uuid,
)
from labelport.imaging.planes import PlaneView
from labelport.model.annotation import (
    Checklist,
    ClassificationAnnotation,
    ClassificationAnswer,
    ObjectAnnotation,
    Placement,
    Radio,
)
from labelport.model.item import LabeledItem
from labelport.model.label import Label
from labelport.model.media import PlaneGroup

SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
    "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR",
}
FINDING_CATEGORY = "276214006"  # SNOMED CT "Finding category": highdicom lists it among the evaluations
# A SCOORD3D point off a slice by more than this fraction of the slice spacing is not on that slice.
PLANE_TOLERANCE = 0.05


def read(source: Source, ctx: ReadContext) -> Iterator[LabeledItem | Problem]:
    """One item per SR of ``source`` (a file, a folder, bytes or a stream)."""
    return read_objects(source, ctx, SR_CLASSES, "a DICOM SR", item_of)


def item_of(ds: Any, name: str, ctx: ReadContext) -> LabeledItem:
    hd = highdicom("DICOM SR")
    private = read_private(ds)
    key = row_key_of(ds, private)
    referenced = referenced_series_uid(ds)
    row = series_for(ctx.options, key, referenced)
    if row is None:
        raise ValidationError(
            f"{name}: an SR's drawings are placed on the series it references ({referenced}); give that series "
            "(`labelport convert ... --series DIR`)",
            field="series",
        )
    series = SourceSeries.of(row)
    try:
        sr = hd.sr.srread(name) if not hasattr(ds, "ContentSequence") else _as_sr(hd, ds)
        report = sr.content
        planar = report.get_planar_roi_measurement_groups()
        image_groups = report.get_image_measurement_groups()
    except (ValueError, TypeError, AttributeError) as exc:
        raise MediaError(f"{name}: not a TID 1500 measurement report ({exc})", path=name) from exc
    placer = _Placer(series, private, name)
    checklists = set(private.get("checklists") or ())
    annotations: list[Any] = []
    for index, group in enumerate(planar):
        uuid = uid_to_uuid(str(group.tracking_uid)) or stable_uuid("dicom-sr", ds.SOPInstanceUID, index)
        roi = group.roi
        if roi is None:
            continue  # a group that references a SEG segment: SEG holds its voxels
        finding = group.finding_type
        feature_name = str(finding.meaning) if finding is not None else str(group.tracking_identifier)
        schema_id = str(finding.value) if finding is not None and str(finding.value) != feature_name else None
        tool = str(group.finding_category.value) if group.finding_category is not None else None
        placement, points = placer.place(roi, uuid, index)
        geometry = codes.geometry_of(str(roi.graphic_type.value), points, tool)
        if geometry is None:
            raise MediaError(
                f"{name}: measurement group {index + 1} ({feature_name!r}) has graphic type "
                f"{roi.graphic_type.value} with {len(points)} points, which labelport does not read",
                path=name,
            )
        annotations.append(
            ObjectAnnotation(
                uuid=uuid,
                geometry=geometry,
                name=feature_name,
                schema_id=schema_id,
                placement=placement,
                classifications=_classifications(group, checklists),
            )
        )
    for index, group in enumerate(image_groups):
        found = _classifications(group, checklists)
        uid = uid_to_uuid(str(group.tracking_uid))
        for offset, classification in enumerate(found):
            own = uid if offset == 0 else None
            annotations.append(
                ClassificationAnnotation(
                    classification.answer,
                    classification.name,
                    classification.schema_id,
                    uuid=own or stable_uuid("dicom-sr-classification", ds.SOPInstanceUID, index, offset),
                )
            )
    return LabeledItem(key, (Label(ctx.label_kind, tuple(annotations)),), media=row, file=name)


def _as_sr(hd: Any, ds: Any) -> Any:
    classes = {
        "1.2.840.10008.5.1.4.1.1.88.34": hd.sr.Comprehensive3DSR,
        "1.2.840.10008.5.1.4.1.1.88.33": hd.sr.ComprehensiveSR,
        "1.2.840.10008.5.1.4.1.1.88.22": hd.sr.EnhancedSR,
    }
    return classes[str(ds.SOPClassUID)].from_dataset(ds)


def _classifications(group: Any, checklists: set[str]) -> tuple[ClassificationAnnotation, ...]:
    answers: dict[tuple[str, str | None], list[ClassificationAnswer]] = {}
    for evaluation in group.get_qualitative_evaluations():
        concept, value = evaluation.name, evaluation.value
        if str(concept.value) == FINDING_CATEGORY and str(concept.scheme_designator) == "SCT":
            continue
        name = str(concept.meaning)
        schema_id = str(concept.value) if str(concept.value) != name else None
        answer_name = str(value.meaning)
        answer_id = str(value.value) if str(value.value) != answer_name else None
        answers.setdefault((name, schema_id), []).append(ClassificationAnswer(name=answer_name, schema_id=answer_id))
    out = []
    for (name, schema_id), chosen in answers.items():
        many = len(chosen) > 1 or (schema_id or name) in checklists
        answer = Checklist(tuple(chosen)) if many else Radio(chosen[0])
        out.append(ClassificationAnnotation(answer, name=name, schema_id=schema_id))
    return tuple(out)


class _Placer:
    """Puts SR regions on a plane and frame of the series."""

    def __init__(self, series: SourceSeries, private: dict[str, Any], name: str) -> None:
        from labelport.formats.dicom_sr.write import acquisition_plane

        self.series = series
        self.name = name
        self.objects: dict[str, Any] = private.get("objects") or {}
        self.acquisition = acquisition_plane(series)
        self.views = {g: PlaneView.of(series.grid, g) for g in PlaneGroup}

    def place(self, roi: Any, uuid: str, index: int) -> tuple[Placement, npt.NDArray[np.float64]]:
        """The placement (plane, frame) of a region and its points (n, 2) on that plane."""
        data = np.asarray(roi.value, dtype=np.float64)
        if hasattr(roi, "frame_of_reference_uid"):
            return self._scoord3d(data, uuid, index, str(roi.frame_of_reference_uid))
        return self._scoord(roi, data, index)

    def _scoord(self, roi: Any, data: npt.NDArray[np.float64], index: int) -> tuple[Placement, npt.NDArray[np.float64]]:
        reference = roi.ContentSequence[0].ReferencedSOPSequence[0]
        sop_uid = str(reference.ReferencedSOPInstanceUID)
        frames = reference.get("ReferencedFrameNumber")
        frame = int(frames[0] if isinstance(frames, list | tuple) else frames) if frames else None
        k = self.series.slice_index(sop_uid, frame)
        if k is None:
            raise MediaError(
                f"{self.name}: measurement group {index + 1} is drawn on instance {sop_uid}, which is not in the "
                "series",
                path=self.name,
            )
        view = self.views[self.acquisition]
        voxels = np.column_stack([data - 0.5, np.full(len(data), float(k))])  # SCOORD pixel centres are at +0.5
        plane = view.from_voxel(voxels)
        return Placement(frame=round(float(plane[0, 0])), group=self.acquisition), _rounded(plane[:, 1:])

    def _scoord3d(
        self, data: npt.NDArray[np.float64], uuid: str, index: int, frame_of_reference: str
    ) -> tuple[Placement, npt.NDArray[np.float64]]:
        expected = self.series.frame_of_reference_uid
        if expected and frame_of_reference != expected:
            raise MediaError(
                f"{self.name}: measurement group {index + 1} is in frame of reference {frame_of_reference}, but the "
                f"series is in {expected}",
                path=self.name,
            )
        recorded = (self.objects.get(uuid) or {}).get("plane")
        order = [PlaneGroup(recorded)] if recorded in {g.value for g in PlaneGroup} else []
        order += [g for g in PlaneGroup if g is not self.acquisition and g not in order]
        order += [self.acquisition] if self.acquisition not in order else []
        for group in order:
            plane = self.views[group].from_lps(data)
            frames = plane[:, 0]
            nearest = np.round(frames)
            if np.ptp(nearest) == 0 and np.max(np.abs(frames - nearest)) <= PLANE_TOLERANCE:
                frame = int(nearest[0])
                if 0 <= frame < self.views[group].frames:
                    return Placement(frame=frame, group=group), _rounded(plane[:, 1:])
        first = data[0]
        raise MediaError(
            f"{self.name}: measurement group {index + 1} (SCOORD3D, {len(data)} points from LPS "
            f"({first[0]:.2f}, {first[1]:.2f}, {first[2]:.2f})) lies on no axial, coronal or sagittal slice of the "
            "series",
            path=self.name,
        )


def _rounded(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Plane coordinates to 1e-4 px: SR keeps SCOORD as 32-bit floats, and LPS round trips add as much noise."""
    return np.round(points, 4) + 0.0


__all__ = ["SR_CLASSES", "item_of", "read"]
