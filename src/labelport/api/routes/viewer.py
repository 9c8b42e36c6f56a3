"""The web viewer's reads: projects with workflow counts, a project's rows (filtered, paginated in SQL), one
row with its planes and annotations, plane images and mask overlays as PNG, the review queue, jobs.

Every route needs a key (the ``Authorization`` header, as the SDK sends it) of a user with a role in the
project (``Action.READ``): a key of another project gets 403, of another organisation 404. Frames count
from 0. Reviews go through the workflow routes the SDK uses (``POST /projects/{id}/workflow/actions``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from labelport.api.deps import CallerDep, PageDep
from labelport.api.errors import RESPONSES
from labelport.api.schemas import Page
from labelport.api.signed import signed_url
from labelport.api.viewer_schemas import (
    AnnotationOut,
    AnnotationsOut,
    BatchSummaryOut,
    FeatureOut,
    NextOut,
    ProjectSummaryOut,
    ProjectViewOut,
    RowDetailOut,
    RowOut,
    RowsPageOut,
    ViewerJobOut,
)
from labelport.model.jobs import JobKind, JobState
from labelport.model.label import LabelKind
from labelport.model.media import MediaType, PlaneGroup
from labelport.model.workflow import WorkflowStatus
from labelport.service import auth, projects, slices, viewer, viewer_annotations
from labelport.service.auth import Action

router = APIRouter(prefix="/api/v1", responses=RESPONSES, tags=["viewer"])

Frame = Annotated[int, Path(ge=0, le=1_000_000, description="Frame index, from 0")]
PNG_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}, "description": "A PNG image"}}
# Pixels of a row change only when the row does; a short private cache spares a reviewer's scrolling. Masks
# change when an import replaces an annotation (same uuid), so browsers ask again each time.
PNG_HEADERS = {"Cache-Control": "private, max-age=300"}
MASK_HEADERS = {"Cache-Control": "private, no-cache"}
DOWNLOAD_TTL = 3600


def _png(data: bytes, extra: dict[str, str] | None = None) -> Response:
    return Response(data, media_type="image/png", headers={**PNG_HEADERS, **(extra or {})})


def _cursor(page_offset: int, count: int, more: bool) -> str | None:
    return str(page_offset + count) if more else None


@router.get("/viewer/projects")
def viewer_projects(caller: CallerDep, page: PageDep) -> Page[ProjectSummaryOut]:
    """The projects the caller holds a role in (all for organisation admins), with rows per workflow status."""
    visible = auth.visible_project_ids(caller.ctx.db, caller.principal)
    found, more = viewer.project_summaries(caller.hub, visible, offset=page.offset, limit=page.limit)
    return Page[ProjectSummaryOut](
        items=[ProjectSummaryOut.of(s) for s in found], next_cursor=_cursor(page.offset, len(found), more)
    )


@router.get("/projects/{project_id}/viewer")
def viewer_project(project_id: str, caller: CallerDep) -> ProjectViewOut:
    """A project's counts, the caller's role and permissions, its batches and its ontology's features."""
    role = caller.require(project_id, Action.READ)
    return ProjectViewOut(
        project=ProjectSummaryOut.of(viewer.project_summary(caller.hub, project_id)),
        role=role.value,
        permissions=viewer.permissions(role),
        batches=[BatchSummaryOut.of(b) for b in projects.list_batches(caller.hub, project_id)],
        features=[
            FeatureOut(schema_id=f.schema_id, name=f.name, kind=f.kind, type=f.type, color=f.color)
            for f in viewer_annotations.features(caller.hub, project_id)
        ],
    )


@router.get("/projects/{project_id}/viewer/rows")
def viewer_rows(
    project_id: str,
    caller: CallerDep,
    page: PageDep,
    status: Annotated[WorkflowStatus | None, Query(description="Only rows in this workflow status")] = None,
    batch_id: Annotated[str | None, Query(max_length=64, description="Only rows of this batch")] = None,
    search: Annotated[
        str | None, Query(max_length=viewer.MAX_SEARCH, description="A piece of the global key, or a data row id")
    ] = None,
) -> RowsPageOut:
    """A project's data rows in queue order (batch priority, then id), with workflow status and label counts."""
    caller.require(project_id, Action.READ)
    filters = viewer.RowFilters.parse(status.value if status else None, batch_id, search)
    rows, total, more = viewer.list_rows(caller.hub, project_id, filters, offset=page.offset, limit=page.limit)
    return RowsPageOut(
        items=[RowOut.of(r) for r in rows], next_cursor=_cursor(page.offset, len(rows), more), total=total
    )


@router.get("/projects/{project_id}/viewer/rows/{data_row_id}")
def viewer_row(project_id: str, data_row_id: str, caller: CallerDep) -> RowDetailOut:
    """A data row of the project: status, history (newest first), its planes (volumes) or frames (images, video)."""
    caller.require(project_id, Action.READ)
    row = viewer.project_row(caller.hub, project_id, data_row_id)
    problem = slices.media_problem(caller.hub, row.data_row, row.version)
    is_volume = row.data_row.media_type in (MediaType.DICOM, MediaType.NIFTI)
    frames = None if is_volume or problem else slices.frame_size(caller.hub, row.data_row, row.version)
    return RowDetailOut.of(
        row,
        viewer.row_history(caller.hub, project_id, data_row_id),
        viewer.planes_of(row.data_row),
        frames,
        problem,
        slices.default_window(row.data_row),
    )


@router.get("/projects/{project_id}/viewer/rows/{data_row_id}/annotations")
def viewer_annotations_of(project_id: str, data_row_id: str, caller: CallerDep) -> AnnotationsOut:
    """Every annotation of the row, ground truth and pre-labels, with shapes per plane and frame, masks and the
    frames they cover on each plane, answers, colours and the import each came from."""
    caller.require(project_id, Action.READ)
    row = viewer.project_row(caller.hub, project_id, data_row_id)
    found = viewer_annotations.row_annotations(caller.hub, project_id, row.data_row)
    return AnnotationsOut(items=[AnnotationOut.of(a) for a in found])


