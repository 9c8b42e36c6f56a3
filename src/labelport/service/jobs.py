"""Jobs: one lifecycle for every long operation, and ``run``, the one way a job is executed.

A job is a row of ``jobs`` (``labelport.store.jobs``): created QUEUED with its input in the blob store,
claimed RUNNING by whoever runs it, and ended FINISHED or FAILED. ``run(stores, job_id)`` is what the
embedded SDK, the CLI, the server's threads and any later worker call: it opens a Hub acting for the job's
organisation and creator, dispatches by kind (imports: ``service.import_jobs``, exports:
``service.export_jobs``), and makes sure a job that fails anywhere ends FAILED with a reason its user can
read: a labelport error's own message, or for anything unexpected a generic sentence (details go to the
log, never SQL or a server path to the user).

``recover`` is the start-up half: unfinished jobs that can run again (an import whose input is kept, any
export) are returned to be re-run; the others end FAILED with ``RESTART_REASON``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from labelport.errors import LabelportError, MediaError, NotFoundError, StoreError, ValidationError
from labelport.model.ids import new_id
from labelport.model.jobs import UNFINISHED, JobInfo, JobKind, JobState
from labelport.service.hub import Hub, Settings, now
from labelport.service.projects import get_project
from labelport.store import BlobStore, Database
from labelport.store import jobs as store

log = logging.getLogger(__name__)

RESTART_REASON = "the server restarted before the job finished, and the job cannot run again (its input is gone)"
UNEXPECTED = "the job hit an unexpected error; the server's log has the details"
PROJECT_GONE = "the job's project was deleted before the job ran"
MAX_NAME = 500
PROGRESS_INTERVAL_SECONDS = 0.5

Progress = Callable[[int], None]
"""Told how many more items a running job has done (CLI progress bars)."""


class Stores(Protocol):
    """What running a job needs: the database, the blob store and the settings. A Hub has them too."""

    @property
    def db(self) -> Database: ...
    @property
    def blobs(self) -> BlobStore: ...
    @property
    def settings(self) -> Settings: ...


@dataclass(frozen=True, slots=True)
class JobContext:
    """The stores of a process that runs jobs for any organisation (a server, a worker)."""

    db: Database
    blobs: BlobStore
    settings: Settings = field(default_factory=Settings.from_env)


# ------------------------------------------------------------------ lifecycle


def create(
    hub: Hub,
    kind: JobKind | str,
    fmt: str,
    *,
    name: str,
    project_id: str | None,
    options: Mapping[str, Any] | None = None,
    source: bytes | Path | None = None,
    content_type: str = "application/octet-stream",
) -> str:
    """Record a QUEUED job of the hub's organisation and return its id.

    ``source`` (bytes, or a file copied without reading it whole) is kept in the blob store as the job's
    input, so any runner can run it, and run it again after a crash. The project, when given, must be in
    the hub's organisation.
    """
    kind = JobKind.parse(kind)
    fmt = _registered(fmt, kind)
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{kind.value} name must be a non-empty string, found {name!r}", field="name", value=name)
    if len(name) > MAX_NAME:
        raise ValidationError(
            f"{kind.value} name is at most {MAX_NAME} characters, found {len(name)}", field="name", value=name[:80]
        )
    if isinstance(source, Path) and not source.is_file():
        raise MediaError(f"input file {str(source)!r} does not exist or is not a file", path=str(source))
    if project_id is not None:
        get_project(hub, project_id)
    job_id = new_id()
    with hub.transaction() as conn:
        digest = None
        if isinstance(source, bytes):
            digest = hub.blobs.put(conn, source, content_type)
        elif source is not None:
            digest = hub.blobs.put_file(conn, source, content_type)
        store.insert(
            conn,
            job_id=job_id,
            organization_id=hub.organization_id,
            project_id=project_id,
            kind=kind,
            fmt=fmt,
            name=name,
            options=options or {},
            input_blob=digest,
            created_at=now(),
            created_by=hub.actor,
        )
    return job_id


def _registered(fmt: str, kind: JobKind) -> str:
    """The registry name of the format a job of ``kind`` uses (imports read it, exports write it)."""
    from labelport.formats import get_format

    entry = get_format(fmt, reading=True if kind is JobKind.IMPORT else False if kind is JobKind.EXPORT else None)
    return entry.name


def get(hub: Hub, job_id: str, kind: JobKind | None = None) -> JobInfo:
    """A job of the hub's organisation (of ``kind``, when given); NotFoundError otherwise."""
    with hub.read() as conn:
        job = store.find(conn, job_id, organization_id=hub.organization_id, kind=kind)
    if job is None:
        raise NotFoundError(f"no {kind.value + ' ' if kind else ''}job with id {job_id!r}")
    return job


