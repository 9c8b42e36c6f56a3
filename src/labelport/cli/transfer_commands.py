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

from labelport.cli.output import Column, FormatOption, OutputFormat, emit
from labelport.errors import LabelportError
from labelport.model.label import LabelKind


def _file_and_format(args: list[str]) -> tuple[str | None, Path]:
    if len(args) == 1:
        return None, Path(args[0])
    if len(args) == 2:
        return args[0], Path(args[1])
    raise LabelportError(f"give [FORMAT] FILE, found {len(args)} arguments: {' '.join(args)}")


def _progress_total(file: Path) -> int | None:
    """What an import's progress counts up to: the number of the file's last non-blank line (imports report
    the lines they have read). None for a JSON array spread over lines, whose elements carry no line."""
    last = 0
    first: bytes | None = None
    with file.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            stripped = line.strip()
            if stripped:
                first = stripped if first is None else first
                last = number
    if first is not None and first.startswith(b"[") and last > 1:
        return None
    return last


# What ``--as`` takes: the words its help offers, and the label kinds' own names.
IMPORT_AS = {
    "prelabels": LabelKind.PREDICTION,
    "prediction": LabelKind.PREDICTION,
    "ground-truth": LabelKind.GROUND_TRUTH,
    "ground_truth": LabelKind.GROUND_TRUTH,
}


def label_kind(value: str) -> LabelKind:
    """The label kind ``--as`` names."""
    kind = IMPORT_AS.get(value.strip().lower())
    if kind is None:
        raise LabelportError(f"--as takes prelabels or ground-truth, found {value!r}")
    return kind


