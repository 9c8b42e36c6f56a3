"""Review workflow records, plain and without storage: statuses, actions, a row's state and its history.

``labelport.service.workflow`` holds the rules and the store; these records travel to the SDK (embedded
and over HTTP) and the API unchanged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

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
        """The upper snake case spelling of ``project_details.workflow_status`` (``IN_REVIEW``)."""
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

    def as_labelbox(self, project_id: str) -> dict[str, Any]:
        """The export_v2 ``workflow_history`` entry: the task left and the task entered (Done is no task)."""
        out: dict[str, Any] = {
            "action": self.action.value,
            "created_at": as_utc(self.at).isoformat(timespec="microseconds"),
            "created_by": self.actor,
        }
        if self.from_status is not None and self.from_task is not None:
            out["previous_task_name"] = self.from_task
            out["previous_task_id"] = task_id(project_id, self.from_status)
        if self.to_status is not WorkflowStatus.DONE:
            out["next_task_name"] = self.to_task
            out["next_task_id"] = task_id(project_id, self.to_status)
        return out


@dataclass(frozen=True, slots=True)
class WorkflowState:
    data_row_id: str
    status: WorkflowStatus
    task_name: str
    updated_at: datetime
