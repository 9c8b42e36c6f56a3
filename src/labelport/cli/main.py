"""``labelport``: datasets, data rows, ontologies, projects, batches, the demo, imaging conversions.

Every command is a thin call into ``labelport.service``; known errors become one line on stderr and
exit code 1.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from labelport.errors import LabelportError
from labelport.service import Hub

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="labelport",
    help="labelport: an open, self-hosted annotation hub for medical imaging.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
dataset_app = typer.Typer(help="Datasets: create and list.", no_args_is_help=True)
rows_app = typer.Typer(help="Data rows: add images, videos, NIfTI volumes and DICOM series.", no_args_is_help=True)
ontology_app = typer.Typer(help="Ontologies: create from a normalized JSON file, list.", no_args_is_help=True)
project_app = typer.Typer(help="Projects: create, list, connect an ontology.", no_args_is_help=True)
batch_app = typer.Typer(help="Batches: send data rows to a project.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
app.add_typer(rows_app, name="data-rows")
app.add_typer(ontology_app, name="ontology")
app.add_typer(project_app, name="project")
app.add_typer(batch_app, name="batch")

out = Console()
err = Console(stderr=True)


@app.callback()
def _root(
    home: Annotated[
        Path | None, typer.Option(help="Store location (default: $LABELPORT_HOME or ./.labelport).")
    ] = None,
) -> None:
    if home is not None:
        os.environ["LABELPORT_HOME"] = str(home)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a known error into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except LabelportError as exc:
            # Messages quote values ("[server]", "[0, 0, 255]"): escaped, so rich prints them, not reads markup.
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def hub() -> Hub:
    return Hub.open()


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )


@dataset_app.command("create")
@handles_errors
def dataset_create(name: str, description: Annotated[str | None, typer.Option(help="Free text.")] = None) -> None:
    """Create a dataset and print its id."""
    from labelport.service.datasets import create_dataset

    info = create_dataset(hub(), name, description)
    out.print(info.id, highlight=False)


@dataset_app.command("list")
@handles_errors
def dataset_list() -> None:
    """List datasets: id, name, created."""
    from labelport.service.datasets import list_datasets

    table = Table("id", "name", "created")
    for d in list_datasets(hub()):
        table.add_row(d.id, d.name, d.created_at.isoformat(timespec="seconds"))
    out.print(table)


def _assets(paths: list[Path], series: bool, media_type: str | None, prefix: str, keys: bool) -> list[dict[str, Any]]:
    def key(path: Path) -> str | None:
        return f"{prefix}{path.name}" if keys else None

    if series:
        files = [str(p) for p in paths]
        return [
            {
                "row_data": files,
                "global_key": key(paths[0].parent if len(paths) > 1 else paths[0]),
                "media_type": "dicom",
            }
        ]
    return [
        {"row_data": str(p), "global_key": key(p), **({"media_type": media_type} if media_type else {})} for p in paths
    ]


@rows_app.command("add")
@handles_errors
def rows_add(
    dataset: Annotated[str, typer.Argument(help="Dataset id.")],
    paths: Annotated[list[Path], typer.Argument(help="Files (one data row each) or folders (one DICOM series each).")],
    series: Annotated[bool, typer.Option("--series", help="All the given files form one DICOM series.")] = False,
    media_type: Annotated[
        str | None, typer.Option(help="image, video, dicom or nifti (checked against the content).")
    ] = None,
    prefix: Annotated[str, typer.Option(help="Global key prefix; the key is prefix + file or folder name.")] = "",
    global_keys: Annotated[bool, typer.Option(help="Give each row a global key from its name.")] = True,
) -> None:
    """Add data rows to a dataset, with a progress bar; failed rows are listed and the good ones land."""
    from labelport.service.datasets import create_data_rows

    assets = _assets(paths, series, media_type, prefix, global_keys)
    with progress_bar() as bar:
        task = bar.add_task("reading data rows", total=len(assets))
        result = create_data_rows(hub(), dataset, assets, lambda n: bar.advance(task, n))
    table = Table("id", "global key", "media type", "size")
    for row in result.created:
        a = row.media_attributes
        size = " x ".join(str(v) for v in (a.columns or a.width, a.rows or a.height, a.slices) if v)
        table.add_row(row.id, row.global_key or "", row.media_type.value, size)
    out.print(table)
    for failure in result.failures:
        err.print(f"[red]failed:[/red] {escape(failure.message)}", highlight=False, soft_wrap=True)
    out.print(f"{len(result.created)} created, {len(result.failures)} failed", highlight=False)
    if result.failures:
        raise typer.Exit(1)


@ontology_app.command("create")
@handles_errors
def ontology_create(
    name: str,
    normalized: Annotated[Path, typer.Argument(help="JSON file: {'tools': [...], 'classifications': [...]}.")],
    media_type: Annotated[str | None, typer.Option(help="image, video, dicom or nifti.")] = None,
) -> None:
    """Create an ontology from its normalized JSON and print its id."""
    from labelport.service.ontologies import create_ontology

    try:
        data = json.loads(normalized.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LabelportError(f"cannot read ontology JSON {str(normalized)!r}: {exc}") from None
    out.print(create_ontology(hub(), name, data, media_type).id, highlight=False)


@project_app.command("create")
@handles_errors
def project_create(
    name: str,
    media_type: Annotated[str, typer.Option(help="image, video, dicom or nifti.")] = "image",
    ontology: Annotated[str | None, typer.Option(help="Ontology id to connect.")] = None,
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
) -> None:
    """Create a project (optionally connecting an ontology) and print its id."""
    from labelport.service.projects import connect_ontology, create_project

    h = hub()
    info = create_project(h, name, media_type, description)
    if ontology is not None:
        connect_ontology(h, info.id, ontology)
    out.print(info.id, highlight=False)


@project_app.command("list")
@handles_errors
def project_list() -> None:
    """List projects: id, name, media type, ontology."""
    from labelport.service.projects import list_projects

    table = Table("id", "name", "media type", "ontology")
    for p in list_projects(hub()):
        table.add_row(p.id, p.name, p.media_type.value, p.ontology_id or "")
    out.print(table)


@batch_app.command("create")
@handles_errors
def batch_create(
    project: Annotated[str, typer.Argument(help="Project id.")],
    name: Annotated[str, typer.Argument(help="Batch name, unique in the project.")],
    global_key: Annotated[list[str], typer.Option("--global-key", "-k", help="A data row's global key (repeat).")],
    priority: Annotated[int, typer.Option(help="1 (highest) to 5 (lowest).")] = 5,
) -> None:
    """Send data rows, by global key, to a project as a batch; print the batch id."""
    from labelport.service.projects import create_batch

    out.print(create_batch(hub(), project, name, global_keys=global_key, priority=priority).id, highlight=False)


@app.command()
@handles_errors
def demo() -> None:
    """Create a demo workspace (synthetic DICOM series, image, ontology, project, batch) and print it."""
    from labelport.service.demo import run_demo

    h = hub()
    home = Path(os.environ.get("LABELPORT_HOME") or ".labelport").absolute()
    workspace = run_demo(h, home / "demo-media")
    if not workspace.created:
        out.print(f"demo already present in {home}: project {workspace.project.name!r} ({workspace.project.id})")
        for b in workspace.batches:
            out.print(f"  batch {b.name!r}: {b.size} data row(s), priority {b.priority}")
        return
    out.print(f"[bold]labelport demo[/bold] created in {home}", highlight=False)
    table = Table("what", "id", "details")
    if workspace.dataset:
        table.add_row("dataset", workspace.dataset.id, workspace.dataset.name)
    for row_id, key, kind, attrs in workspace.data_rows:
        dims = " x ".join(str(attrs[k]) for k in ("columns", "rows", "slices") if k in attrs) or " x ".join(
            str(attrs[k]) for k in ("width", "height") if k in attrs
        )
        table.add_row(f"data row ({kind})", row_id, f"{key}  {dims}")
    if workspace.ontology:
        tools = ", ".join(f"{t.name} ({t.type.value})" for t in workspace.ontology.ontology.tools)
        table.add_row("ontology", workspace.ontology.id, tools)
    table.add_row("project", workspace.project.id, f"{workspace.project.name} ({workspace.project.media_type.value})")
    for b in workspace.batches:
        table.add_row("batch", b.id, f"{b.name}, {b.size} data row(s), priority {b.priority}")
    out.print(table)


def _register_optional() -> None:
    try:
        from labelport.cli import imaging_commands
    except ImportError:  # pragma: no cover - the imaging commands ship with the package
        return
    imaging_commands.register(app)
    from labelport.cli import server_commands

    server_commands.register(app)
    from labelport.cli import transfer_commands, workflow_commands

    workflow_commands.register(app)
    transfer_commands.register(app)


_register_optional()


def main() -> None:
    app()
