"""Jobs as plain records: their kinds, formats and states, and what the SDK and the API show of them.

Every long operation (an import, an export, later a conversion) is one row of the ``jobs`` table, run by
``labelport.service.jobs.run`` wherever it runs. Nothing here touches the store, so the HTTP client builds
the same records from response bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from labelport.model._checks import enum_value
from labelport.model.label import LabelKind


class JobState(StrEnum):
    """Where a job is: waiting for a runner, running, done (FINISHED may still list failed annotations)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"

    @property
    def done(self) -> bool:
        return self in (JobState.FINISHED, JobState.FAILED)


UNFINISHED: frozenset[JobState] = frozenset({JobState.QUEUED, JobState.RUNNING})


class JobKind(StrEnum):
    IMPORT = "import"
    EXPORT = "export"
    CONVERT = "convert"

    @classmethod
    def parse(cls, value: str | JobKind) -> JobKind:
        return enum_value(cls, value, "job kind")


@dataclass(frozen=True, slots=True)
class JobInfo:
    """One job as stored. ``project_id`` is None once its project is deleted (the job stays listed).

    ``options`` holds what the job needs beyond its input: the label kind of an import, the uploader's file
    name, an export's params and filters. ``output`` is where the result is, relative to the exports folder.
    ``errors`` lists what an export could not write (import problems are per-annotation statuses instead);
    ``error`` is the reason a FAILED job gives its user. ``claimed_by`` names the runner that last claimed
    the job and ``lease_expires_at`` until when it holds it (it renews the lease while it works); ``attempts``
    counts the claims (1 for a job that ran once). ``result`` is what a job made beyond its counts (an items
    import: its dataset, batch, data rows and tasks; ``service.items``).
    """

    id: str
    organization_id: str
    project_id: str | None
    kind: JobKind
    format: str  # the registered format it reads (imports) or writes (exports), ``labelport formats``
    state: JobState
    name: str
    created_at: datetime
    options: Mapping[str, Any] = field(default_factory=dict)
    input_blob: str | None = None
    output: str | None = None
    progress_done: int = 0
    progress_total: int | None = None
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_by: str | None = None
    claimed_by: str | None = None
    lease_expires_at: datetime | None = None
    attempts: int = 0
    result: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ImportJobInfo:
    """An annotation import as the SDK shows it; ``failed`` counts the annotations with a FAILURE status;
    ``progress_done`` how many a RUNNING import has read so far."""

    id: str
    project_id: str | None
    name: str
    kind: LabelKind
    state: JobState
    total: int
    succeeded: int
    failed: int
    error: str | None
    progress_done: int = 0
    progress_total: int | None = None

    @classmethod
    def of(cls, job: JobInfo) -> ImportJobInfo:
        return cls(
            id=job.id,
            project_id=job.project_id,
            name=job.name,
            kind=LabelKind(job.options["label_kind"]),
            state=job.state,
            total=job.total,
            succeeded=job.succeeded,
            failed=job.failed,
            error=job.error,
            progress_done=job.progress_done,
            progress_total=job.progress_total,
        )


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """One record of an items list (a task): where it is, the data rows of its items (global keys), and why
    it failed (if it did)."""

    where: str
    data_rows: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class ItemsImportResult:
    """What an import of items with media did (``service.items``): the annotation import job (None when
    nothing was imported in this process), the dataset and batch it used, the data rows created and reused,
    and each record's outcome. Kept as a job's ``result`` (``as_json``) when the import runs as a job."""

    job: ImportJobInfo | None
    dataset_id: str | None
    batch_id: str | None
    created: int
    reused: int
    records: tuple[RecordOutcome, ...]

    @property
    def failed(self) -> tuple[RecordOutcome, ...]:
        return tuple(r for r in self.records if not r.ok)

    def as_json(self) -> dict[str, Any]:
        """Everything but the job, as JSON values."""
        return {
            "dataset_id": self.dataset_id,
            "batch_id": self.batch_id,
            "created": self.created,
            "reused": self.reused,
            "records": [
                {"where": r.where, "data_rows": list(r.data_rows), "errors": list(r.errors)} for r in self.records
            ],
        }

    @classmethod
    def from_json(cls, job: ImportJobInfo | None, value: Mapping[str, Any] | None) -> ItemsImportResult:
        """The result ``as_json`` gave, of ``job`` (nothing made yet when ``value`` is None: a job not done)."""
        value = value or {}
        records = tuple(
            RecordOutcome(str(r["where"]), tuple(r.get("data_rows", ())), tuple(r.get("errors", ())))
            for r in value.get("records", ())
        )
        return cls(
            job,
            value.get("dataset_id"),
            value.get("batch_id"),
            int(value.get("created", 0)),
            int(value.get("reused", 0)),
            records,
        )


@dataclass(frozen=True, slots=True)
class ExportJobInfo:
    """An export as the API shows it: ``rows`` written, ``errors`` for what could not be."""

    id: str
    project_id: str | None
    format: str  # the registered format it reads (imports) or writes (exports), ``labelport formats``
    state: JobState
    rows: int
    errors: list[dict[str, Any]]
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: JobInfo) -> ExportJobInfo:
        return cls(
            id=job.id,
            project_id=job.project_id,
            format=job.format,
            state=job.state,
            rows=job.total,
            errors=[dict(e) for e in job.errors],
            error=job.error,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


__all__ = [
    "UNFINISHED",
    "ExportJobInfo",
    "ImportJobInfo",
    "ItemsImportResult",
    "JobInfo",
    "JobKind",
    "JobState",
    "RecordOutcome",
]