def import_(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[FORMAT] FILE",
            help="The format (see `labelport formats`; recognised from the content when left out) and the file.",
        ),
    ],
    project: Annotated[str, typer.Option("--project", "-p", metavar="PROJECT_ID", help="Project id.")],
    kind: Annotated[
        str,
        typer.Option(
            "--as", metavar="prelabels|ground-truth", help="prelabels (model-assisted labeling) or ground-truth."
        ),
    ] = "prelabels",
    name: Annotated[str | None, typer.Option(metavar="NAME", help="Import name (default: the file name).")] = None,
    ontology: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="The ontology the file's labels were made with, in the format's own JSON (encord): connected to "
            "the project when it has none, else matched to its features by name and kind.",
        ),
    ] = None,
    match: Annotated[
        str | None,
        typer.Option(
            metavar="data_hash|data_title",
            help="encord: which name of a label row's media a data row's global key or external id equals: "
            "data_hash or data_title (default: either, refused when they name different rows).",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            metavar="DATASET_ID", help="Items lists: dataset for the data rows they bring (default: a new one)."
        ),
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
    from labelport.cli.common import handles_errors, hub, out, progress_bar
    from labelport.formats import detect_format, get_format
    from labelport.service.imports import import_source, import_statuses_of

    @handles_errors
    def run() -> None:
        fmt, file = _file_and_format(args)
        chosen = label_kind(kind)
        if not file.is_file():
            raise LabelportError(f"import file {str(file)!r} does not exist")
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
            _import_items(h, project, file, entry.name, chosen, name or file.name, dataset, create_features, options)
            return
        given = [flag for flag, on in items_flags.items() if on]
        if given:
            raise LabelportError(
                f"{given[0]} applies to items lists that bring their media (redbrick), not {entry.name}"
            )
        with progress_bar() as bar:
            task = bar.add_task("importing lines", total=_progress_total(file))
            job = import_source(
                h,
                project,
                name or file.name,
                file,
                chosen,
                fmt=fmt,
                progress=lambda n: bar.advance(task, n),
                options={"match": match} if match is not None else None,
                ontology_file=ontology,
            )
        if job.state == "FAILED":
            raise LabelportError(f"import failed: {job.error}")
        failures = import_statuses_of(h, job.id, failures_only=True)
        print_failures(failures)
        out.print(
            f"import {job.id}: {job.succeeded} of {job.total} annotations imported as {chosen.value}, "
            f"{job.failed} failed",
            highlight=False,
            soft_wrap=True,
        )
        if failures:
            raise LabelportError(f"{job.failed} of {job.total} annotations failed (listed above)")

    run()


def print_failures(failures: list[dict[str, Any]]) -> None:
    """One line per failed annotation on stderr: where, why, and which; never cut, easy to grep."""
    from rich.markup import escape

    from labelport.cli.common import err

    for f in failures:
        first = f["errors"][0]
        where = ", ".join(str(first[k]) for k in ("line", "path") if first.get(k) is not None)
        row = f["data_row"] or {}
        shown = row.get("global_key") or row.get("id") or row.get("external_id")
        which = ", ".join(
            part for part in (f"uuid {f['uuid']}" if f["uuid"] else "", f"data row {shown!r}" if shown else "") if part
        )
        err.print(
            f"failed: {where or 'input'}: {escape(first['message'])}" + (f" ({which})" if which else ""),
            highlight=False,
            soft_wrap=True,
        )


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
    from labelport.cli.common import err, out, progress_bar
    from labelport.service.imports import import_statuses_of
    from labelport.service.items import import_items

    with progress_bar() as bar:
        task = bar.add_task("importing", total=None)
        result = import_items(
            h, project, file, name=name, kind=kind, fmt=fmt, dataset_id=dataset, create_features=create_features,
            options=options, progress=lambda n: bar.advance(task, n),
        )  # fmt: skip
    for record in result.failed:
        for error in record.errors:  # each names its file, line, JSON path, task and series
            err.print(f"task failed: {error}", highlight=False, soft_wrap=True)
    job = result.job
    failures = import_statuses_of(h, job.id, failures_only=True) if job is not None else []
    print_failures(failures)
    imported = f"{job.succeeded} of {job.total} annotations imported as {kind.value}" if job else "nothing imported"
    out.print(
        f"import {job.id if job else '-'}: {len(result.records) - len(result.failed)} of {len(result.records)} tasks "
        f"landed, {imported}; {result.created} data rows created, {result.reused} reused"
        + (f" (dataset {result.dataset_id})" if result.dataset_id else ""),
        highlight=False,
        soft_wrap=True,
    )
    if result.failed or failures:
        raise LabelportError(
            f"{len(result.failed)} of {len(result.records)} tasks and {len(failures)} annotations failed (listed above)"
        )


def _range(start: str | None, end: str | None) -> list[str | None] | None:
    return [start, end] if start is not None or end is not None else None


Date = Annotated[
    str | None, typer.Option(metavar="DATE", help="YYYY-MM-DD, YYYY-MM-DD hh:mm:ss (UTC) or ISO with an offset.")
]


def export(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="The format to write (see `labelport formats`).")],
    project: Annotated[str, typer.Option("--project", "-p", metavar="PROJECT_ID", help="Project id.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="File (or folder, for folder formats) to write.")
    ],
    include: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SECTION",
            help="Include a section the format offers (repeatable), or 'all' (labelbox: its export params).",
        ),
    ] = None,
    workflow_status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="ToLabel, InReview, InRework or Done.")
    ] = None,
    last_activity_from: Date = None,
    last_activity_to: Date = None,
    label_created_from: Date = None,
    label_created_to: Date = None,
    data_row_id: Annotated[
        list[str] | None, typer.Option(metavar="ID", help="Only these data rows (repeatable).")
    ] = None,
    global_key: Annotated[
        list[str] | None, typer.Option(metavar="KEY", help="Only these global keys (repeatable).")
    ] = None,
    batch_id: Annotated[list[str] | None, typer.Option(metavar="ID", help="Only these batches (repeatable).")] = None,
    mask_base_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Link masks to this labelport server instead of writing PNG files."),
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
    from labelport.cli.common import err, handles_errors, hub, out, progress_bar
    from labelport.formats import Output, get_format
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
        folder = output if entry.output is Output.FOLDER else output.parent
        if entry.output is Output.FILE and output.is_dir():
            raise LabelportError(f"output {str(output)!r} is a folder; give a file name")
        if entry.output is Output.FILE and not folder.is_dir():
            raise LabelportError(f"output folder {str(folder)!r} does not exist; create it first")
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
                output.absolute(),  # masks and frame files are linked by absolute file:// URLs
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


def formats(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the registered formats: name, what they do, media kinds, the vendor name that selects them."""
    from labelport.cli.common import out
    from labelport.formats import FORMATS

    rows = [
        {
            "name": entry.name,
            "does": entry.abilities,
            "media": ", ".join(sorted(m.value for m in entry.media)),
            "alias": ", ".join(
                f"{alias} ({way})"
                for alias, way in ((entry.read_alias, "import"), (entry.write_alias, "export"))
                if alias
            ),
            "description": entry.description,
        }
        for entry in FORMATS
    ]
    columns = [
        Column("name", "format", whole=True),
        Column("does", "does"),
        Column("media", "media"),
        Column("alias", "alias"),
        Column("description", "description"),
    ]
    emit(out, columns, rows, fmt)


def validate(
    args: Annotated[
        list[str],
        typer.Argument(metavar="[FORMAT] FILE", help="The format (recognised when left out) and the file."),
    ],
) -> None:
    """Read a file with its format and report every problem (where, why, the value), without importing."""
    from labelport.cli.common import err, handles_errors, out
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
            raise LabelportError(f"{problems} problems in {file} (listed above)")

    run()


def register(app: typer.Typer) -> None:
    """Add ``import``, ``export``, ``formats`` and ``validate`` to the ``labelport`` command."""
    app.command("import")(import_)
    app.command("export")(export)
    app.command("formats")(formats)
    app.command("validate")(validate)
