"""Jobs: one lifecycle for every long operation, and ``run``, the one way a job is executed.

A job is a row of ``jobs`` (``labelport.store.jobs``): created QUEUED with its input in the blob store,
claimed RUNNING by whoever runs it, and ended FINISHED or FAILED. ``run(stores, job_id)`` is what the
embedded SDK, the CLI, the server's threads and any later worker call: it opens a Hub acting for the job's
organisation and creator, dispatches by kind (imports: ``service.import_jobs``, exports:
``service.export_jobs``), and makes sure a job that fails anywhere ends FAILED with a reason its user can
read: a labelport error's own message, or for anything unexpected a generic sentence (details go to the
log, never SQL or a server path to the user).

A job is claimed exactly once at a time: ``attempt`` claims it with one conditional UPDATE that leases it
to this run (``store.jobs.claim``), renews the lease while the work goes on, and ends the job only while
it still holds the claim. Two processes calling ``run`` for the same job (a duplicated queue message, two
replicas recovering at once) therefore run it once; a runner that dies leaves a lease that lapses after
``Settings.job_lease_seconds``, and then another runner may take the job over. An import commits its
annotations and its FINISHED state in one transaction that also checks the claim, so a run that lost its
lease (it was paused past it, and another took over) rolls back instead of importing twice.

``recover`` finds the jobs to run now, after a restart or on a periodic sweep: QUEUED jobs and RUNNING jobs
whose lease lapsed, if they can run again (an import whose input is kept, any export); the others end
FAILED with ``RESTART_REASON``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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
LEASE_RENEWALS = 3  # renewals per lease period, so two can fail before the lease lapses

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
    """The stores of a process that runs jobs for any organisation (a server, a worker): by default it reads
    users' files as a server does (``Settings.for_server``)."""

    db: Database
    blobs: BlobStore
    settings: Settings = field(default_factory=Settings.for_server)


class LeaseLostError(LabelportError):
    """This run no longer holds the job: its lease lapsed and another runner took the job over (or it
    ended). Raised inside an import's transaction, it rolls the import back, so the job is imported once."""


def runner_token() -> str:
    """A name for one claim: the host and process that hold it, and a random part unique to the claim."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{new_id()[-10:]}"


# ------------------------------------------------------------------ lifecycle


def create(
    hub: Hub,
    kind: JobKind | str,
    fmt: str,
    *,
    name: str,
    project_id: str | None,
    options: Mapping[str, Any] | None = None,
    source: bytes | Path | BinaryIO | None = None,
    content_type: str = "application/octet-stream",
) -> str:
    """Record a QUEUED job of the hub's organisation and return its id.

    ``source`` (bytes, a file or an open binary stream, both copied without reading them whole: multipart
    to S3) is kept in the blob store as the job's input, so any runner can run it, and run it again after a
    crash. It is stored before the job's transaction opens, so a large upload holds no database lock. The
    project, when given, must be in the hub's organisation.
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
    stored = None
    if isinstance(source, bytes):
        stored = hub.blobs.store_bytes(source)
    elif isinstance(source, Path):
        stored = hub.blobs.store_file(source)
    elif source is not None:
        stored = hub.blobs.store_stream(source)
    with hub.transaction() as conn:
        digest = None
        if stored is not None:
            digest = hub.blobs.record(conn, stored, content_type)
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


