"""The review workflow's vocabulary: statuses, actions, history entries (pure; rules live in the service).

A data row moves To label -> In review -> In rework -> Done. Task ids are stable per project and task
(uuid5), so exports show the same id for the same task every time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from labelport.errors import ValidationError


class WorkflowStatus(StrEnum):
    """Where a data row is in the review workflow (spelled as export filters spell it)."""

    TO_LABEL = "ToLabel"
    IN_REVIEW = "InReview"
    IN_REWORK = "InRework"
    DONE = "Done"

    @classmethod
    def parse(cls, value: str | WorkflowStatus) -> WorkflowStatus:
        if isinstance(value, WorkflowStatus):
            return value
        for status in cls:
            if isinstance(value, str) and value in (status.value, status.name, status.export_name):
                return status
        raise ValidationError(
            f"workflow status must be one of {', '.join(s.value for s in cls)}; found {value!r}",
            field="workflow_status",
            value=value,
        )

    @property
    def export_name(self) -> str:
        """The upper snake case spelling exports use (``IN_REVIEW``)."""
        return self.name

    @property
    def task_name(self) -> str:
        return TASK_NAMES[self]


TASK_NAMES: dict[WorkflowStatus, str] = {
    WorkflowStatus.TO_LABEL: "Initial labeling task",
    WorkflowStatus.IN_REVIEW: "Initial review task",
    WorkflowStatus.IN_REWORK: "Rework (all rejected)",
    WorkflowStatus.DONE: "Done",
}


class WorkflowAction(StrEnum):
    MOVE = "MOVE"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REWORK = "REWORK"

    @classmethod
    def parse(cls, value: str | WorkflowAction) -> WorkflowAction:
        try:
            return cls(value.upper() if isinstance(value, str) else value)
        except ValueError:
            raise ValidationError(
                f"workflow action must be one of {', '.join(a.value for a in cls)}; found {value!r}",
                field="action",
                value=value,
            ) from None


def task_id(project_id: str, status: WorkflowStatus) -> str:
    """The stable id of a task of a project (the same in every export)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"labelport:{project_id}:{status.value}"))


def as_utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back naive."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One workflow change of a data row."""

    action: WorkflowAction
    at: datetime
    actor: str | None
    from_status: WorkflowStatus | None
    to_status: WorkflowStatus
    from_task: str | None
    to_task: str
    reason: str | None = None  # why a reviewer rejected, or the note an action came with


@dataclass(frozen=True, slots=True)
class WorkflowState:
    data_row_id: str
    status: WorkflowStatus
    task_name: str
    updated_at: datetime


__all__ = ["TASK_NAMES", "HistoryEntry", "WorkflowAction", "WorkflowState", "WorkflowStatus", "as_utc", "task_id"]
