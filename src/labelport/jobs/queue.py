"""Jobs on RQ (Redis Queue): the API enqueues, ``labelport worker`` processes run them.

``RQRunner.submit`` puts a job's id on the RQ queue ``LABELPORT_QUEUE`` (default ``labelport``) of the
Redis at ``LABELPORT_REDIS_URL``; a worker (``run_worker``, an RQ ``SimpleWorker``: jobs run in the worker
process, which keeps its database pool) calls ``perform(job_id)``, that is ``service.jobs.run``. Redis holds
only the message: the job's state, input and result live in the database and the blob store, and the claim
in the database makes a duplicated message harmless.

Each worker also sweeps (``runner.Sweeper``): it enqueues the jobs nobody runs and no message names, that is
QUEUED jobs whose message was lost (Redis restarted empty, or was down when the API enqueued) and RUNNING
jobs whose worker died (their lease lapsed). So stopping Redis delays jobs and loses none, and a killed
worker's job is run again by another worker once its lease lapses.

rq and redis are the ``scale`` extra.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from labelport._optional import require
from labelport.jobs.runner import Sweeper
from labelport.service import jobs
from labelport.service.jobs import JobContext

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "labelport"
PREFIX = "labelport-"  # RQ job ids: the prefix and the labelport job id
JOB_TIMEOUT_SECONDS = 24 * 3600  # RQ's own time limit; liveness is the lease's business
SCALE_PACKAGES = ("rq", "redis")


def queue_name() -> str:
    return os.environ.get("LABELPORT_QUEUE") or DEFAULT_QUEUE


def connect(url: str, *, timeout: float | None = None) -> redis.Redis:
    """A Redis connection (``timeout`` bounds each command; None for a worker, whose dequeue blocks)."""
    (redis_module,) = require(("redis",), "running jobs on Redis", "scale")
    connection: redis.Redis = redis_module.Redis.from_url(
        url, socket_connect_timeout=5, socket_timeout=timeout, health_check_interval=30
    )
    return connection


def rq_id(job_id: str) -> str:
    return PREFIX + job_id


class RQRunner:
    """Submits jobs to the RQ queue; a submit that cannot reach Redis is left to the workers' sweep."""

    def __init__(self, url: str, queue: str | None = None) -> None:
        rq, _ = require(SCALE_PACKAGES, "running jobs on Redis", "scale")
        self.url = url
        self.connection = connect(url, timeout=5)
        self.queue = rq.Queue(queue or queue_name(), connection=self.connection)

    def submit(self, job_id: str) -> None:
        import redis

        try:
            self.queue.enqueue(
                perform,
                job_id,
                job_id=rq_id(job_id),
                result_ttl=0,
                failure_ttl=24 * 3600,
                job_timeout=JOB_TIMEOUT_SECONDS,
                description=f"labelport job {job_id}",
            )
        except redis.exceptions.RedisError as exc:
            # The job is QUEUED in the database: a worker's sweep enqueues it once Redis answers again.
            log.warning(
                "could not queue job %s on Redis (%s); a worker will pick it up when Redis is back", job_id, exc
            )

    def waiting(self) -> set[str]:
        """The labelport job ids that have a message waiting in the queue."""
        return {i.removeprefix(PREFIX) for i in self.queue.get_job_ids() if i.startswith(PREFIX)}

    def shutdown(self, wait: bool = True) -> None:
        self.connection.close()


# ------------------------------------------------------------------ the worker side

_context: JobContext | None = None


def _ctx() -> JobContext:
    """The worker's stores, opened once per process (from the environment, if ``run_worker`` did not)."""
    global _context
    if _context is None:
        from labelport.service.hub import Settings
        from labelport.store import Database, default_home, open_blob_store

        home = default_home()
        # A worker runs jobs for the server's users: their files only under the roots, never its home.
        settings = Settings.for_server().serve(home)
        _context = JobContext(db=Database(), blobs=open_blob_store(home), settings=settings)
    return _context


def perform(job_id: str) -> str | None:
    """What an RQ job runs: ``service.jobs.run`` on this worker's stores; returns the job's final state."""
    job = jobs.run(_ctx(), job_id)
    return None if job is None else job.state.value


def run_worker(
    ctx: JobContext,
    url: str,
    *,
    queue: str | None = None,
    burst: bool = False,
    announce: Any = None,
) -> None:
    """Run jobs from the queue until SIGTERM/SIGINT (or, with ``burst``, until it is empty), sweeping for
    jobs nobody runs meanwhile. A lost Redis connection is waited out, not fatal."""
    global _context
    rq, redis_module = require(SCALE_PACKAGES, "labelport worker", "scale")
    _context = ctx
    name = queue or queue_name()
    runner = RQRunner(url, name)
    sweeper = Sweeper(ctx, runner.submit, pending=runner.waiting)
    if not burst:
        sweeper.start()
    base = f"labelport-{socket.gethostname()}-{os.getpid()}"
    if announce is not None:
        announce(f"labelport worker {base}: queue {name!r} on {_safe(url)}, blobs in {ctx.blobs.describe()}")
    try:
        for round_ in range(1_000_000):
            connection = connect(url)
            worker = rq.SimpleWorker(
                [rq.Queue(name, connection=connection)], connection=connection, name=f"{base}-{round_}"
            )
            try:
                worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
            except redis_module.exceptions.ConnectionError as exc:
                log.warning("lost Redis (%s)", exc)
            # RQ records a stop request (SIGTERM/SIGINT) in either of these, depending on whether it was busy.
            stopped = worker._stop_requested or worker._shutdown_requested_date is not None
            connection.close()
            if burst or stopped:
                return
            # RQ's loop gives up on some Redis failures; the worker waits for Redis and starts another loop.
            log.warning("the RQ loop ended without a stop request (Redis unreachable?); starting again in 2 s")
            time.sleep(2)
    finally:
        sweeper.stop()
        runner.shutdown()


def sweep_once(ctx: JobContext, url: str, queue: str | None = None) -> list[str]:
    """One sweep (tests): enqueue the jobs nobody runs and no message names."""
    runner = RQRunner(url, queue)
    try:
        return Sweeper(ctx, runner.submit, pending=runner.waiting).once()
    finally:
        runner.shutdown()


def _safe(url: str) -> str:
    """A Redis URL without its password, for logs."""
    head, sep, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://***@{tail}" if sep else url


__all__ = ["DEFAULT_QUEUE", "RQRunner", "connect", "perform", "queue_name", "rq_id", "run_worker", "sweep_once"]
