"""``labelport export labelbox`` (export_v2 rows, streamed, with a progress bar) and ``labelport workflow``.

Each command is one call into ``labelport.service``; known errors become one line on stderr and exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from labelport.errors import LabelportError
from labelport.formats import labelbox_export
from labelport.service import Hub, exports, workflow

export_app = typer.Typer(help="Export a project's labels in a platform's format.", no_args_is_help=True)
workflow_app = typer.Typer(help="Review workflow: approve, reject, rework, move; history.", no_args_is_help=True)
err = Console(stderr=True)

PARAM_NAMES = (
    "attachments",
    "metadata_fields",
    "data_row_details",
    "project_details",
    "label_details",
    "performance_details",
    "interpolated_frames",
)


def _fail(exc: LabelportError) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


def _range(start: str | None, end: str | None) -> list[str | None] | None:
    return [start, end] if start is not None or end is not None else None


@export_app.command("labelbox")
def export_labelbox(
    project: Annotated[str, typer.Option("--project", "-p", help="Project id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="NDJSON file to write (masks go to <file>.masks/).")],
    include: Annotated[
        list[str] | None,
        typer.Option(help=f"Include a section (repeatable): {', '.join(PARAM_NAMES)}, or 'all'."),
    ] = None,
    workflow_status: Annotated[str | None, typer.Option(help="ToLabel, InReview, InRework or Done.")] = None,
    last_activity_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD[ hh:mm:ss] or ISO with offset.")] = None,
    last_activity_to: Annotated[str | None, typer.Option()] = None,
    label_created_from: Annotated[str | None, typer.Option()] = None,
    label_created_to: Annotated[str | None, typer.Option()] = None,
    data_row_id: Annotated[list[str] | None, typer.Option(help="Only these data rows (repeatable).")] = None,
    global_key: Annotated[list[str] | None, typer.Option(help="Only these global keys (repeatable).")] = None,
    batch_id: Annotated[list[str] | None, typer.Option(help="Only these batches (repeatable).")] = None,
    mask_base_url: Annotated[
        str | None, typer.Option(help="Link masks to this labelport server instead of writing PNG files.")
    ] = None,
) -> None:
    """Export a project as Labelbox export_v2 rows (one NDJSON line per data row)."""
    chosen = set(include or ())
    unknown = chosen - {*PARAM_NAMES, "all"}
    if unknown:
        typer.echo(
            f"error: unknown --include {sorted(unknown)[0]!r}; choose from {', '.join(PARAM_NAMES)}, all", err=True
        )
        raise typer.Exit(code=1)
    params: dict[str, Any] = {name: "all" in chosen or name in chosen for name in PARAM_NAMES}
    filters: dict[str, Any] = {
        "workflow_status": workflow_status,
        "last_activity_at": _range(last_activity_from, last_activity_to),
        "label_created_at": _range(label_created_from, label_created_to),
        "data_row_ids": data_row_id or None,
        "global_keys": global_key or None,
        "batch_ids": batch_id or None,
    }
    filters = {k: v for k, v in filters.items() if v is not None}
    try:
        hub = Hub.open()
        total = exports.count(hub, project, filters)
        errors: list[dict[str, Any]] = []
        rows = exports.export_rows(
            hub,
            project,
            params,
            filters,
            mask_url=exports.server_mask_url(mask_base_url, project) if mask_base_url else None,
            mask_folder=None if mask_base_url else output.with_name(output.name + ".masks"),
            errors=errors,
        )
        with Progress(
            TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            task = bar.add_task("rows", total=total)

            def advancing() -> Any:
                for row in rows:
                    yield row
                    bar.advance(task)

            written = labelbox_export.write(advancing(), output)
    except LabelportError as exc:
        _fail(exc)
    for problem in errors:
        typer.echo(f"warning: {problem}", err=True)
    typer.echo(f"exported {written} data rows to {output}")


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
    """Add ``export`` and ``workflow`` to the ``labelport`` command."""
    app.add_typer(export_app, name="export")
    app.add_typer(workflow_app, name="workflow")
