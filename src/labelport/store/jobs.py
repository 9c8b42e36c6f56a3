"""The ``jobs`` table: every query on it. Rows come back as ``labelport.model.jobs.JobInfo``.

State changes are conditional where two runners could race: ``claim`` moves a job to RUNNING only while
it is unfinished, and ``finish`` / ``fail`` only move an unfinished job, so a job ends once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from labelport.model.jobs import UNFINISHED, JobInfo, JobKind, JobState
from labelport.store.schema import jobs

_UNFINISHED = [s.value for s in UNFINISHED]


def info(row: Any) -> JobInfo:
    return JobInfo(
        id=row.id,
        organization_id=row.organization_id,
        project_id=row.project_id,
        kind=JobKind(row.kind),
        format=row.format,
        state=JobState(row.state),
        name=row.name,
        created_at=row.created_at,
        options=dict(row.options or {}),
        input_blob=row.input_blob,
        output=row.output,
        progress_done=row.progress_done,
        progress_total=row.progress_total,
        total=row.total,
        succeeded=row.succeeded,
        failed=row.failed,
        errors=tuple(row.errors or ()),
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        created_by=row.created_by,
    )


def insert(
    conn: sa.Connection,
    *,
    job_id: str,
    organization_id: str,
    project_id: str | None,
    kind: JobKind,
    fmt: str,
    name: str,
    options: Mapping[str, Any],
    input_blob: str | None,
    created_at: datetime,
    created_by: str | None,
) -> None:
    conn.execute(
        jobs.insert().values(
            id=job_id,
            organization_id=organization_id,
            project_id=project_id,
            kind=kind.value,
            format=fmt,
            state=JobState.QUEUED.value,
            name=name,
            options=dict(options),
            input_blob=input_blob,
            progress_done=0,
            total=0,
            succeeded=0,
            failed=0,
            errors=[],
            created_at=created_at,
            created_by=created_by,
        )
    )


def find(
    conn: sa.Connection, job_id: str, *, organization_id: str | None = None, kind: JobKind | None = None
) -> JobInfo | None:
    """The job ``job_id``; with ``organization_id`` or ``kind``, only when it is of those."""
    query = sa.select(jobs).where(jobs.c.id == job_id)
    if organization_id is not None:
        query = query.where(jobs.c.organization_id == organization_id)
    if kind is not None:
        query = query.where(jobs.c.kind == kind.value)
    row = conn.execute(query).first()
    return None if row is None else info(row)


def find_all(
    conn: sa.Connection, organization_id: str, *, project_id: str | None = None, kind: JobKind | None = None
) -> list[JobInfo]:
    """An organisation's jobs, oldest first; only a project's, or one kind's, when given."""
    query = sa.select(jobs).where(jobs.c.organization_id == organization_id)
    if project_id is not None:
        query = query.where(jobs.c.project_id == project_id)
    if kind is not None:
        query = query.where(jobs.c.kind == kind.value)
    return [info(r) for r in conn.execute(query.order_by(jobs.c.created_at, jobs.c.id))]


def unfinished(conn: sa.Connection) -> list[JobInfo]:
    """Every QUEUED or RUNNING job of every organisation, oldest first (recovery after a restart)."""
    query = sa.select(jobs).where(jobs.c.state.in_(_UNFINISHED)).order_by(jobs.c.created_at, jobs.c.id)
    return [info(r) for r in conn.execute(query)]


def claim(conn: sa.Connection, job_id: str, at: datetime) -> bool:
    """QUEUED (or RUNNING, after a crash) -> RUNNING; False when the job has ended meanwhile."""
    result = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state.in_(_UNFINISHED))
        .values(state=JobState.RUNNING.value, started_at=at, progress_done=0, error=None)
    )
    return result.rowcount == 1


def set_progress(conn: sa.Connection, job_id: str, done: int, total: int | None) -> None:
    conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING.value)
        .values(progress_done=done, progress_total=total)
    )


def finish(
    conn: sa.Connection,
    job_id: str,
    at: datetime,
    *,
    total: int,
    succeeded: int,
    failed: int,
    errors: Sequence[Mapping[str, Any]] = (),
    output: str | None = None,
) -> None:
    conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state.in_(_UNFINISHED))
        .values(
            state=JobState.FINISHED.value,
            finished_at=at,
            progress_done=total,
            progress_total=total,
            total=total,
            succeeded=succeeded,
            failed=failed,
            errors=[dict(e) for e in errors],
            output=output,
            error=None,
        )
    )


def fail(conn: sa.Connection, job_id: str, at: datetime, reason: str) -> None:
    conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state.in_(_UNFINISHED))
        .values(state=JobState.FAILED.value, finished_at=at, error=reason)
    )


__all__ = ["claim", "fail", "find", "find_all", "finish", "info", "insert", "set_progress"]
