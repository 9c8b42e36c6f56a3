"""``labelport dataset|data-rows|ontology|project|batch``: the catalog a project is built from.

Lists take ``--format table|json|csv``; ids and global keys are printed whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from labelport.cli.common import err, handles_errors, hub, out, progress_bar, subcommands
from labelport.cli.output import Column, FormatOption, OutputFormat, emit
from labelport.errors import LabelportError

dataset_app = subcommands("Datasets: create and list.")
rows_app = subcommands("Data rows: add images, videos, NIfTI volumes and DICOM series; list them.")
ontology_app = subcommands("Ontologies: create from a normalized JSON file, list.")
project_app = subcommands("Projects: create, list, connect an ontology.")
batch_app = subcommands("Batches: send data rows to a project, list them.")

MediaTypeOption = Annotated[
    str | None, typer.Option(metavar="image|video|dicom|nifti", help="The media type (checked against the content).")
]


def _when(value: Any) -> str:
    return str(value.isoformat(timespec="seconds"))


@dataset_app.command("create")
@handles_errors
def dataset_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The dataset's name.")],
    description: Annotated[str | None, typer.Option(metavar="TEXT", help="Free text.")] = None,
) -> None:
    """Create a dataset and print its id."""
    from labelport.service.datasets import create_dataset

    info = create_dataset(hub(), name, description)
    out.print(info.id, highlight=False)


@dataset_app.command("list")
@handles_errors
def dataset_list(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List datasets: id, name, created."""
    from labelport.service.datasets import list_datasets

    rows = [{"id": d.id, "name": d.name, "created_at": _when(d.created_at)} for d in list_datasets(hub())]
    emit(out, [Column("id", "id", whole=True), Column("name", "name"), Column("created_at", "created")], rows, fmt)


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


ROW_COLUMNS = [
    Column("id", "id", whole=True),
    Column("global_key", "global key", whole=True),
    Column("media_type", "media type"),
    Column("size", "size"),
]


def _size(row: Any) -> str:
    a = row.media_attributes
    return " x ".join(str(v) for v in (a.columns or a.width, a.rows or a.height, a.slices) if v)


@rows_app.command("add")
@handles_errors
def rows_add(
    dataset: Annotated[str, typer.Argument(metavar="DATASET_ID", help="Dataset id.")],
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Files (one data row each) or folders (one DICOM series each)."),
    ],
    series: Annotated[bool, typer.Option("--series", help="All the given files form one DICOM series.")] = False,
    media_type: MediaTypeOption = None,
    prefix: Annotated[
        str, typer.Option(metavar="PREFIX", help="Global key prefix; the key is prefix + file or folder name.")
    ] = "",
    global_keys: Annotated[bool, typer.Option(help="Give each row a global key from its name.")] = True,
) -> None:
    """Add data rows to a dataset, with a progress bar; failed rows are listed and the good ones land."""
    from labelport.service.datasets import create_data_rows

    assets = _assets(paths, series, media_type, prefix, global_keys)
    with progress_bar() as bar:
        task = bar.add_task("reading data rows", total=len(assets))
        result = create_data_rows(hub(), dataset, assets, lambda n: bar.advance(task, n))
    rows = [
        {"id": r.id, "global_key": r.global_key, "media_type": r.media_type.value, "size": _size(r)}
        for r in result.created
    ]
    if rows:
        emit(out, ROW_COLUMNS, rows, OutputFormat.TABLE)
    for failure in result.failures:
        err.print(f"[red]failed:[/red] {escape(failure.message)}", highlight=False, soft_wrap=True)
    out.print(f"{len(result.created)} created, {len(result.failures)} failed", highlight=False)
    if result.failures:
        raise LabelportError(f"{len(result.failures)} of {len(assets)} data rows failed (listed above)")


