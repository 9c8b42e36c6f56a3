"""Background jobs: their state lives in the database, a runner only executes them.

``ThreadRunner`` (the default) runs jobs on threads of the server process, each through
``service.jobs.run``. After a restart, ``recover_jobs`` re-runs every unfinished job that nobody runs and
that can run again, and fails the others with their reason; a ``Sweeper`` does the same every half lease.
``labelport.jobs.queue`` (``RQRunner``, ``run_worker``: ``labelport worker``) puts jobs on RQ/Redis for
worker processes, which call the same ``service.jobs.run``.
"""

from labelport.jobs.runner import JobRunner, Sweeper, ThreadRunner, recover_jobs
from labelport.model.jobs import JobKind, JobState
from labelport.service.jobs import RESTART_REASON, JobContext

__all__ = [
    "RESTART_REASON",
    "JobContext",
    "JobKind",
    "JobRunner",
    "JobState",
    "Sweeper",
    "ThreadRunner",
    "recover_jobs",
]
