"""The ``jobs`` table: every query on it. Rows come back as ``labelport.model.jobs.JobInfo``.

State changes are conditional where two runners could race. ``claim`` is one UPDATE that moves a job to
RUNNING, leased to its runner until a time, only while it is QUEUED or RUNNING under an expired lease: the
database lets one runner win, wherever the runners are. ``renew`` extends the winner's lease while it works.
``finish`` / ``fail`` / ``set_progress`` only move an unfinished job and, given an ``owner``, only while that
runner holds the claim, so a runner whose lease was taken over cannot end (or commit) the job a second time.
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
        claimed_by=row.claimed_by,
        lease_expires_at=row.lease_expires_at,
        attempts=row.attempts,
        result=row.result,
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
            attempts=0,
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
    conn: sa.Connection,
    organization_id: str,
    *,
    project_id: str | None = None,
    kind: JobKind | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[JobInfo]:
    """An organisation's jobs, oldest first; only a project's, or one kind's, when given; ``limit`` of them
    from ``offset``."""
    query = sa.select(jobs).where(jobs.c.organization_id == organization_id)
    if project_id is not None:
        query = query.where(jobs.c.project_id == project_id)
    if kind is not None:
        query = query.where(jobs.c.kind == kind.value)
    query = query.order_by(jobs.c.created_at, jobs.c.id).offset(offset).limit(limit)
    return [info(r) for r in conn.execute(query)]


def unfinished(conn: sa.Connection) -> list[JobInfo]:
    """Every QUEUED or RUNNING job of every organisation, oldest first (recovery after a restart)."""
    query = sa.select(jobs).where(jobs.c.state.in_(_UNFINISHED)).order_by(jobs.c.created_at, jobs.c.id)
    return [info(r) for r in conn.execute(query)]


def _lease_lapsed(at: datetime) -> sa.ColumnElement[bool]:
    """A RUNNING job whose runner stopped renewing its lease (or that was claimed before leases existed)."""
    return sa.and_(
        jobs.c.state == JobState.RUNNING.value,
        sa.or_(jobs.c.lease_expires_at.is_(None), jobs.c.lease_expires_at < at),
    )


def release(conn: sa.Connection, job_id: str, *, owner: str) -> bool:
    """Let the lease of ``owner`` lapse now (its runner is known to be dead), so another runner may claim."""
    result = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING.value, jobs.c.claimed_by == owner)
        .values(lease_expires_at=None)
    )
    return result.rowcount == 1


def claim(conn: sa.Connection, job_id: str, at: datetime, *, owner: str, lease_until: datetime) -> bool:
    """QUEUED, or RUNNING under a lapsed lease -> RUNNING, leased to ``owner`` until ``lease_until``, one more
    attempt; False when the job has ended or another runner holds a live lease."""
    result = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, sa.or_(jobs.c.state == JobState.QUEUED.value, _lease_lapsed(at)))
        .values(
            state=JobState.RUNNING.value,
            started_at=at,
            progress_done=0,
            error=None,
            claimed_by=owner,
            lease_expires_at=lease_until,
            attempts=jobs.c.attempts + 1,
        )
    )
    return result.rowcount == 1


def renew(conn: sa.Connection, job_id: str, *, owner: str, lease_until: datetime) -> bool:
    """Extend ``owner``'s lease on a RUNNING job; False when the job ended or another runner took it over."""
    result = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING.value, jobs.c.claimed_by == owner)
        .values(lease_expires_at=lease_until)
    )
    return result.rowcount == 1


def _held(job_id: str, owner: str | None) -> sa.ColumnElement[bool]:
    """The job is unfinished and, with an owner, RUNNING under that owner's claim."""
    if owner is None:
        return sa.and_(jobs.c.id == job_id, jobs.c.state.in_(_UNFINISHED))
    return sa.and_(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING.value, jobs.c.claimed_by == owner)


def set_progress(conn: sa.Connection, job_id: str, done: int, total: int | None, *, owner: str | None = None) -> None:
    held = _held(job_id, owner) if owner else sa.and_(jobs.c.id == job_id, jobs.c.state == JobState.RUNNING.value)
    conn.execute(jobs.update().where(held).values(progress_done=done, progress_total=total))


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
    result: Mapping[str, Any] | None = None,
    owner: str | None = None,
) -> bool:
    """End the job FINISHED (only while ``owner`` holds it, when given); False when it was not moved."""
    moved = conn.execute(
        jobs.update()
        .where(_held(job_id, owner))
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
            result=dict(result) if result is not None else None,
            error=None,
            lease_expires_at=None,
        )
    )
    return moved.rowcount == 1


def fail(conn: sa.Connection, job_id: str, at: datetime, reason: str, *, owner: str | None = None) -> bool:
    """End the job FAILED with ``reason`` (only while ``owner`` holds it, when given)."""
    result = conn.execute(
        jobs.update()
        .where(_held(job_id, owner))
        .values(state=JobState.FAILED.value, finished_at=at, error=reason, lease_expires_at=None)
    )
    return result.rowcount == 1


def fail_abandoned(conn: sa.Connection, job_id: str, at: datetime, reason: str, *, queued_before: datetime) -> bool:
    """End FAILED a job nobody runs: QUEUED since before ``queued_before``, or RUNNING under a lapsed lease."""
    abandoned = sa.or_(
        sa.and_(jobs.c.state == JobState.QUEUED.value, jobs.c.created_at < queued_before), _lease_lapsed(at)
    )
    result = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, abandoned)
        .values(state=JobState.FAILED.value, finished_at=at, error=reason, lease_expires_at=None)
    )
    return result.rowcount == 1


__all__ = [
    "claim",
    "fail",
    "fail_abandoned",
    "find",
    "find_all",
    "finish",
    "info",
    "insert",
    "release",
    "renew",
    "set_progress",
    "unfinished",
]