@rows_app.command("list")
@handles_errors
def rows_list(
    dataset: Annotated[str, typer.Argument(metavar="DATASET_ID", help="Dataset id.")],
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List a dataset's data rows: id, global key, media type, size, row data."""
    from labelport.service.datasets import list_data_rows

    rows = [
        {
            "id": r.id,
            "global_key": r.global_key,
            "external_id": r.external_id,
            "media_type": r.media_type.value,
            "size": _size(r),
            "row_data": r.row_data,
        }
        for r in list_data_rows(hub(), dataset)
    ]
    columns = [*ROW_COLUMNS, Column("external_id", "external id", whole=True), Column("row_data", "row data")]
    emit(out, columns, rows, fmt)


def _ontology_file(args: list[str]) -> tuple[str | None, Path]:
    if len(args) == 1:
        return None, Path(args[0])
    if len(args) == 2:
        return args[0], Path(args[1])
    raise LabelportError(f"give [NAME] FILE, found {len(args)} arguments: {' '.join(args)}")


@ontology_app.command("create")
@handles_errors
def ontology_create(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[NAME] FILE",
            help="The ontology's name (default: the file's 'name', else the file name) and its JSON file: "
            "{'tools': [...], 'classifications': [...]}.",
        ),
    ],
    media_type: MediaTypeOption = None,
) -> None:
    """Create an ontology from its normalized JSON (``OntologyBuilder(...).asdict()``) and print its id."""
    from labelport.service.ontologies import create_ontology

    name, file = _ontology_file(args)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise LabelportError(f"ontology file {str(file)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelportError(f"cannot read ontology JSON {str(file)!r}: {exc}") from None
    if not isinstance(data, dict):
        raise LabelportError(
            f"ontology JSON {str(file)!r} must be an object {{'tools': [...], 'classifications': [...]}}, "
            f"found {type(data).__name__}"
        )
    given = data.pop("name", None)
    name = name or (given if isinstance(given, str) and given.strip() else file.stem)
    out.print(create_ontology(hub(), name, data, media_type).id, highlight=False)


@ontology_app.command("list")
@handles_errors
def ontology_list(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List ontologies: id, name, media type, tools, classifications."""
    from labelport.service.ontologies import list_ontologies

    rows = [
        {
            "id": o.id,
            "name": o.name,
            "media_type": o.media_type.value if o.media_type else None,
            "tools": ", ".join(f"{t.name} ({t.type.value})" for t in o.ontology.tools),
            "classifications": ", ".join(c.name for c in o.ontology.classifications),
            "created_at": _when(o.created_at),
        }
        for o in list_ontologies(hub())
    ]
    columns = [
        Column("id", "id", whole=True),
        Column("name", "name"),
        Column("media_type", "media type"),
        Column("tools", "tools"),
        Column("classifications", "classifications"),
        Column("created_at", "created"),
    ]
    emit(out, columns, rows, fmt)


@project_app.command("create")
@handles_errors
def project_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The project's name.")],
    media_type: Annotated[str, typer.Option(metavar="image|video|dicom|nifti", help="The media it labels.")] = "image",
    ontology: Annotated[str | None, typer.Option(metavar="ONTOLOGY_ID", help="Ontology to connect.")] = None,
    description: Annotated[str | None, typer.Option(metavar="TEXT", help="Free text.")] = None,
) -> None:
    """Create a project (optionally connecting an ontology) and print its id."""
    from labelport.service.projects import connect_ontology, create_project

    h = hub()
    info = create_project(h, name, media_type, description)
    if ontology is not None:
        connect_ontology(h, info.id, ontology)
    out.print(info.id, highlight=False)


@project_app.command("connect-ontology")
@handles_errors
def project_connect_ontology(
    project: Annotated[str, typer.Argument(metavar="PROJECT_ID", help="Project id.")],
    ontology: Annotated[
        str, typer.Argument(metavar="ONTOLOGY_ID", help="Ontology id (see `labelport ontology list`).")
    ],
) -> None:
    """Connect an ontology to a project (its media type must be the project's)."""
    from labelport.service.projects import connect_ontology

    info = connect_ontology(hub(), project, ontology)
    out.print(f"project {info.id} uses ontology {info.ontology_id}", highlight=False)


@project_app.command("list")
@handles_errors
def project_list(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List projects: id, name, media type, connected ontology."""
    from labelport.service.projects import list_projects

    rows = [
        {"id": p.id, "name": p.name, "media_type": p.media_type.value, "ontology_id": p.ontology_id}
        for p in list_projects(hub())
    ]
    columns = [
        Column("id", "id", whole=True),
        Column("name", "name"),
        Column("media_type", "media type"),
        Column("ontology_id", "ontology", whole=True),
    ]
    emit(out, columns, rows, fmt)


@batch_app.command("create")
@handles_errors
def batch_create(
    project: Annotated[str, typer.Argument(metavar="PROJECT_ID", help="Project id.")],
    name: Annotated[str, typer.Argument(metavar="NAME", help="Batch name, unique in the project.")],
    global_key: Annotated[
        list[str] | None, typer.Option("--global-key", "-k", metavar="KEY", help="A data row's global key (repeat).")
    ] = None,
    data_row: Annotated[
        list[str] | None, typer.Option("--data-row", "-r", metavar="ID", help="A data row's id (repeat).")
    ] = None,
    priority: Annotated[int, typer.Option(metavar="1..5", help="1 (highest) to 5 (lowest).")] = 5,
) -> None:
    """Send data rows, by global key or id, to a project as a batch; print the batch id."""
    from labelport.service.projects import create_batch

    if not global_key and not data_row:
        raise LabelportError("name the data rows to send: --global-key KEY or --data-row ID (repeatable)")
    info = create_batch(
        hub(), project, name, global_keys=global_key or None, data_row_ids=data_row or None, priority=priority
    )
    out.print(info.id, highlight=False)


@batch_app.command("list")
@handles_errors
def batch_list(
    project: Annotated[str, typer.Argument(metavar="PROJECT_ID", help="Project id.")],
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List a project's batches: id, name, priority, size."""
    from labelport.service.projects import list_batches

    rows = [
        {"id": b.id, "name": b.name, "priority": b.priority, "size": b.size, "created_at": _when(b.created_at)}
        for b in list_batches(hub(), project)
    ]
    columns = [
        Column("id", "id", whole=True),
        Column("name", "name"),
        Column("priority", "priority"),
        Column("size", "data rows"),
        Column("created_at", "created"),
    ]
    emit(out, columns, rows, fmt)


def register(app: typer.Typer) -> None:
    """Add ``dataset``, ``data-rows``, ``ontology``, ``project`` and ``batch`` to the ``labelport`` command."""
    app.add_typer(dataset_app, name="dataset")
    app.add_typer(rows_app, name="data-rows")
    app.add_typer(ontology_app, name="ontology")
    app.add_typer(project_app, name="project")
    app.add_typer(batch_app, name="batch")
