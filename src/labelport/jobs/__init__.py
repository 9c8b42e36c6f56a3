"""Background jobs: their state lives in the database, a runner only executes them.

``ThreadRunner`` (the default) runs jobs on threads of the server process. After a restart,
``recover_jobs`` re-runs every unfinished job whose input is in the blob store and fails the others with
their reason. A Redis/RQ runner (``labelport worker``) implements the same ``JobRunner`` protocol.
"""

from labelport.jobs.runner import (
    HANDLERS,
    RESTART_REASON,
    JobKind,
    JobRunner,
    ThreadRunner,
    recover_jobs,
    run_export_job,
    run_import_job,
)

__all__ = [
    "HANDLERS",
    "RESTART_REASON",
    "JobKind",
    "JobRunner",
    "ThreadRunner",
    "recover_jobs",
    "run_export_job",
    "run_import_job",
]