def list_jobs(hub: Hub, *, project_id: str | None = None, kind: JobKind | None = None) -> list[JobInfo]:
    """The organisation's jobs, oldest first: only a project's (which must be the organisation's) when given."""
    if project_id is not None:
        get_project(hub, project_id)
    with hub.read() as conn:
        return store.find_all(conn, hub.organization_id, project_id=project_id, kind=kind)


def progress(hub: Hub, job_id: str, done: int, total: int | None = None) -> None:
    """Record how far a RUNNING job is (``done`` of ``total`` items; total None when unknown)."""
    with hub.transaction() as conn:
        store.set_progress(conn, job_id, done, total)


def finish(
    hub: Hub,
    job_id: str,
    *,
    total: int,
    succeeded: int,
    failed: int,
    errors: list[dict[str, Any]] | None = None,
    output: str | None = None,
    conn: sa.Connection | None = None,
) -> None:
    """End an unfinished job FINISHED with its counts; ``conn`` finishes it in the caller's transaction (an
    import commits its job with its annotations, so a reader never sees one without the other)."""
    if conn is not None:
        store.finish(
            conn, job_id, now(), total=total, succeeded=succeeded, failed=failed, errors=errors or [], output=output
        )
        return
    with hub.transaction() as own:
        finish(hub, job_id, total=total, succeeded=succeeded, failed=failed, errors=errors, output=output, conn=own)


def fail(hub: Hub, job_id: str, reason: str) -> None:
    """End an unfinished job FAILED with ``reason``, a sentence for its user."""
    with hub.transaction() as conn:
        store.fail(conn, job_id, now(), reason)


class Recorder:
    """A running job's progress: counts what is done, writes it to the job at most every half second, and
    passes each step on to ``also`` (a progress bar). With ``write=False`` nothing is written (an import on
    SQLite holds the write lock until it commits, so its progress shows when it ends)."""

    def __init__(
        self, hub: Hub, job_id: str, total: int | None = None, *, write: bool = True, also: Progress | None = None
    ) -> None:
        self.hub = hub
        self.job_id = job_id
        self.total = total
        self.done = 0
        self.write = write
        self.also = also
        self._written_at = 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        if self.also is not None:
            self.also(n)
        if self.write and time.monotonic() - self._written_at >= PROGRESS_INTERVAL_SECONDS:
            self._written_at = time.monotonic()
            progress(self.hub, self.job_id, self.done, self.total)


# ------------------------------------------------------------------ running


def acting_hub(stores: Stores, job_id: str, kind: JobKind | None = None) -> tuple[Hub, JobInfo]:
    """A Hub acting for a job's own organisation and creator, and the job: for runners. NotFoundError when
    there is no such job."""
    with stores.db.read() as conn:
        job = store.find(conn, job_id, kind=kind)
    if job is None:
        raise NotFoundError(f"no {kind.value + ' ' if kind else ''}job with id {job_id!r}")
    hub = Hub(
        db=stores.db,
        blobs=stores.blobs,
        organization_id=job.organization_id,
        actor=job.created_by or "labelport",
        settings=stores.settings,
    )
    return hub, job


