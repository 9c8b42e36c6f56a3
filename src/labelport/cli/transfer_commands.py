"""``labelport import``, ``labelport export``, ``labelport formats`` and ``labelport validate``: annotations in
and out through the format registry.

A format is named by its registry name (``labelport formats`` lists them) or by a vendor (``labelbox``,
``encord``...): importing reads what the vendor's users bring (Labelbox NDJSON), exporting writes what the
vendor exports (Labelbox export_v2). When the format is left out of ``import`` or ``validate``, it is
recognised from the content; an input two formats claim is refused, naming both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labelport.errors import LabelportError


def _file_and_format(args: list[str]) -> tuple[str | None, Path]:
    if len(args) == 1:
        return None, Path(args[0])
    if len(args) == 2:
        return args[0], Path(args[1])
    raise LabelportError(f"give [FORMAT] FILE, found {len(args)} arguments: {' '.join(args)}")


def _lines(file: Path) -> int | None:
    """Lines of an NDJSON file (one record each); None for a JSON document, whose records are not lines."""
    with file.open("rb") as handle:
        first = handle.read(1).lstrip() or handle.readline().lstrip()[:1]
        if first == b"[":
            return None
        handle.seek(0)
        return sum(1 for line in handle if line.strip())


def import_(
    args: Annotated[
        list[str], typer.Argument(help="[FORMAT] FILE: the format (see `labelport formats`) and the file.")
    ],
    project: Annotated[str, typer.Option(help="Project id.")],
    kind: Annotated[
        str, typer.Option("--as", help="prelabels (model-assisted labeling) or ground-truth.")
    ] = "prelabels",
    name: Annotated[str | None, typer.Option(help="Import name (default: the file name).")] = None,
    ontology: Annotated[
        Path | None,
        typer.Option(
            help="The ontology the file's labels were made with, in the format's own JSON (encord): connected to "
            "the project when it has none, else matched to its features by name and kind."
        ),
    ] = None,
    match: Annotated[
        str | None,
        typer.Option(
            help="encord: which name of a label row's media a data row's global key or external id equals: "
            "data_hash or data_title (default: either, refused when they name different rows)."
        ),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Items lists: dataset for the data rows they bring (default: a new one).")
    ] = None,
    create_features: Annotated[
        bool, typer.Option("--create-features", help="Items lists: add missing categories to the ontology.")
    ] = False,
    label_validate: Annotated[
        bool, typer.Option("--label-validate", help="RedBrick: file values must equal the segment map keys.")
    ] = False,
    prune_segmentations: Annotated[
        bool,
        typer.Option(
            "--prune-segmentations", help="RedBrick: drop file values the segment map lacks, and empty entries."
        ),
    ] = False,
    keep_unmapped: Annotated[
        bool,
        typer.Option("--keep-unmapped", help="RedBrick: keep file values the segment map lacks as view-only voxels."),
    ] = False,
) -> None:
    """Import annotations as pre-labels or ground truth; failed annotations are listed with where and why.

    A format that brings its media (a RedBrick items list) creates the data rows first, sends them to the
    project in a batch and imports their annotations; a task with any problem fails whole, with the reasons.
    """
    from labelport.cli.main import err, handles_errors, hub, out, progress_bar
    from labelport.formats import detect_format, get_format
    from labelport.model.label import LabelKind
    from labelport.service.imports import import_source, import_statuses_of

    @handles_errors
    def run() -> None:
        fmt, file = _file_and_format(args)
        if not file.is_file():
            raise LabelportError(f"import file {str(file)!r} does not exist")
        label_kind = LabelKind.parse(kind)
        if ontology is not None and not ontology.is_file():
            raise LabelportError(f"ontology file {str(ontology)!r} does not exist")
        h = hub()
        entry = get_format(fmt, reading=True) if fmt is not None else detect_format(file)
        items_flags = {
            "--dataset": dataset is not None,
            "--create-features": create_features,
            "--label-validate": label_validate,
            "--prune-segmentations": prune_segmentations,
            "--keep-unmapped": keep_unmapped,
        }
        if entry.brings_media:
            if ontology is not None or match is not None:
                flag = "--ontology" if ontology is not None else "--match"
                raise LabelportError(f"{flag} applies to label files of existing data rows (encord), not {entry.name}")
            options = {
                "label_validate": label_validate,
                "prune_segmentations": prune_segmentations,
                "keep_unmapped": keep_unmapped,
            }
            _import_items(
                h, project, file, entry.name, label_kind, name or file.name, dataset, create_features, options
            )
            return
        given = [flag for flag, on in items_flags.items() if on]
        if given:
            raise LabelportError(
                f"{given[0]} applies to items lists that bring their media (redbrick), not {entry.name}"
            )
        with progress_bar() as bar:
            task = bar.add_task("importing", total=_lines(file))
            job = import_source(
                h,
                project,
                name or file.name,
                file,
                label_kind,
                fmt=fmt,
                progress=lambda n: bar.advance(task, n),
                options={"match": match} if match is not None else None,
                ontology_file=ontology,
            )
        if job.state == "FAILED":
            raise LabelportError(f"import failed: {job.error}")
        failures = import_statuses_of(h, job.id, failures_only=True)
        if failures:
            table = Table("where", "uuid", "data row", "reason", title="failed annotations")
            for f in failures:
                first = f["errors"][0]
                where = ", ".join(str(first[k]) for k in ("line", "path") if first.get(k) is not None)
                row = f["data_row"] or {}
                shown = row.get("global_key") or row.get("id") or row.get("external_id") or ""
                table.add_row(where, f["uuid"] or "", str(shown), first["message"])
            err.print(table)
        out.print(
            f"import {job.id}: {job.succeeded} of {job.total} annotations imported as {label_kind.value}, "
            f"{job.failed} failed",
            highlight=False,
        )
        if failures:
            raise typer.Exit(1)

    run()


def _import_items(
    h: Any,
    project: str,
    file: Path,
    fmt: str,
    kind: Any,
    name: str,
    dataset: str | None,
    create_features: bool,
    options: dict[str, Any],
) -> None:
    """The import of a format that brings its media: tasks that failed listed with why, then a summary."""
    from labelport.cli.main import err, out, progress_bar
    from labelport.service.imports import import_statuses_of
    from labelport.service.items import import_items

    with progress_bar() as bar:
        task = bar.add_task("importing", total=None)
        result = import_items(
            h, project, file, name=name, kind=kind, fmt=fmt, dataset_id=dataset, create_features=create_features,
            options=options, progress=lambda n: bar.advance(task, n),
        )
    for record in result.failed:
        for error in record.errors:  # each names its file, line, JSON path, task and series
            err.print(f"task failed: {error}", highlight=False, soft_wrap=True)
    job = result.job
    failures = import_statuses_of(h, job.id, failures_only=True) if job is not None else []
    if failures:
        table = Table("where", "uuid", "data row", "reason", title="failed annotations")
        for f in failures:
            first = f["errors"][0]
            where = ", ".join(str(first[k]) for k in ("line", "path") if first.get(k) is not None)
            row = f["data_row"] or {}
            table.add_row(where, f["uuid"] or "", str(row.get("global_key") or row.get("id") or ""), first["message"])
        err.print(table)
    imported = f"{job.succeeded} of {job.total} annotations imported as {kind.value}" if job else "nothing imported"
    out.print(
        f"import {job.id if job else '-'}: {len(result.records) - len(result.failed)} of {len(result.records)} tasks "
        f"landed, {imported}; {result.created} data rows created, {result.reused} reused"
        + (f" (dataset {result.dataset_id})" if result.dataset_id else ""),
        highlight=False,
        soft_wrap=True,
    )
    if result.failed or failures:
        raise typer.Exit(1)


def _range(start: str | None, end: str | None) -> list[str | None] | None:
    return [start, end] if start is not None or end is not None else None


def export(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="The format to write (see `labelport formats`).")],
    project: Annotated[str, typer.Option("--project", "-p", help="Project id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File (or folder, for folder formats) to write.")],
    include: Annotated[
        list[str] | None,
        typer.Option(help="Include a section the format offers (repeatable), or 'all' (labelbox: its export params)."),
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
    semantic: Annotated[
        bool, typer.Option("--semantic", help="RedBrick: segmentation values are classId + 1.")
    ] = False,
    binary_mask: Annotated[
        bool | None,
        typer.Option(
            "--binary-mask/--no-binary-mask",
            help="RedBrick: one file per instance (default: when instances overlap).",
        ),
    ] = None,
) -> None:
    """Export a project's labels in a format, streamed, with a progress bar; masks are written beside it."""
    from labelport.cli.main import err, handles_errors, hub, out, progress_bar
    from labelport.formats import get_format
    from labelport.service import exports

    @handles_errors
    def run() -> None:
        entry = get_format(fmt, reading=False)
        choices: tuple[str, ...] = getattr(entry.module, "INCLUDE_CHOICES", ())
        chosen = set(include or ())
        if chosen and not choices:
            raise LabelportError(f"--include chooses sections of a format; {entry.name} has none to choose")
        unknown = chosen - {*choices, "all"}
        if unknown:
            raise LabelportError(f"unknown --include {sorted(unknown)[0]!r}; choose from {', '.join(choices)}, all")
        options: dict[str, Any] = entry.module.include_options(chosen) if choices else {}  # type: ignore[attr-defined]
        if semantic:
            options["semantic"] = True
        if binary_mask is not None:
            options["binary"] = binary_mask
        filters: dict[str, Any] = {
            "workflow_status": workflow_status,
            "last_activity_at": _range(last_activity_from, last_activity_to),
            "label_created_at": _range(label_created_from, label_created_to),
            "data_row_ids": data_row_id or None,
            "global_keys": global_key or None,
            "batch_ids": batch_id or None,
        }
        filters = {k: v for k, v in filters.items() if v is not None}
        h = hub()
        total = exports.count(h, project, filters)
        link = exports.server_mask_url(mask_base_url, project) if mask_base_url else None
        with progress_bar() as bar:
            task = bar.add_task("exporting", total=total)
            report = exports.export(
                h,
                project,
                entry.name,
                output.absolute(),
                options=options,
                filters=filters,
                link_mask=link,
                progress=lambda n: bar.advance(task, n),
            )
        for problem in report.problems:
            err.print(f"warning: {problem}", highlight=False, soft_wrap=True)
        for loss in report.losses:
            err.print(f"dropped: {loss}", highlight=False, soft_wrap=True)
        out.print(
            f"exported {report.items} data rows ({report.annotations} annotations) to {output}",
            highlight=False,
            soft_wrap=True,
        )

    run()


