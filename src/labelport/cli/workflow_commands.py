"""``labelport workflow``: approve, reject, rework, move, history.

Each command is one call into ``labelport.service``; known errors become one line on stderr and exit code 1.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

from labelport.errors import LabelportError
from labelport.service import Hub, workflow

workflow_app = typer.Typer(help="Review workflow: approve, reject, rework, move; history.", no_args_is_help=True)
err = Console(stderr=True)


def _fail(exc: LabelportError) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


def _act(project: str, rows: list[str], action: str, to: str | None = None) -> None:
    try:
        states = workflow.apply(Hub.open(), project, rows, action, to=to)
    except LabelportError as exc:
        _fail(exc)
    for state in states:
        typer.echo(f"{state.data_row_id}\t{state.status.value}\t{state.task_name}")


@workflow_app.command("approve")
def approve(project: Annotated[str, typer.Option("--project", "-p")], data_row: list[str]) -> None:
    """In review -> Done."""
    _act(project, data_row, "APPROVE")


@workflow_app.command("reject")
def reject(project: Annotated[str, typer.Option("--project", "-p")], data_row: list[str]) -> None:
    """In review -> In rework."""
    _act(project, data_row, "REJECT")


@workflow_app.command("rework")
def rework(project: Annotated[str, typer.Option("--project", "-p")], data_row: list[str]) -> None:
    """In rework -> In review."""
    _act(project, data_row, "REWORK")


@workflow_app.command("move")
def move(
    project: Annotated[str, typer.Option("--project", "-p")],
    to: Annotated[str, typer.Option(help="ToLabel, InReview, InRework or Done.")],
    data_row: list[str],
) -> None:
    """Move data rows to any status (action MOVE)."""
    _act(project, data_row, "MOVE", to)


@workflow_app.command("history")
def history(project: Annotated[str, typer.Option("--project", "-p")], data_row: str) -> None:
    """The workflow history of a data row, newest first."""
    try:
        entries = workflow.history(Hub.open(), project, data_row)
    except LabelportError as exc:
        _fail(exc)
    for e in entries:
        line = f"{e.at.isoformat()}\t{e.action.value}\t{e.from_task or '-'} -> {e.to_task}\t{e.actor or '-'}"
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``workflow`` to the ``labelport`` command."""
    app.add_typer(workflow_app, name="workflow")