def list_jobs(
    hub: Hub,
    *,
    project_id: str | None = None,
    kind: JobKind | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[JobInfo]:
    """The organisation's jobs, oldest first: only a project's (which must be the organisation's) when given;
    a page with ``offset`` and ``limit``."""
    if project_id is not None:
        get_project(hub, project_id)
    with hub.read() as conn:
        return store.find_all(conn, hub.organization_id, project_id=project_id, kind=kind, offset=offset, limit=limit)


def progress(hub: Hub, job_id: str, done: int, total: int | None = None, *, owner: str | None = None) -> None:
    """Record how far a RUNNING job is (``done`` of ``total`` items; total None when unknown); with
    ``owner``, only while that claim holds the job."""
    with hub.transaction() as conn:
        store.set_progress(conn, job_id, done, total, owner=owner)


def finish(
    hub: Hub,
    job_id: str,
    *,
    total: int,
    succeeded: int,
    failed: int,
    errors: list[dict[str, Any]] | None = None,
    output: str | None = None,
    result: Mapping[str, Any] | None = None,
    owner: str | None = None,
    conn: sa.Connection | None = None,
) -> None:
    """End an unfinished job FINISHED with its counts; ``conn`` finishes it in the caller's transaction (an
    import commits its job with its annotations, so a reader never sees one without the other).

    With ``owner`` (the claim of the run, ``JobInfo.claimed_by``), LeaseLostError when that claim no longer
    holds the job: raised inside the caller's transaction, it rolls back what the run wrote.
    """
    if conn is not None:
        moved = store.finish(
            conn,
            job_id,
            now(),
            total=total,
            succeeded=succeeded,
            failed=failed,
            errors=errors or [],
            output=output,
            result=result,
            owner=owner,
        )
        if owner is not None and not moved:
            raise LeaseLostError(f"job {job_id} was taken over by another runner; this run's result is dropped")
        return
    with hub.transaction() as own:
        finish(
            hub,
            job_id,
            total=total,
            succeeded=succeeded,
            failed=failed,
            errors=errors,
            output=output,
            result=result,
            owner=owner,
            conn=own,
        )


def fail(hub: Hub, job_id: str, reason: str, *, owner: str | None = None) -> None:
    """End an unfinished job FAILED with ``reason``, a sentence for its user (with ``owner``: only while that
    claim holds it)."""
    with hub.transaction() as conn:
        store.fail(conn, job_id, now(), reason, owner=owner)


class Recorder:
    """A running job's progress: counts what is done, writes it to the job at most every half second, and
    passes each step on to ``also`` (a progress bar). With ``write=False`` nothing is written (an import on
    SQLite holds the write lock until it commits, so its progress shows when it ends)."""

    def __init__(
        self,
        hub: Hub,
        job_id: str,
        total: int | None = None,
        *,
        write: bool = True,
        also: Progress | None = None,
        owner: str | None = None,
    ) -> None:
        self.hub = hub
        self.job_id = job_id
        self.owner = owner
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
            progress(self.hub, self.job_id, self.done, self.total, owner=self.owner)


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


def _lease_until(stores: Stores) -> datetime:
    return now() + timedelta(seconds=stores.settings.job_lease_seconds)


def claim(stores: Stores, job_id: str) -> str | None:
    """Claim the job for one run: its owner token, or None when it has ended or another run holds it."""
    owner = runner_token()
    with stores.db.write() as conn:
        return owner if store.claim(conn, job_id, now(), owner=owner, lease_until=_lease_until(stores)) else None


@contextmanager
def _renewing(stores: Stores, job_id: str, owner: str) -> Iterator[None]:
    """Renew the run's lease on a thread while the body runs. A renewal that fails (SQLite held by the
    import's own transaction, a database hiccup) is tried again; the lease lapses only if several fail."""
    stop = threading.Event()
    interval = stores.settings.job_lease_seconds / LEASE_RENEWALS

    def renew() -> None:
        while not stop.wait(interval):
            try:
                with stores.db.write() as conn:
                    if not store.renew(conn, job_id, owner=owner, lease_until=_lease_until(stores)):
                        return  # the job ended, or another runner took it over: the run finds out when it ends
            except LabelportError as exc:
                log.info("could not renew the lease of job %s (%s); retrying", job_id, exc)

    thread = threading.Thread(target=renew, name=f"labelport-lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def attempt(hub: Hub, job_id: str, work: Callable[[JobInfo], object]) -> JobInfo:
    """Claim the job (RUNNING, leased to this run) and do ``work`` on it; returns the job as it ended.

    ``work`` gets the job as claimed: its ``claimed_by`` is the run's owner token, to pass on to ``finish``.
    Whatever goes wrong ends the job FAILED: a labelport error with its own message, anything else with
    ``UNEXPECTED`` (the exception goes to the log). ``work`` must finish the job; one that returns without
    doing so fails it too. A job that has ended already, or that another run holds, is returned as it is.
    """
    owner = None
    try:
        owner = claim(hub, job_id)
        if owner is None:
            return get(hub, job_id)
        claimed = get(hub, job_id)
        # One line per claim: counting them in the runners' logs shows how often each job ran.
        log.info("job %s claimed by %s (attempt %d)", job_id, owner, claimed.attempts)
        with _renewing(hub, job_id, owner):
            work(claimed)
    except LeaseLostError as exc:
        log.warning("%s", exc)
    except LabelportError as exc:
        if isinstance(exc, StoreError):
            log.error("job %s failed in the store", job_id, exc_info=exc)
        _fail_logged(hub, job_id, str(exc), owner)
    except Exception:
        log.exception("job %s failed", job_id)
        _fail_logged(hub, job_id, UNEXPECTED, owner)
    job = get(hub, job_id)
    if not job.state.done and job.claimed_by == owner:
        log.error("job %s ended its run still %s", job_id, job.state.value)
        _fail_logged(hub, job_id, UNEXPECTED, owner)
        job = get(hub, job_id)
    return job


def _fail_logged(hub: Hub, job_id: str, reason: str, owner: str | None) -> None:
    try:
        fail(hub, job_id, reason, owner=owner)
    except Exception:  # the store itself is failing: the job stays unfinished, its lease lapses, a sweep finds it
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


def _utc(value: datetime) -> datetime:
    """A stored time as UTC (SQLite hands them back naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _dead_here(owner: str | None) -> bool:
    """Whether a claim was made by a process of this host that is gone (a restart on one machine need not
    wait for its lease to lapse). A wrong guess costs only work: the claim still lets one run finish."""
    if not owner:
        return False
    host, _, rest = owner.rpartition(":")[0].rpartition(":")
    pid = rest
    if host != socket.gethostname()[:120] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def recover(stores: Stores, *, queued_for: float = 0.0) -> tuple[list[str], list[str]]:
    """The jobs nobody is running that can run (again), to be submitted, and the ones that cannot, now
    FAILED with ``RESTART_REASON``. Returns (to run, failed), oldest first.

    Jobs to run are QUEUED ones waiting for more than ``queued_for`` seconds (a sweep leaves fresh ones to the
    runner they were submitted to) and RUNNING ones whose lease lapsed, or whose runner was a process of this
    host that is gone. A job without a kept input is failed only once nobody can be about to run it: QUEUED
    for longer than a lease, or lapsed. Safe to call from every replica and worker at once: submitting a job
    twice runs it once (``attempt``).
    """
    at = now()
    with stores.db.read() as conn:
        unfinished = store.unfinished(conn)
    pending: list[JobInfo] = []
    for job in unfinished:
        if job.state is JobState.QUEUED:
            if _utc(job.created_at) <= at - timedelta(seconds=queued_for):
                pending.append(job)
            continue
        if job.lease_expires_at is not None and _utc(job.lease_expires_at) >= at:
            if not _dead_here(job.claimed_by):
                continue
            with stores.db.write() as conn:
                if not store.release(conn, job.id, owner=str(job.claimed_by)):
                    continue
            log.warning("job %s was claimed by %s, a process of this host that is gone", job.id, job.claimed_by)
        pending.append(job)
    again: list[str] = []
    failed: list[str] = []
    abandoned_before = at - timedelta(seconds=stores.settings.job_lease_seconds)
    for job in pending:
        if _can_run_again(stores, job):
            again.append(job.id)
            continue
        with stores.db.write() as conn:
            if store.fail_abandoned(conn, job.id, at, RESTART_REASON, queued_before=abandoned_before):
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
    "LeaseLostError",
    "Progress",
    "Recorder",
    "Stores",
    "acting_hub",
    "attempt",
    "claim",
    "create",
    "fail",
    "finish",
    "get",
    "list_jobs",
    "progress",
    "recover",
    "run",
    "runner_token",
]
