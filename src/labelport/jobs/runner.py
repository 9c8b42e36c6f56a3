"""Job runners. A job is a row of ``jobs``; a runner is told its id and calls ``service.jobs.run``, the
one way a job is executed; nothing about a job lives only in a runner's memory."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from labelport.model.jobs import JobInfo
from labelport.service import jobs
from labelport.service.jobs import JobContext


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

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def recover_jobs(ctx: JobContext, runner: JobRunner) -> tuple[list[str], list[str]]:
    """After a (re)start: re-run unfinished jobs that can run again, fail the rest with the reason
    (``service.jobs.recover``). Returns (re-run job ids, failed job ids)."""
    again, failed = jobs.recover(ctx)
    for job_id in again:
        runner.submit(job_id)
    return again, failed


__all__ = ["JobContext", "JobRunner", "ThreadRunner", "recover_jobs"]
