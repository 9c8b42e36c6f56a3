"""Importing items that bring their media (a RedBrick items list): the data rows are created (or found by
global key), sent to the project in a batch, then the annotations are imported as every format's are
(``service.imports``).

Items of one input record (the same top-level element of the input: a RedBrick task) land together or not
at all. A record fails, with its reasons, when the reader reports a problem in it, when an annotation names
a feature the project's ontology lacks or has as another kind (with ``create_features`` missing features
are added first, from ``item.ontology``), when a series is not of the project's media type, or when its data
row cannot be created; the other records go on. The reader gets a scratch folder (``workdir``) for the label
volumes it merges, removed when the import is done.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from labelport.errors import LabelportError, Location, NotFoundError, ValidationError
from labelport.formats import detect_format, get_format
from labelport.formats.base import ErrorPolicy, Problem, ReadContext, Source
from labelport.model.encoded import decoded
from labelport.model.item import LabeledItem
from labelport.model.jobs import ImportJobInfo, ItemsImportResult, JobInfo, JobKind, RecordOutcome
from labelport.model.label import LabelKind
from labelport.model.ontology import Ontology
from labelport.service import archives, datasets, jobs, masks, ontologies, projects
from labelport.service.files import FilePolicy
from labelport.service.hub import Hub
from labelport.service.imports import import_annotations, run_import
from labelport.service.validation import OntologyIndex
from labelport.store.schema import batch_data_rows

_TOP = re.compile(r"^\[\d+\]")
ITEMS_FILE = "items.json"


@dataclass
class _Record:
    location: Location
    items: list[LabeledItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _record_key(location: Location) -> tuple[str | None, int | None, str | None]:
    match = _TOP.match(location.path or "")
    return (location.file, None if match else location.line, match.group(0) if match else location.path)


def _where(location: Location) -> str:
    match = _TOP.match(location.path or "")
    return str(Location(location.file, location.line, match.group(0) if match else location.path))


def import_items(
    hub: Hub,
    project_id: str,
    source: Source,
    *,
    name: str | None = None,
    kind: LabelKind | str = LabelKind.PREDICTION,
    fmt: str | None = None,
    dataset_id: str | None = None,
    create_features: bool = False,
    options: Mapping[str, Any] | None = None,
    roots: Iterable[Path] = (),
    progress: Callable[[int], None] | None = None,
    job: JobInfo | None = None,
) -> ItemsImportResult:
    """Create the data rows ``source`` brings, batch them into the project and import their annotations.

    ``fmt`` is a format that brings media (``redbrick``), or found from the content; ``dataset_id`` the
    dataset for new data rows (default: a new one named after the import); ``options`` the format's read
    options (RedBrick: ``label_validate``, ``prune_segmentations``, ``keep_unmapped``, ``affine_tolerance``).
    ``job``: an import job this run has claimed (``import_jobs``), which the annotations are imported into
    and which keeps the result; without it, the annotations get a job of their own when any record passed.
    """
    label_kind = LabelKind.parse(kind)
    project = projects.get_project(hub, project_id)
    entry = get_format(fmt, reading=True) if fmt is not None else detect_format(source)
    if not entry.brings_media:
        raise ValidationError(
            f"format {entry.name!r} names data rows that exist; import it with `labelport import` (import_source)",
            field="format",
            value=entry.name,
        )
    if name is None:
        name = Path(source).name if isinstance(source, str | Path) else "items"
    ontology: Ontology | None = None
    if project.ontology_id is not None:
        ontology = ontologies.get_ontology(hub, project.ontology_id).ontology
    elif not create_features:
        raise ValidationError(
            f"project {project.name!r} has no ontology; connect one, or import with create_features", field="project"
        )
    folder = (Path(source).absolute().parent,) if isinstance(source, str | Path) else ()
    permitted = (*folder, *roots)
    with tempfile.TemporaryDirectory(prefix="labelport-items-") as scratch:
        workdir = Path(scratch)
        ctx = ReadContext(
            ErrorPolicy.SKIP,
            masks.FileResolver(hub.settings, permitted),  # embedded, the working folder too
            ontology,
            label_kind,
            {**(options or {}), "workdir": str(workdir)},
        )
        records: dict[tuple[str | None, int | None, str | None], _Record] = {}
        for found in entry.read(source, ctx):
            location = found.location
            record = records.setdefault(_record_key(location), _Record(location))
            if isinstance(found, Problem):
                record.errors.append(str(found))
            else:
                record.items.append(found)
        good = [r for r in records.values() if not r.errors]
        if create_features:
            ontology = _add_features(hub, project.id, project.ontology_id, good)
        assert ontology is not None  # connected above, or created by _add_features
        _check(good, ontology, project.media_type.value)
        dataset_id, created, reused = _data_rows(hub, [r for r in good if not r.errors], dataset_id, name)
        landing = [r for r in good if not r.errors]
        batch_id = _batch(hub, project.id, name, [i for r in landing for i in r.items])
        items = [i for r in landing for i in r.items]
        outcomes = tuple(
            RecordOutcome(
                _where(r.location),
                tuple(str(i.data_row.global_key or i.data_row) for i in r.items),
                tuple(r.errors),
            )
            for r in records.values()
        )
        result = ItemsImportResult(None, dataset_id, batch_id, created, reused, outcomes)
        readable = (workdir, *permitted)
        if job is not None:
            info = run_import(
                hub, job.id, items, roots=readable, progress=progress, owner=job.claimed_by, result=result.as_json()
            )
        elif items:
            info = import_annotations(
                hub, project.id, name, items, label_kind, fmt=entry.name, roots=readable, progress=progress
            )
        else:
            info = None
    return replace(result, job=info)


def _add_features(hub: Hub, project_id: str, ontology_id: str | None, records: list[_Record]) -> Ontology:
    """The project's ontology with the features the records use added (a new ontology when it has none)."""
    wanted = Ontology("features")
    for record in records:
        for item in record.items:
            if item.ontology is not None:
                wanted = ontologies.merged_ontology(wanted, item.ontology)
    if ontology_id is None:
        project = projects.get_project(hub, project_id)
        info = ontologies.create_ontology(hub, f"{project.name} ontology", wanted, project.media_type)
        projects.connect_ontology(hub, project_id, info.id)
        return info.ontology
    return ontologies.add_features(hub, ontology_id, wanted).ontology


