"""Job runners. A job is a row of ``jobs``; a runner is told its id and calls ``service.jobs.run``, the
one way a job is executed; nothing about a job lives only in a runner's memory.

``ThreadRunner`` runs jobs on threads of this process (the embedded default, and a server without Redis);
``labelport.jobs.queue.RQRunner`` puts them on an RQ queue for ``labelport worker`` processes. Either way a
job is claimed once (``service.jobs.attempt``), so submitting it twice, from two replicas, is harmless.
``Sweeper`` submits, every few seconds, the jobs nobody runs: QUEUED ones that waited past a grace period and
RUNNING ones whose runner died (its lease lapsed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from labelport.errors import LabelportError
from labelport.model.jobs import JobInfo
from labelport.service import jobs
from labelport.service.jobs import JobContext

log = logging.getLogger(__name__)


class JobRunner(Protocol):
    """Runs jobs recorded in the database; ``submit`` returns at once."""

    def submit(self, job_id: str) -> None: ...
    def shutdown(self, wait: bool = True) -> None: ...


class ThreadRunner:
    """Jobs on threads of this process. One worker on SQLite, whose writers take turns anyway."""

    def __init__(self, ctx: JobContext, workers: int | None = None) -> None:
        self.ctx = ctx
        self.workers = workers or (1 if ctx.db.is_sqlite else 4)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="labelport-job")
        self._lock = threading.Lock()
        self._running: dict[str, Future[JobInfo | None]] = {}
        self._sweeper: Sweeper | None = None

    def submit(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._running and not self._running[job_id].done():
                return
            self._running[job_id] = self._pool.submit(jobs.run, self.ctx, job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo | None:
        """Block until a submitted job is done and return it as it ended (tests and the CLI use this)."""
        with self._lock:
            future = self._running.get(job_id)
        return None if future is None else future.result(timeout)

    def sweep(self) -> None:
        """From now on, also run the jobs nobody runs (``Sweeper``) until shut down."""
        if self._sweeper is None:
            self._sweeper = Sweeper(self.ctx, self.submit)
            self._sweeper.start()

    def shutdown(self, wait: bool = True) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


class Sweeper:
    """A thread that, every half lease, submits the jobs nobody runs (``service.jobs.recover``) with
    ``submit``; QUEUED jobs are left alone for ``grace`` seconds (default: the interval), as the runner they
    were submitted to should take them first."""

    def __init__(
        self,
        ctx: jobs.Stores,
        submit: Callable[[str], None],
        *,
        interval: float | None = None,
        grace: float | None = None,
        pending: Callable[[], set[str]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.submit = submit
        self.interval = interval or ctx.settings.job_lease_seconds / 2
        self.grace = self.interval if grace is None else grace
        self.pending = pending
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="labelport-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def once(self) -> list[str]:
        """One sweep: the ids submitted (jobs already waiting in ``pending()``, a queue, are left there)."""
        again, failed = jobs.recover(self.ctx, queued_for=self.grace)
        if failed:
            log.warning("failed %d jobs that cannot run again: %s", len(failed), ", ".join(failed))
        if again and self.pending is not None:
            waiting = self.pending()
            again = [job_id for job_id in again if job_id not in waiting]
        for job_id in again:
            self.submit(job_id)
        return again

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                submitted = self.once()
                if submitted:
                    log.info("sweep submitted %d jobs nobody was running: %s", len(submitted), ", ".join(submitted))
            except LabelportError as exc:
                log.warning("job sweep failed (%s); trying again in %.0f s", exc, self.interval)
            except Exception:
                log.exception("job sweep failed; trying again in %.0f s", self.interval)


def recover_jobs(ctx: JobContext, runner: JobRunner) -> tuple[list[str], list[str]]:
    """After a (re)start: re-run unfinished jobs that nobody runs and that can run again, fail the rest with
    the reason (``service.jobs.recover``). Returns (re-run job ids, failed job ids)."""
    again, failed = jobs.recover(ctx)
    for job_id in again:
        runner.submit(job_id)
    return again, failed


__all__ = ["JobContext", "JobRunner", "Sweeper", "ThreadRunner", "recover_jobs"]