@router.get(
    "/projects/{project_id}/viewer/rows/{data_row_id}/slices/{plane}/{frame}",
    response_class=Response,
    responses=PNG_RESPONSE,
)
def viewer_slice(
    project_id: str,
    data_row_id: str,
    plane: PlaneGroup,
    frame: Frame,
    caller: CallerDep,
    window: Annotated[str | None, Query(max_length=32, description="auto, ct-soft-tissue, ct-lung, ct-bone")] = None,
    center: Annotated[float | None, Query(ge=-1e6, le=1e6, description="Window centre (with width)")] = None,
    width: Annotated[float | None, Query(ge=1, le=1e7, description="Window width (with center)")] = None,
) -> Response:
    """A frame of a plane of the row's volume as an 8-bit grey PNG; the window used is in ``X-Window-Center``
    and ``X-Window-Width``."""
    caller.require(project_id, Action.READ)
    row = viewer.project_row(caller.hub, project_id, data_row_id)
    choice = slices.window_choice(window, center, width)
    rendered = slices.slice_png(caller.hub, row.data_row, row.version, plane, frame, choice)
    headers = {}
    if rendered.window is not None:
        headers = {"X-Window-Center": f"{rendered.window.center:g}", "X-Window-Width": f"{rendered.window.width:g}"}
    return _png(rendered.png, headers)


@router.get(
    "/projects/{project_id}/viewer/rows/{data_row_id}/frames/{frame}", response_class=Response, responses=PNG_RESPONSE
)
def viewer_frame(project_id: str, data_row_id: str, frame: Frame, caller: CallerDep) -> Response:
    """A frame of the row's image (frame 0) or video as an RGB PNG."""
    caller.require(project_id, Action.READ)
    row = viewer.project_row(caller.hub, project_id, data_row_id)
    return _png(slices.frame_png(caller.hub, row.data_row, row.version, frame).png)


@router.get(
    "/projects/{project_id}/viewer/rows/{data_row_id}/masks/{kind}/{annotation_uuid}/slices/{plane}/{frame}",
    response_class=Response,
    responses=PNG_RESPONSE,
)
def viewer_volume_mask(
    project_id: str,
    data_row_id: str,
    kind: LabelKind,
    annotation_uuid: Annotated[str, Path(max_length=64)],
    plane: PlaneGroup,
    frame: Frame,
    caller: CallerDep,
) -> Response:
    """A volume mask cut on a frame of any plane, as an RGBA PNG in the feature's colour."""
    caller.require(project_id, Action.READ)
    row = viewer.project_row(caller.hub, project_id, data_row_id)
    annotation, color = viewer_annotations.find_annotation(caller.hub, project_id, row.data_row, annotation_uuid, kind)
    return _png(slices.mask_png(caller.hub, row.data_row, row.version, annotation, plane, frame, color), MASK_HEADERS)


@router.get(
    "/projects/{project_id}/viewer/rows/{data_row_id}/masks/{kind}/{annotation_uuid}/frames/{frame}",
    response_class=Response,
    responses=PNG_RESPONSE,
)
def viewer_frame_mask(
    project_id: str,
    data_row_id: str,
    kind: LabelKind,
    annotation_uuid: Annotated[str, Path(max_length=64)],
    frame: Frame,
    caller: CallerDep,
) -> Response:
    """An image or video mask on a frame, as an RGBA PNG in the feature's colour."""
    caller.require(project_id, Action.READ)
    row = viewer.project_row(caller.hub, project_id, data_row_id)
    annotation, color = viewer_annotations.find_annotation(caller.hub, project_id, row.data_row, annotation_uuid, kind)
    return _png(slices.mask_png(caller.hub, row.data_row, row.version, annotation, None, frame, color), MASK_HEADERS)


@router.get("/projects/{project_id}/viewer/queue/next")
def viewer_next(
    project_id: str,
    caller: CallerDep,
    after: Annotated[str | None, Query(max_length=64, description="The row being looked at")] = None,
    status: Annotated[WorkflowStatus, Query(description="The queue: rows in this status")] = WorkflowStatus.IN_REVIEW,
) -> NextOut:
    """The next row of the review queue (rows in ``status``, batch priority then id) after ``after``."""
    caller.require(project_id, Action.READ)
    return NextOut(data_row_id=viewer.next_in_queue(caller.hub, project_id, after, status))


@router.get("/projects/{project_id}/viewer/jobs")
def viewer_jobs(
    project_id: str,
    caller: CallerDep,
    page: PageDep,
    request: Request,
    kind: Annotated[JobKind | None, Query(description="import or export")] = None,
) -> Page[ViewerJobOut]:
    """The project's imports and exports, newest first, with progress; finished exports with a download URL
    signed for an hour. Per-annotation failures: ``GET /imports/{id}/statuses?failures_only=true``."""
    role = caller.require(project_id, Action.READ)
    export_allowed = auth.ALLOWED[Action.EXPORT]
    found, more = viewer.list_jobs(caller.hub, project_id, kind, offset=page.offset, limit=page.limit)
    items = []
    for job in found:
        url = None
        if job.kind is JobKind.EXPORT and job.state is JobState.FINISHED and role in export_allowed:
            url = signed_url(request, caller.principal, f"/api/v1/exports/{job.id}/download", DOWNLOAD_TTL)
        items.append(ViewerJobOut.of(job, url))
    return Page[ViewerJobOut](items=items, next_cursor=_cursor(page.offset, len(found), more))
