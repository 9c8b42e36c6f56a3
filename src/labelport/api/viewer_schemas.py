"""HTTP bodies of the web viewer's routes (``api/routes/viewer.py``), made from the viewer services' records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from labelport.api.schemas import HistoryEntryOut
from labelport.imaging.display import PRESETS, WindowPreset
from labelport.model.jobs import JobInfo, JobKind
from labelport.model.label import LabelKind
from labelport.model.records import BatchInfo
from labelport.model.workflow import HistoryEntry, WorkflowStatus
from labelport.service.slices import FrameSize
from labelport.service.viewer import PlaneInfo, ProjectRow, ProjectSummary, RowSummary
from labelport.service.viewer_annotations import ViewerAnnotation


def _counts(summary: ProjectSummary) -> dict[str, int]:
    return {status.value: summary.counts.get(status, 0) for status in WorkflowStatus}


class ProjectSummaryOut(BaseModel):
    """A project and how many of its data rows are in each workflow status."""

    id: str
    name: str
    description: str | None
    media_type: str
    ontology_id: str | None
    created_at: datetime
    rows: int
    counts: dict[str, int] = Field(description="data rows per workflow status: ToLabel, InReview, InRework, Done")

    @classmethod
    def of(cls, summary: ProjectSummary) -> ProjectSummaryOut:
        p = summary.project
        return cls(
            id=p.id,
            name=p.name,
            description=p.description,
            media_type=p.media_type.value,
            ontology_id=p.ontology_id,
            created_at=p.created_at,
            rows=summary.rows,
            counts=_counts(summary),
        )


class BatchSummaryOut(BaseModel):
    id: str
    name: str
    priority: int
    size: int

    @classmethod
    def of(cls, batch: BatchInfo) -> BatchSummaryOut:
        return cls(id=batch.id, name=batch.name, priority=batch.priority, size=batch.size)


class FeatureOut(BaseModel):
    schema_id: str
    name: str
    kind: str = Field(description="tool or classification")
    type: str
    color: str | None


class ProjectViewOut(BaseModel):
    """A project as the viewer opens it: counts, the caller's role and what it allows, batches, features."""

    project: ProjectSummaryOut
    role: str
    permissions: list[str] = Field(description="actions the caller may take here (service.auth.Action values)")
    batches: list[BatchSummaryOut]
    features: list[FeatureOut]


class RowOut(BaseModel):
    """A data row of a project's list: its workflow status and annotation counts per label kind."""

    id: str
    global_key: str | None
    external_id: str | None
    media_type: str
    batch_id: str
    batch_name: str
    priority: int
    status: str
    status_updated_at: datetime | None
    annotations: dict[str, int] = Field(description="annotations per label kind: ground_truth, prediction")

    @classmethod
    def of(cls, row: RowSummary) -> RowOut:
        return cls(
            id=row.id,
            global_key=row.global_key,
            external_id=row.external_id,
            media_type=row.media_type.value,
            batch_id=row.batch_id,
            batch_name=row.batch_name,
            priority=row.priority,
            status=row.status.value,
            status_updated_at=row.updated_at,
            annotations={kind.value: row.annotations.get(kind, 0) for kind in LabelKind},
        )


class RowsPageOut(BaseModel):
    """One page of a project's rows; ``total`` counts every row the filters match."""

    items: list[RowOut]
    next_cursor: str | None = None
    total: int


class LettersOut(BaseModel):
    left: str
    right: str
    top: str
    bottom: str


class PlaneOut(BaseModel):
    """A plane of a volume: image size, frames, pixel size (x, y) in mm, edge letters, and the matrices between
    ``(x, y, frame, 1)`` (frames from 0) and LPS mm."""

    plane: str
    width: int
    height: int
    frames: int
    spacing: tuple[float, float]
    letters: LettersOut
    to_lps: list[list[float]]
    from_lps: list[list[float]]

    @classmethod
    def of(cls, info: PlaneInfo) -> PlaneOut:
        letters = info.letters
        return cls(
            plane=info.plane.value,
            width=info.width,
            height=info.height,
            frames=info.frames,
            spacing=info.spacing,
            letters=LettersOut(left=letters.left, right=letters.right, top=letters.top, bottom=letters.bottom),
            to_lps=info.to_lps,
            from_lps=info.from_lps,
        )


class FramesOut(BaseModel):
    width: int
    height: int
    frames: int

    @classmethod
    def of(cls, size: FrameSize) -> FramesOut:
        return cls(width=size.width, height=size.height, frames=size.frames)


class WindowOut(BaseModel):
    name: str
    center: float | None
    width: float | None


WINDOWS = [
    WindowOut(
        name=p.value,
        center=PRESETS[p].center if p in PRESETS else None,
        width=PRESETS[p].width if p in PRESETS else None,
    )
    for p in WindowPreset
]