def attempt(hub: Hub, job_id: str, work: Callable[[JobInfo], object]) -> JobInfo:
    """Claim the job (RUNNING) and do ``work`` on it; returns the job as it ended.

    Whatever goes wrong ends the job FAILED: a labelport error with its own message, anything else with
    ``UNEXPECTED`` (the exception goes to the log). ``work`` must finish the job; one that returns without
    doing so fails it too. A job that has ended already is returned as it is.
    """
    try:
        with hub.transaction() as conn:
            claimed = store.claim(conn, job_id, now())
        if not claimed:
            return get(hub, job_id)
        work(get(hub, job_id))
    except LabelportError as exc:
        if isinstance(exc, StoreError):
            log.error("job %s failed in the database", job_id, exc_info=exc)
        _fail_logged(hub, job_id, str(exc))
    except Exception:
        log.exception("job %s failed", job_id)
        _fail_logged(hub, job_id, UNEXPECTED)
    job = get(hub, job_id)
    if not job.state.done:
        log.error("job %s ended its run still %s", job_id, job.state.value)
        _fail_logged(hub, job_id, UNEXPECTED)
        job = get(hub, job_id)
    return job


def _fail_logged(hub: Hub, job_id: str, reason: str) -> None:
    try:
        fail(hub, job_id, reason)
    except Exception:  # the store itself is failing: the job stays unfinished, and recovery finds it
        log.exception("could not record the failure of job %s", job_id)


def run(stores: Stores, job_id: str, *, on_progress: Progress | None = None) -> JobInfo | None:
    """Run a job to its end, as its creator in its organisation; returns it FINISHED or FAILED (None when
    there is no such job). Running a job that ended already does nothing; running an unfinished one again
    (after a crash) is safe: imports commit everything at once, exports rewrite their file whole.

    ``on_progress`` hears each step of the work (the CLI draws its bar from it).
    """
    try:
        hub, job = acting_hub(stores, job_id)
    except NotFoundError:
        log.warning("no job %s to run", job_id)
        return None
    if job.state.done:
        return job
    return attempt(hub, job_id, lambda current: _execute(hub, current, on_progress))


Executor = Callable[[Hub, JobInfo, Progress | None], None]


def _executors() -> Mapping[JobKind, Executor]:
    # The kinds' modules record their jobs through this one, so they are reached at run time, not import time.
    from labelport.service import export_jobs, import_jobs

    return {JobKind.IMPORT: import_jobs.execute, JobKind.EXPORT: export_jobs.execute}


def _execute(hub: Hub, job: JobInfo, on_progress: Progress | None) -> None:
    executor = _executors().get(job.kind)
    if executor is None:
        raise LabelportError(f"{job.kind.value} jobs cannot be run by this version of labelport")
    if job.project_id is None:
        raise NotFoundError(PROJECT_GONE)
    executor(hub, job, on_progress)


def _can_run_again(stores: Stores, job: JobInfo) -> bool:
    if job.kind is JobKind.EXPORT:
        return True  # an export only reads the store
    return job.input_blob is not None and stores.blobs.has(job.input_blob)


def recover(stores: Stores) -> tuple[list[str], list[str]]:
    """After a (re)start: the unfinished jobs that can run again, to be re-run, and the ones that cannot,
    now FAILED with ``RESTART_REASON``. Returns (to re-run, failed), oldest first.

    Run it once per deployment at start-up: with several server replicas, one of them (docs/server.md).
    """
    with stores.db.read() as conn:
        pending = store.unfinished(conn)
    again: list[str] = []
    failed: list[str] = []
    for job in pending:
        if _can_run_again(stores, job):
            again.append(job.id)
            continue
        with stores.db.write() as conn:
            store.fail(conn, job.id, now(), RESTART_REASON)
        failed.append(job.id)
    return again, failed


__all__ = [
    "PROJECT_GONE",
    "RESTART_REASON",
    "UNEXPECTED",
    "UNFINISHED",
    "JobContext",
    "JobInfo",
    "JobKind",
    "JobState",
    "Progress",
    "Recorder",
    "Stores",
    "acting_hub",
    "attempt",
    "create",
    "fail",
    "finish",
    "get",
    "list_jobs",
    "progress",
    "recover",
    "run",
]
