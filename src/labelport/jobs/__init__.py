"""Background jobs: their state lives in the database, a runner only executes them.

``ThreadRunner`` (the default) runs jobs on threads of the server process, each through
``service.jobs.run``. After a restart, ``recover_jobs`` re-runs every unfinished job that can run again and
fails the others with their reason. A Redis/RQ runner (``labelport worker``) will implement the same
``JobRunner`` protocol and call the same ``service.jobs.run``.
"""

from labelport.jobs.runner import JobRunner, ThreadRunner, recover_jobs
from labelport.model.jobs import JobKind, JobState
from labelport.service.jobs import RESTART_REASON, JobContext

__all__ = ["RESTART_REASON", "JobContext", "JobKind", "JobRunner", "JobState", "ThreadRunner", "recover_jobs"]
