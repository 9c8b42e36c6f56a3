"""What the web viewer lists: projects with their workflow counts, a project's data rows with state and label
counts (filtered and paginated in SQL), one row with its planes, the review queue, and a project's jobs.

Access is checked by the caller (``service.auth.require`` with ``Action.READ``); every query here stays
inside the hub's organisation and the project named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelport.errors import NotFoundError, ValidationError
from labelport.imaging.attributes import grid_from_attributes
from labelport.imaging.display import EdgeLetters, edge_letters, plane_matrix
from labelport.imaging.planes import PlaneView
from labelport.model.jobs import JobInfo, JobKind
from labelport.model.label import LabelKind
from labelport.model.media import DataRow, MediaType, PlaneGroup
from labelport.model.workflow import HistoryEntry, WorkflowStatus, as_utc
from labelport.service import auth, workflow
from labelport.service.datasets import to_data_row
from labelport.service.hub import Hub
from labelport.service.projects import get_project
from labelport.service.records import ProjectInfo
from labelport.store import jobs as job_store
from labelport.store.schema import (
    annotation_rows,
    batch_data_rows,
    batches,
    data_rows,
    jobs,
    labels,
    projects,
    workflow_tasks,
)

MAX_SEARCH = 200


def _status() -> sa.ColumnElement[str]:
    """A row's workflow status; rows without a task yet are To label."""
    return sa.func.coalesce(workflow_tasks.c.status, WorkflowStatus.TO_LABEL.value)


# The order of a project's rows, and so of its review queue: batch priority (1 first), then data row id.
_QUEUE_ORDER = (batches.c.priority, data_rows.c.id)


def permissions(role: auth.Role) -> list[str]:
    """The actions a role may take in a project (``service.auth.ALLOWED``), for a client to show or hide."""
    return [action.value for action, roles in auth.ALLOWED.items() if role in roles]


# --- projects ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """A project and how many of its data rows are in each workflow status."""

    project: ProjectInfo
    counts: dict[WorkflowStatus, int]

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _project(row: Any) -> ProjectInfo:
    return ProjectInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        media_type=MediaType(row.media_type),
        ontology_id=row.ontology_id,
        created_at=row.created_at,
    )


def _status_counts(conn: sa.Connection, project_ids: list[str]) -> dict[str, dict[WorkflowStatus, int]]:
    counts: dict[str, dict[WorkflowStatus, int]] = {p: dict.fromkeys(WorkflowStatus, 0) for p in project_ids}
    if not project_ids:
        return counts
    query = (
        sa.select(batch_data_rows.c.project_id, workflow_tasks.c.status, sa.func.count().label("n"))
        .select_from(batch_data_rows)
        .outerjoin(
            workflow_tasks,
            sa.and_(
                workflow_tasks.c.project_id == batch_data_rows.c.project_id,
                workflow_tasks.c.data_row_id == batch_data_rows.c.data_row_id,
            ),
        )
        .where(batch_data_rows.c.project_id.in_(project_ids))
        .group_by(batch_data_rows.c.project_id, workflow_tasks.c.status)
    )
    for project_id, status, n in conn.execute(query):
        key = WorkflowStatus(status) if status is not None else WorkflowStatus.TO_LABEL  # no task yet: To label
        counts[project_id][key] += int(n)
    return counts


def project_summaries(
    hub: Hub, visible: set[str] | None, *, offset: int = 0, limit: int = 100
) -> tuple[list[ProjectSummary], bool]:
    """The organisation's projects (only ``visible`` ones unless None), oldest first, one page, with their
    workflow counts; and whether more follow."""
    query = sa.select(projects).where(projects.c.organization_id == hub.organization_id)
    if visible is not None:
        query = query.where(projects.c.id.in_(sorted(visible)))
    query = query.order_by(projects.c.created_at, projects.c.id).offset(offset).limit(limit + 1)
    with hub.read() as conn:
        found = conn.execute(query).all()
        page = found[:limit]
        counts = _status_counts(conn, [r.id for r in page])
    return [ProjectSummary(_project(r), counts[r.id]) for r in page], len(found) > limit


def project_summary(hub: Hub, project_id: str) -> ProjectSummary:
    project = get_project(hub, project_id)
    with hub.read() as conn:
        return ProjectSummary(project, _status_counts(conn, [project_id])[project_id])


# --- data rows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowFilters:
    """Filters of a project's row list, ANDed: workflow status, batch, and a case-insensitive piece of the
    global key (or the exact data row id)."""

    status: WorkflowStatus | None = None
    batch_id: str | None = None
    search: str | None = None

    @classmethod
    def parse(cls, status: str | None = None, batch_id: str | None = None, search: str | None = None) -> RowFilters:
        if search is not None and len(search) > MAX_SEARCH:
            raise ValidationError(
                f"search is at most {MAX_SEARCH} characters, found {len(search)}", field="search", value=search
            )
        return cls(
            status=WorkflowStatus.parse(status) if status else None,
            batch_id=batch_id or None,
            search=(search.strip() or None) if search is not None else None,
        )