def formats() -> None:
    """List the registered formats: name, what they do, media kinds, the vendor name that selects them."""
    from labelport.cli.main import out
    from labelport.formats import FORMATS

    table = Table("format", "does", "media", "alias", "description")
    for entry in FORMATS:
        aliases = ", ".join(
            f"{alias} ({way})" for alias, way in ((entry.read_alias, "import"), (entry.write_alias, "export")) if alias
        )
        media = ", ".join(sorted(m.value for m in entry.media))
        table.add_row(entry.name, entry.abilities, media, aliases, entry.description)
    out.print(table)


def validate(
    args: Annotated[list[str], typer.Argument(help="[FORMAT] FILE: the format (recognised when left out), the file.")],
) -> None:
    """Read a file with its format and report every problem (where, why, the value), without importing."""
    from labelport.cli.main import err, handles_errors, out
    from labelport.formats import detect_format, get_format
    from labelport.formats.base import ErrorPolicy, Problem, ReadContext
    from labelport.service.hub import Settings
    from labelport.service.masks import FileResolver

    @handles_errors
    def run() -> None:
        fmt, file = _file_and_format(args)
        if not file.is_file():
            raise LabelportError(f"file {str(file)!r} does not exist")
        entry = get_format(fmt, reading=True) if fmt is not None else detect_format(file)
        resolver = FileResolver(Settings.from_env(), (Path.cwd(), file.absolute().parent))
        items = annotations = problems = 0
        for item in entry.read(file, ReadContext(ErrorPolicy.SKIP, resolver)):
            if isinstance(item, Problem):
                problems += 1
                err.print(f"{item}", highlight=False, soft_wrap=True)
            else:
                items += 1
                annotations += item.annotation_count()
        out.print(
            f"{file}: {entry.name}, {items} items, {annotations} annotations, {problems} problems", highlight=False
        )
        if problems:
            raise typer.Exit(1)

    run()


def register(app: typer.Typer) -> None:
    """Add ``import``, ``export``, ``formats`` and ``validate`` to the ``labelport`` command."""
    app.command("import")(import_)
    app.command("export")(export)
    app.command("formats")(formats)
    app.command("validate")(validate)
