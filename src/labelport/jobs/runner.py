"""Job runners and the jobs they run. A job is a row in the database (``import_jobs``, ``export_jobs``); a
runner is told its kind and id and does the work; nothing about a job lives only in a runner's memory."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, BinaryIO, Protocol, cast

import sqlalchemy as sa

from labelport.service import export_jobs as export_jobs_service
from labelport.service import imports as import_service
from labelport.service.hub import Hub, Settings
from labelport.store import BlobStore, Database
from labelport.store.schema import export_jobs, import_jobs, projects

log = logging.getLogger(__name__)

RESTART_REASON = "server restarted before the job finished"
UNFINISHED = ("QUEUED", "RUNNING")


class JobKind(StrEnum):
    IMPORT = "import"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job needs to open its own service context: the store, the blobs and the settings."""

    db: Database
    blobs: BlobStore
    settings: Settings = field(default_factory=Settings.from_env)


def run_import_job(ctx: JobContext, job_id: str, input_name: str | None = None) -> None:
    """Run a queued import from its NDJSON input in the blob store, as the user who started it.

    ``input_name`` (the uploader's file name) names the file in problem locations; a resumed job
    has lost it until ``import_jobs`` keeps it (locations then give the line only).

    ``run_import`` writes everything in one transaction, so running a job whose earlier run was
    interrupted is safe; a job without its input cannot be re-run and fails with the reason.
    """
    with ctx.db.read() as conn:
        row = conn.execute(
            sa.select(
                import_jobs.c.input_blob,
                import_jobs.c.created_by,
                import_jobs.c.state,
                import_jobs.c.format,
                import_jobs.c.kind,
                projects.c.organization_id,
            )
            .join(projects, projects.c.id == import_jobs.c.project_id)
            .where(import_jobs.c.id == job_id)
        ).first()
    if row is None or row.state not in UNFINISHED:
        return
    hub = Hub(
        db=ctx.db,
        blobs=ctx.blobs,
        organization_id=row.organization_id,
        actor=row.created_by or "labelport",
        settings=ctx.settings,
    )
    if row.input_blob is None:
        import_service.fail_import(hub, job_id, "the job's input was not kept, so it cannot run")
        return
    path = ctx.blobs.path(row.input_blob)
    if not path.is_file():
        import_service.fail_import(hub, job_id, f"the job's input (blob {row.input_blob}) is missing from the store")
        return
    try:
        with path.open("rb") as handle:
            _entry, items = import_service.reader(
                hub, cast(IO[bytes], _Named(handle, input_name)), row.format, row.kind, project_id=row.project_id
            )
            import_service.run_import(hub, job_id, items)
    except Exception:
        # run_import has recorded the failure and its reason on the job; the runner only logs it.
        log.exception("import job %s failed", job_id)


class _Named:
    """The blob's stream under the uploader's file name, so statuses never show the server's blob path."""

    def __init__(self, handle: BinaryIO, name: str | None) -> None:
        self._handle = handle
        self.name = name

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._handle)


def _job_hub(ctx: JobContext, project_id: str, actor: str | None) -> Hub | None:
    with ctx.db.read() as conn:
        organization = conn.execute(sa.select(projects.c.organization_id).where(projects.c.id == project_id)).scalar()
    if organization is None:
        return None
    return Hub(
        db=ctx.db, blobs=ctx.blobs, organization_id=organization, actor=actor or "labelport", settings=ctx.settings
    )


def run_export_job(ctx: JobContext, job_id: str, _input_name: str | None = None) -> None:
    """Write a queued export's file under ``$LABELPORT_HOME/exports/<job id>``, as the user who started it.

    An export only reads the store, so an interrupted one simply runs again.
    """
    with ctx.db.read() as conn:
        row = conn.execute(
            sa.select(export_jobs.c.project_id, export_jobs.c.created_by, export_jobs.c.state).where(
                export_jobs.c.id == job_id
            )
        ).first()
    if row is None or row.state not in UNFINISHED:
        return
    hub = _job_hub(ctx, row.project_id, row.created_by)
    if hub is not None:
        export_jobs_service.run_export_job(hub, job_id)


HANDLERS: dict[JobKind, Callable[[JobContext, str, str | None], None]] = {
    JobKind.IMPORT: run_import_job,
    JobKind.EXPORT: run_export_job,
}


class JobRunner(Protocol):
    """Runs jobs recorded in the database; ``submit`` returns at once."""

    def submit(self, kind: JobKind, job_id: str, input_name: str | None = None) -> None: ...
    def shutdown(self, wait: bool = True) -> None: ...


class ThreadRunner:
    """Jobs on threads of this process. One worker on SQLite, whose writers take turns anyway."""

    def __init__(self, ctx: JobContext, workers: int | None = None) -> None:
        self.ctx = ctx
        self.workers = workers or (1 if ctx.db.is_sqlite else 4)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="labelport-job")
        self._lock = threading.Lock()
        self._running: dict[str, Future[None]] = {}

    def submit(self, kind: JobKind, job_id: str, input_name: str | None = None) -> None:
        handler = HANDLERS[JobKind(kind)]
        with self._lock:
            if job_id in self._running and not self._running[job_id].done():
                return
            self._running[job_id] = self._pool.submit(handler, self.ctx, job_id, input_name)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a submitted job is done (tests and the CLI use this)."""
        with self._lock:
            future = self._running.get(job_id)
        if future is not None:
            future.result(timeout)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def recover_jobs(ctx: JobContext, runner: JobRunner) -> tuple[list[str], list[str]]:
    """After a (re)start: re-run unfinished jobs that kept their input, fail the rest with the reason.

    Returns (resumed job ids, failed job ids). Run it once per deployment at start-up: with several
    server replicas, only one of them should recover (see docs/server.md).
    """
    with ctx.db.read() as conn:
        rows = conn.execute(
            sa.select(import_jobs.c.id, import_jobs.c.input_blob, projects.c.organization_id)
            .join(projects, projects.c.id == import_jobs.c.project_id)
            .where(import_jobs.c.state.in_(UNFINISHED))
            .order_by(import_jobs.c.created_at)
        ).all()
    resumed: list[str] = []
    failed: list[str] = []
    for row in rows:
        if row.input_blob is not None and ctx.blobs.path(row.input_blob).is_file():
            resumed.append(row.id)
            runner.submit(JobKind.IMPORT, row.id)
        else:
            hub = Hub(db=ctx.db, blobs=ctx.blobs, organization_id=row.organization_id, actor="labelport")
            import_service.fail_import(hub, row.id, RESTART_REASON)
            failed.append(row.id)
    with ctx.db.read() as conn:
        exporting = conn.execute(
            sa.select(export_jobs.c.id).where(export_jobs.c.state.in_(UNFINISHED)).order_by(export_jobs.c.created_at)
        ).scalars()
        unfinished_exports = list(exporting)
    for job_id in unfinished_exports:  # exports only read the store: every one can run again
        resumed.append(job_id)
        runner.submit(JobKind.EXPORT, job_id)
    return resumed, failed