@dataclass(frozen=True, slots=True)
class RowSummary:
    """One data row of a project as its list shows it."""

    id: str
    global_key: str | None
    external_id: str | None
    media_type: MediaType
    batch_id: str
    batch_name: str
    priority: int
    status: WorkflowStatus
    updated_at: datetime | None
    annotations: dict[LabelKind, int] = field(default_factory=dict)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _rows_query(project_id: str, filters: RowFilters) -> sa.Select[Any]:
    query = (
        sa.select(
            data_rows.c.id,
            data_rows.c.global_key,
            data_rows.c.external_id,
            data_rows.c.media_type,
            batches.c.id.label("batch_id"),
            batches.c.name.label("batch_name"),
            batches.c.priority,
            _status().label("status"),
            workflow_tasks.c.updated_at.label("status_updated_at"),
        )
        .select_from(batch_data_rows)
        .join(data_rows, data_rows.c.id == batch_data_rows.c.data_row_id)
        .join(batches, batches.c.id == batch_data_rows.c.batch_id)
        .outerjoin(
            workflow_tasks,
            sa.and_(workflow_tasks.c.project_id == project_id, workflow_tasks.c.data_row_id == data_rows.c.id),
        )
        .where(batch_data_rows.c.project_id == project_id)
    )
    if filters.status is not None:
        query = query.where(_status() == filters.status.value)
    if filters.batch_id is not None:
        query = query.where(batches.c.id == filters.batch_id)
    if filters.search is not None:
        query = query.where(
            sa.or_(
                sa.func.lower(data_rows.c.global_key).like(_like(filters.search), escape="\\"),
                data_rows.c.id == filters.search,
            )
        )
    return query


def annotation_counts(conn: sa.Connection, project_id: str, data_row_ids: list[str]) -> dict[str, dict[LabelKind, int]]:
    """How many annotations each row has per label kind (through ``labels``' unique index)."""
    counts: dict[str, dict[LabelKind, int]] = {i: dict.fromkeys(LabelKind, 0) for i in data_row_ids}
    for start in range(0, len(data_row_ids), 900):
        query = (
            sa.select(labels.c.data_row_id, labels.c.kind, sa.func.count(annotation_rows.c.id))
            .select_from(labels)
            .join(annotation_rows, annotation_rows.c.label_id == labels.c.id)
            .where(labels.c.project_id == project_id, labels.c.data_row_id.in_(data_row_ids[start : start + 900]))
            .group_by(labels.c.data_row_id, labels.c.kind)
        )
        for row_id, kind, n in conn.execute(query):
            counts[row_id][LabelKind(kind)] = int(n)
    return counts


def list_rows(
    hub: Hub, project_id: str, filters: RowFilters, *, offset: int = 0, limit: int = 100
) -> tuple[list[RowSummary], int, bool]:
    """One page of a project's data rows in queue order (batch priority, then id) with their workflow status and
    annotation counts; the number of rows matching ``filters``; whether more pages follow."""
    get_project(hub, project_id)
    query = _rows_query(project_id, filters)
    with hub.read() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
        found = conn.execute(query.order_by(*_QUEUE_ORDER).offset(offset).limit(limit + 1)).all()
        page = found[:limit]
        counts = annotation_counts(conn, project_id, [r.id for r in page])
    rows = [
        RowSummary(
            id=r.id,
            global_key=r.global_key,
            external_id=r.external_id,
            media_type=MediaType(r.media_type),
            batch_id=r.batch_id,
            batch_name=r.batch_name,
            priority=r.priority,
            status=WorkflowStatus(r.status),
            updated_at=as_utc(r.status_updated_at) if r.status_updated_at is not None else None,
            annotations=counts[r.id],
        )
        for r in page
    ]
    return rows, total, len(found) > limit


@dataclass(frozen=True, slots=True)
class ProjectRow:
    """A data row as a project holds it: the row, its batch and workflow status, and ``version`` (its last
    update) so caches of its pixels are dropped when it changes."""

    data_row: DataRow
    version: str
    batch_id: str
    batch_name: str
    priority: int
    status: WorkflowStatus
    task_name: str