class RowDetailOut(BaseModel):
    """One data row of a project as the viewer shows it. Frames in the API count from 0; Labelbox numbers them
    from 1 (``frame_bases``)."""

    id: str
    global_key: str | None
    external_id: str | None
    media_type: str
    attributes: dict[str, Any]
    batch_id: str
    batch_name: str
    status: str
    task_name: str
    history: list[HistoryEntryOut]
    planes: list[PlaneOut]
    frames: FramesOut | None
    media_error: str | None = Field(description="why the media cannot be shown, when they cannot")
    default_window: str
    windows: list[WindowOut]
    frame_bases: dict[str, int]

    @classmethod
    def of(
        cls,
        row: ProjectRow,
        history: list[HistoryEntry],
        planes: list[PlaneInfo],
        frames: FrameSize | None,
        media_error: str | None,
        default_window: WindowPreset,
    ) -> RowDetailOut:
        data = row.data_row
        attributes = {
            k: v
            for k, v in data.media_attributes.as_dict().items()
            if k not in ("instance_uids", "affine", "study_instance_uid")
        }
        return cls(
            id=data.id,
            global_key=data.global_key,
            external_id=data.external_id,
            media_type=data.media_type.value,
            attributes=attributes,
            batch_id=row.batch_id,
            batch_name=row.batch_name,
            status=row.status.value,
            task_name=row.task_name,
            history=[HistoryEntryOut.of(h) for h in history],
            planes=[PlaneOut.of(p) for p in planes],
            frames=FramesOut.of(frames) if frames is not None else None,
            media_error=media_error,
            default_window=default_window.value,
            windows=WINDOWS,
            frame_bases={"labelport": 0, "labelbox": 1, "encord": 0},
        )


class ShapeOut(BaseModel):
    type: str
    points: list[tuple[float, float]]
    plane: str | None
    frame: int | None
    radii: tuple[float, float] | None = None
    angle: float | None = None
    edges: list[tuple[int, int]] = []


class MaskOut(BaseModel):
    drawn_on: str | None
    frames: dict[str, list[int]] = Field(description="frames (from 0) per plane: axial, sagittal, coronal or image")


class SourceOut(BaseModel):
    job_id: str
    job_name: str
    format: str
    file: str | None
    at: datetime | None
    by: str | None


class AnnotationOut(BaseModel):
    """An object or classification of the row: shapes to draw, or a mask and its frames, with what describes it."""

    uuid: str
    kind: str
    feature: str
    schema_id: str
    tool: str
    color: str
    confidence: float | None
    answers: list[str]
    source: SourceOut | None
    shapes: list[ShapeOut]
    mask: MaskOut | None
    frames: list[tuple[int, int]]
    relation: tuple[str, str] | None

    @classmethod
    def of(cls, a: ViewerAnnotation) -> AnnotationOut:
        s = a.source
        return cls(
            uuid=a.uuid,
            kind=a.kind.value,
            feature=a.feature,
            schema_id=a.schema_id,
            tool=a.tool,
            color=a.color,
            confidence=a.confidence,
            answers=a.answers,
            source=SourceOut(job_id=s.job_id, job_name=s.job_name, format=s.format, file=s.file, at=s.at, by=s.by)
            if s is not None
            else None,
            shapes=[
                ShapeOut(
                    type=shape.type.value,
                    points=shape.points,
                    plane=shape.plane.value if shape.plane is not None else None,
                    frame=shape.frame,
                    radii=shape.radii,
                    angle=shape.angle,
                    edges=shape.edges,
                )
                for shape in a.shapes
            ],
            mask=MaskOut(drawn_on=a.mask.drawn_on.value if a.mask.drawn_on else None, frames=a.mask.frames)
            if a.mask is not None
            else None,
            frames=a.frames,
            relation=a.relation,
        )


class AnnotationsOut(BaseModel):
    items: list[AnnotationOut]


class NextOut(BaseModel):
    data_row_id: str | None = Field(description="the next row in the queue, or null when there is none")


class ViewerJobOut(BaseModel):
    """An import or export job of a project, with its progress; a finished export has a signed download URL."""

    id: str
    kind: str
    name: str
    format: str
    state: str
    label_kind: str | None
    file: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str | None
    progress_done: int
    progress_total: int | None
    total: int
    succeeded: int
    failed: int
    error: str | None
    download_url: str | None

    @classmethod
    def of(cls, job: JobInfo, download_url: str | None) -> ViewerJobOut:
        return cls(
            id=job.id,
            kind=job.kind.value,
            name=job.name,
            format=job.format,
            state=job.state.value,
            label_kind=job.options.get("label_kind") if job.kind is JobKind.IMPORT else None,
            file=job.options.get("input_name") if job.kind is JobKind.IMPORT else None,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            created_by=job.created_by,
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            total=job.total,
            succeeded=job.succeeded,
            failed=job.failed,
            error=job.error,
            download_url=download_url,
        )