def _check(records: list[_Record], ontology: Ontology, media_type: str) -> None:
    """Fail the records whose series are of another media type, or whose annotations the ontology refuses."""
    index = OntologyIndex(ontology)
    for record in records:
        for item in record.items:
            media = item.media
            if media is not None and media.media_type.value != media_type:
                record.errors.append(
                    f"{item.location}: data row {item.data_row} is {media.media_type.value} but the project is a "
                    f"{media_type} project"
                )
                continue
            for label in item.labels:
                for annotation in label.annotations:
                    model = decoded(annotation)
                    try:
                        if media is not None:
                            index.check(model, media.media_type)
                    except LabelportError as exc:
                        uuid = getattr(model, "uuid", None)
                        record.errors.append(f"{item.location_of(uuid)}: data row {item.data_row}: {exc}")


def _spec(item: LabeledItem) -> dict[str, Any]:
    media = item.media
    assert media is not None  # items of formats that bring media have it
    row_data: Any = media.row_data
    if row_data.startswith("["):
        row_data = orjson.loads(row_data)
    return {
        "row_data": row_data,
        "global_key": item.data_row.global_key,
        "media_type": media.media_type.value,
        "metadata_fields": [{"name": m.name, "value": m.value} for m in media.metadata_fields],
    }


def _data_rows(hub: Hub, records: list[_Record], dataset_id: str | None, name: str) -> tuple[str | None, int, int]:
    """Create the records' data rows (reusing those whose global key exists with the same media); a record
    whose row cannot be created fails. Returns the dataset id and the rows created and reused."""
    keyed = [(r, i) for r in records for i in r.items]
    existing = datasets.existing_global_keys(hub, [i.data_row.global_key for _, i in keyed])
    reused = 0
    new: list[tuple[_Record, LabeledItem]] = []
    for record, item in keyed:
        key = item.data_row.global_key
        if key in existing:
            row = datasets.get_data_row(hub, existing[key])
            media = item.media
            assert media is not None
            ours, theirs = media.media_attributes, row.media_attributes
            if row.media_type is not media.media_type or (ours.columns, ours.rows, ours.slices) != (
                theirs.columns,
                theirs.rows,
                theirs.slices,
            ):
                record.errors.append(
                    f"{item.location}: data row {key!r} exists with other media ({row.media_type.value} "
                    f"{theirs.columns} x {theirs.rows} x {theirs.slices}); rename the task or series"
                )
            else:
                reused += 1
        else:
            new.append((record, item))
    new = [(r, i) for r, i in new if not r.errors]
    if not new:
        return dataset_id, 0, reused
    if dataset_id is None:
        dataset_id = datasets.create_dataset(hub, name).id
    result = datasets.create_data_rows(hub, dataset_id, [_spec(i) for _, i in new])
    for failure in result.failures:
        record, item = new[failure.index]
        record.errors.append(f"{item.location}: data row {item.data_row}: {failure.message}")
    return dataset_id, len(result.created), reused