def project_row(hub: Hub, project_id: str, data_row_id: str) -> ProjectRow:
    """The data row ``data_row_id`` of project ``project_id``; NotFoundError when the project does not hold it."""
    query = (
        sa.select(
            data_rows,
            batches.c.id.label("batch_id"),
            batches.c.name.label("batch_name"),
            batches.c.priority,
            _status().label("status"),
            workflow_tasks.c.task_name,
        )
        .select_from(batch_data_rows)
        .join(data_rows, data_rows.c.id == batch_data_rows.c.data_row_id)
        .join(batches, batches.c.id == batch_data_rows.c.batch_id)
        .join(projects, projects.c.id == batch_data_rows.c.project_id)
        .outerjoin(
            workflow_tasks,
            sa.and_(workflow_tasks.c.project_id == project_id, workflow_tasks.c.data_row_id == data_rows.c.id),
        )
        .where(
            batch_data_rows.c.project_id == project_id,
            batch_data_rows.c.data_row_id == data_row_id,
            projects.c.organization_id == hub.organization_id,
        )
    )
    with hub.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"data row {data_row_id!r} is not in project {project_id!r}")
    status = WorkflowStatus(row.status)
    return ProjectRow(
        data_row=to_data_row(row),
        version=as_utc(row.updated_at).isoformat(),
        batch_id=row.batch_id,
        batch_name=row.batch_name,
        priority=row.priority,
        status=status,
        task_name=row.task_name or status.task_name,
    )


def next_in_queue(
    hub: Hub, project_id: str, after: str | None, status: WorkflowStatus = WorkflowStatus.IN_REVIEW
) -> str | None:
    """The next data row in ``status`` after ``after`` in queue order, wrapping to the first; None when no row
    but ``after`` is in that status."""
    get_project(hub, project_id)
    query = _rows_query(project_id, RowFilters(status=status))
    with hub.read() as conn:
        if after is not None:
            position = conn.execute(
                sa.select(batches.c.priority)
                .select_from(batch_data_rows)
                .join(batches, batches.c.id == batch_data_rows.c.batch_id)
                .where(batch_data_rows.c.project_id == project_id, batch_data_rows.c.data_row_id == after)
            ).scalar()
            if position is not None:
                later = query.where(
                    sa.or_(
                        batches.c.priority > position,
                        sa.and_(batches.c.priority == position, data_rows.c.id > after),
                    )
                )
                found = conn.execute(later.order_by(*_QUEUE_ORDER).limit(1)).first()
                if found is not None:
                    return str(found.id)
        first = conn.execute(query.where(data_rows.c.id != (after or "")).order_by(*_QUEUE_ORDER).limit(1)).first()
    return str(first.id) if first is not None else None


def row_history(hub: Hub, project_id: str, data_row_id: str) -> list[HistoryEntry]:
    """The row's workflow changes, newest first."""
    return workflow.history(hub, project_id, data_row_id)


# --- planes ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaneInfo:
    """One plane of a volume row as a viewer draws it: image size, frames, pixel size in mm, the letters at its
    edges, and ``to_lps``, the 4 x 4 matrix from ``(x, y, frame, 1)`` to LPS mm (frames from 0)."""

    plane: PlaneGroup
    width: int
    height: int
    frames: int
    spacing: tuple[float, float]
    letters: EdgeLetters
    to_lps: list[list[float]]
    from_lps: list[list[float]]


def planes_of(row: DataRow) -> list[PlaneInfo]:
    """The axial, sagittal and coronal planes of a DICOM or NIfTI row (from its stored geometry)."""
    if row.media_type not in (MediaType.DICOM, MediaType.NIFTI):
        return []
    grid = grid_from_attributes(row.media_attributes)
    out = []
    for group in (PlaneGroup.AXIAL, PlaneGroup.SAGITTAL, PlaneGroup.CORONAL):
        view = PlaneView.of(grid, group)
        matrix = plane_matrix(view)
        out.append(
            PlaneInfo(
                plane=group,
                width=view.width,
                height=view.height,
                frames=view.frames,
                spacing=view.pixel_spacing,
                letters=edge_letters(view),
                to_lps=matrix.tolist(),
                from_lps=np.linalg.inv(matrix).tolist(),
            )
        )
    return out


# --- jobs --------------------------------------------------------------------------------------------------


def list_jobs(
    hub: Hub, project_id: str, kind: JobKind | None = None, *, offset: int = 0, limit: int = 100
) -> tuple[list[JobInfo], bool]:
    """A project's import and export jobs (or one kind), newest first, one page; and whether more follow."""
    get_project(hub, project_id)
    query = sa.select(jobs).where(jobs.c.organization_id == hub.organization_id, jobs.c.project_id == project_id)
    if kind is not None:
        query = query.where(jobs.c.kind == kind.value)
    query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).offset(offset).limit(limit + 1)
    with hub.read() as conn:
        found = [job_store.info(r) for r in conn.execute(query)]
    return found[:limit], len(found) > limit


__all__ = [
    "PlaneInfo",
    "ProjectRow",
    "ProjectSummary",
    "RowFilters",
    "RowSummary",
    "annotation_counts",
    "list_jobs",
    "list_rows",
    "next_in_queue",
    "permissions",
    "planes_of",
    "project_row",
    "project_summaries",
    "project_summary",
    "row_history",
]
