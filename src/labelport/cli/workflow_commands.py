"""``labelport workflow``: approve, reject, rework, move, history.

Each command is one call into ``labelport.service``; a data row is named by its id or its global key. Known
errors become one line on stderr and exit code 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from labelport.cli.common import handles_errors, hub, out, subcommands
from labelport.cli.output import Column, FormatOption, OutputFormat, emit
from labelport.service import workflow

workflow_app = subcommands("Review workflow: approve, reject, rework, move; history.")

Project = Annotated[str, typer.Option("--project", "-p", metavar="PROJECT_ID", help="Project id.")]
Rows = Annotated[list[str], typer.Argument(metavar="ROW...", help="Data rows: ids or global keys.")]
Reason = Annotated[
    str | None, typer.Option(metavar="TEXT", help="Why (a rejection's reason); kept in the rows' history.")
]
STATE_COLUMNS = [
    Column("data_row_id", "data row", whole=True),
    Column("status", "status"),
    Column("task_name", "task"),
]


def _act(
    project: str, rows: list[str], action: str, to: str | None, fmt: OutputFormat, reason: str | None = None
) -> None:
    states = workflow.apply(hub(), project, rows, action, to=to, reason=reason)
    shown = [{"data_row_id": s.data_row_id, "status": s.status.value, "task_name": s.task_name} for s in states]
    emit(out, STATE_COLUMNS, shown, fmt)


@workflow_app.command("approve")
@handles_errors
def approve(project: Project, data_row: Rows, reason: Reason = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """In review -> Done."""
    _act(project, data_row, "APPROVE", None, fmt, reason)


@workflow_app.command("reject")
@handles_errors
def reject(project: Project, data_row: Rows, reason: Reason = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """In review -> In rework."""
    _act(project, data_row, "REJECT", None, fmt, reason)


@workflow_app.command("rework")
@handles_errors
def rework(project: Project, data_row: Rows, reason: Reason = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """In rework -> In review."""
    _act(project, data_row, "REWORK", None, fmt, reason)


@workflow_app.command("move")
@handles_errors
def move(
    project: Project,
    to: Annotated[str, typer.Option(metavar="STATUS", help="ToLabel, InReview, InRework or Done.")],
    data_row: Rows,
    reason: Reason = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Move data rows to any status (action MOVE)."""
    _act(project, data_row, "MOVE", to, fmt, reason)


@workflow_app.command("history")
@handles_errors
def history(
    project: Project,
    data_row: Annotated[str, typer.Argument(metavar="ROW", help="A data row: its id or global key.")],
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """The workflow history of a data row, newest first."""
    entries = workflow.history(hub(), project, data_row)
    rows = [
        {
            "at": e.at.isoformat(),
            "action": e.action.value,
            "from_task": e.from_task,
            "to_task": e.to_task,
            "actor": e.actor,
            "reason": e.reason,
        }
        for e in entries
    ]
    columns = [
        Column("at", "at", whole=True),
        Column("action", "action"),
        Column("from_task", "from"),
        Column("to_task", "to"),
        Column("actor", "by", whole=True),
        Column("reason", "reason"),
    ]
    emit(out, columns, rows, fmt)


def register(app: typer.Typer) -> None:
    """Add ``workflow`` to the ``labelport`` command."""
    app.add_typer(workflow_app, name="workflow")