def _batch(hub: Hub, project_id: str, name: str, items: list[LabeledItem]) -> str | None:
    """Send the items' data rows not yet in the project to it, in a batch named after the import."""
    keys = [i.data_row.global_key for i in items if i.data_row.global_key]
    ids, _missing = datasets.data_row_ids_for_global_keys(hub, [k for k in keys if k])
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return None
    present: set[str] = set()
    with hub.read() as conn:
        for start in range(0, len(wanted), 900):
            present.update(
                conn.execute(
                    sa.select(batch_data_rows.c.data_row_id).where(
                        batch_data_rows.c.project_id == project_id,
                        batch_data_rows.c.data_row_id.in_(wanted[start : start + 900]),
                    )
                ).scalars()
            )
    todo = list(dict.fromkeys(i for i in wanted if i not in present))
    if not todo:
        return None
    taken = {b.name for b in projects.list_batches(hub, project_id)}
    batch_name, number = name, 2
    while batch_name in taken:
        batch_name, number = f"{name} ({number})", number + 1
    return projects.create_batch(hub, project_id, batch_name, data_row_ids=todo).id


# ------------------------------------------------------------------ an archive, imported as a job


def uploads_folder(hub: Hub, job_id: str) -> Path:
    """Where the media of an archive import job are extracted and stay (the data rows name its files): in the
    settings' ``uploads`` folder, by default the store's home's."""
    return (hub.settings.uploads or hub.blobs.home / "uploads") / job_id


def items_file(folder: Path, named: str | None = None) -> Path:
    """The items list of an extracted archive or a folder: ``named`` (a path inside it), else ``items.json``
    at its root."""
    return FilePolicy.under([folder]).regular_file(named or ITEMS_FILE, "items file", base=folder)


def start_archive_import(
    hub: Hub,
    project_id: str,
    archive: Path,
    *,
    name: str,
    kind: LabelKind | str = LabelKind.PREDICTION,
    fmt: str = "redbrick",
    named: str | None = None,
    dataset_id: str | None = None,
    create_features: bool = False,
    options: Mapping[str, Any] | None = None,
    max_bytes: int,
    max_members: int | None = None,
) -> str:
    """Check an archive holding an items list and the files it names (every member, before anything is
    kept: ``service.archives``), and record a QUEUED import job that keeps it as its input; ``jobs.run``
    extracts it into ``uploads_folder`` and runs ``import_items`` with only that folder readable
    (``import_jobs``).

    ``named`` is the items file's path in the archive (default: ``items.json`` at its root); the other
    arguments are ``import_items``'. The caps bound the archive's members and their uncompressed size."""
    entry = get_format(fmt, reading=True)
    if not entry.brings_media:
        raise ValidationError(f"format {entry.name!r} brings no media; import it as annotations", field="format")
    max_members = archives.MAX_MEMBERS if max_members is None else max_members
    members = {m.name for m in archives.check(archive, max_bytes=max_bytes, max_members=max_members) if not m.folder}
    wanted = (named or ITEMS_FILE).strip("/")
    if wanted not in members:
        raise ValidationError(
            f"the archive holds no items file {wanted!r}; put {ITEMS_FILE} at its root, or name the file",
            field="items_file",
            value=wanted,
        )
    if dataset_id is not None:
        datasets.get_dataset(hub, dataset_id)
    settings = {
        "file": wanted,
        "dataset_id": dataset_id,
        "create_features": create_features,
        "reader_options": dict(options or {}),
        "max_bytes": max_bytes,
        "max_members": max_members,
    }
    return jobs.create(
        hub,
        JobKind.IMPORT,
        entry.name,
        name=name,
        project_id=project_id,
        options={"label_kind": LabelKind.parse(kind).value, "input_name": wanted, "items": settings},
        source=archive,
        content_type="application/octet-stream",
    )


def get_items_import(hub: Hub, job_id: str) -> ItemsImportResult:
    """The result of an archive import job (``start_archive_import``): nothing made yet while it runs."""
    job = jobs.get(hub, job_id, JobKind.IMPORT)
    if "items" not in job.options:
        raise NotFoundError(f"import {job_id!r} is not an import of an items list with its media")
    return ItemsImportResult.from_json(ImportJobInfo.of(job), job.result)


def import_archive(hub: Hub, project_id: str, archive: Path, **arguments: Any) -> ItemsImportResult:
    """``start_archive_import`` and run the job in this process (the embedded SDK's path for an archive),
    with no caps on the archive's size beyond ``arguments``' own."""
    arguments.setdefault("name", archive.name)
    arguments.setdefault("max_bytes", 2**63)
    job_id = start_archive_import(hub, project_id, archive, **arguments)
    jobs.run(hub, job_id)
    return get_items_import(hub, job_id)


__all__ = [
    "ItemsImportResult",
    "RecordOutcome",
    "get_items_import",
    "import_archive",
    "import_items",
    "items_file",
    "start_archive_import",
    "uploads_folder",
]
