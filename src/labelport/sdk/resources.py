"""SDK resources: Dataset, DataRow, Ontology, Project, Batch and the data-row creation Task.

Attribute names follow the platforms' SDKs (``uid``, ``name``, ``global_key``, ``media_attributes``) so
existing scripts read naturally; every method is one call of ``client.backend`` (embedded: into
``labelport.service``; else over HTTP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from labelport.errors import MediaError
from labelport.model.jobs import ItemsImportResult
from labelport.model.label import LabelKind
from labelport.model.media import DataRow as ModelDataRow
from labelport.model.media import MediaType
from labelport.model.ontology import Ontology as ModelOntology
from labelport.model.records import BatchInfo, DatasetInfo, OntologyInfo, ProjectInfo, RowFailure
from labelport.sdk import _args

if TYPE_CHECKING:
    from labelport.model.workflow import HistoryEntry, WorkflowState
    from labelport.sdk.client import Client
    from labelport.sdk.encord.label_row import Bundle, LabelRowV2
    from labelport.sdk.exports import ExportTask
    from labelport.sdk.imports import ImportJob


class DataRow:
    """One asset; ``media_attributes`` is a dict (for DICOM: rows, columns, slices, spacing, orientation)."""

    def __init__(self, client: Client, row: ModelDataRow) -> None:
        self.client = client
        self.model = row
        self.uid = row.id
        self.global_key = row.global_key
        self.row_data = row.row_data
        self.media_type = row.media_type
        self.dataset_id = row.dataset_id
        self.media_attributes: dict[str, Any] = row.media_attributes.as_dict()
        self.metadata_fields = [
            {"name": m.name, "value": m.value, "schema_id": m.schema_id} for m in row.metadata_fields
        ]
        self.attachments = [{"type": a.type, "value": a.value, "name": a.name} for a in row.attachments]

    def __repr__(self) -> str:
        return f"<DataRow {self.uid} global_key={self.global_key!r} media_type={self.media_type.value}>"


class Task:
    """The result of ``create_data_rows``: ``wait_till_done()``, ``status``, ``errors``, ``failed_data_rows``.

    Embedded, the work is done by the time the task is returned; ``wait_till_done`` is kept so scripts
    written for the platforms run unchanged.
    """

    def __init__(self, client: Client, created: list[ModelDataRow], failures: list[RowFailure]) -> None:
        self.client = client
        self.created = created
        self.failures = failures
        self.status = "COMPLETE" if not failures else ("FAILED" if not created else "PARTIAL SUCCESS")

    def wait_till_done(self, timeout_seconds: float = 300.0) -> None:
        return None

    @property
    def errors(self) -> list[dict[str, Any]] | None:
        """One entry per failed row: message, field, offending value, and the row as given; None if all landed."""
        if not self.failures:
            return None
        return [
            {"index": f.index, "message": f.message, "field": f.field, "value": f.value, "data_row": f.spec}
            for f in self.failures
        ]

    @property
    def failed_data_rows(self) -> list[dict[str, Any]]:
        return [{"message": f.message, "failedDataRows": [f.spec]} for f in self.failures]

    @property
    def result(self) -> list[dict[str, Any]]:
        return [
            {"id": r.id, "global_key": r.global_key, "row_data": r.row_data, "media_type": r.media_type.value}
            for r in self.created
        ]

    def data_rows(self) -> list[DataRow]:
        return [DataRow(self.client, r) for r in self.created]


class _Info(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


class _Named:
    """``uid`` and ``name`` of a stored object, read from its service record."""

    info: _Info

    @property
    def uid(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name


@dataclass
class Dataset(_Named):
    client: Client
    info: DatasetInfo

    @property
    def created_at(self) -> datetime:
        return self.info.created_at

    def create_data_rows(self, assets: Iterable[Any], progress: Callable[[int], None] | None = None) -> Task:
        """Create data rows from ``{"row_data", "global_key", "media_type"?, "metadata_fields"?, "attachments"?}``."""
        rows = _args.listed(assets, "assets", "data row dicts ({'row_data': ..., 'global_key': ...})")
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a function taking a count, found {_args.found(progress)}")
        result = self.client.backend.create_data_rows(self.uid, rows, progress)
        return Task(self.client, result.created, result.failures)

    def create_data_row(self, asset: dict[str, Any]) -> DataRow:
        _args.mapping(asset, "asset", optional=False)
        task = self.create_data_rows([asset])
        if task.failures:
            raise _failure_error(task.failures[0])
        return DataRow(self.client, task.created[0])

    def data_rows(self) -> list[DataRow]:
        return [DataRow(self.client, r) for r in self.client.backend.list_data_rows(self.uid)]

    def __repr__(self) -> str:
        return f"<Dataset {self.uid} name={self.name!r}>"


def _row_id(row: Any, name: str) -> str:
    if isinstance(row, str):
        return row
    if isinstance(row, DataRow):
        return row.uid
    raise TypeError(f"{name} must be a data row id or a DataRow, found {_args.found(row)}")


def _row_ids(rows: Any, name: str) -> list[str]:
    return [_row_id(r, f"each of {name}") for r in _args.listed(rows, name, "data row ids or DataRow objects")]


def _failure_error(failure: RowFailure) -> Exception:
    from labelport.errors import ValidationError

    return ValidationError(failure.message, field=failure.field, value=failure.value)


@dataclass
class Ontology(_Named):
    client: Client
    info: OntologyInfo

    @property
    def media_type(self) -> MediaType | None:
        return self.info.media_type

    @property
    def normalized(self) -> dict[str, Any]:
        from labelport.formats.labelbox.ontology import to_normalized

        return to_normalized(self.info.ontology)

    @property
    def model(self) -> ModelOntology:
        return self.info.ontology

    def tools(self) -> list[Any]:
        return list(self.info.ontology.tools)

    def classifications(self) -> list[Any]:
        return list(self.info.ontology.classifications)

    def __repr__(self) -> str:
        return f"<Ontology {self.uid} name={self.name!r}>"


@dataclass
class Batch(_Named):
    client: Client
    info: BatchInfo

    @property
    def priority(self) -> int:
        return self.info.priority

    @property
    def size(self) -> int:
        return self.info.size

    def project(self) -> Project:
        return self.client.get_project(self.info.project_id)

    def data_row_ids(self) -> list[str]:
        return self.client.backend.batch_data_row_ids(self.uid)

    def __repr__(self) -> str:
        return f"<Batch {self.uid} name={self.name!r} priority={self.priority} size={self.size}>"


@dataclass
class Project(_Named):
    client: Client
    info: ProjectInfo

    @property
    def media_type(self) -> MediaType:
        return self.info.media_type

    def connect_ontology(self, ontology: Ontology | str) -> None:
        """Connect an ontology (an ``Ontology`` or its id); its media type must be the project's."""
        if not isinstance(ontology, Ontology | str):
            raise TypeError(f"ontology must be an Ontology or its id, found {_args.found(ontology)}")
        ontology_id = ontology if isinstance(ontology, str) else ontology.uid
        self.info = self.client.backend.connect_ontology(self.uid, ontology_id)

    def setup_editor(self, ontology: Ontology | str) -> None:
        """``connect_ontology`` under the name older Labelbox guides use."""
        self.connect_ontology(ontology)

    def ontology(self) -> Ontology | None:
        if self.info.ontology_id is None:
            return None
        return Ontology(self.client, self.client.backend.get_ontology(self.info.ontology_id))

    def create_batch(
        self,
        name: str,
        data_rows: Sequence[str | DataRow] | None = None,
        priority: int = 5,
        *,
        global_keys: Sequence[str] | None = None,
    ) -> Batch:
        """Send data rows (ids or DataRow objects) or global keys to the project; priority 1 (highest) to 5."""
        _args.text(name, "name")
        _args.integer(priority, "priority")
        _args.strings(global_keys, "global_keys")
        ids = None if data_rows is None else _row_ids(data_rows, "data_rows")
        info = self.client.backend.create_batch(self.uid, name, global_keys, ids, priority)
        return Batch(self.client, info)

    # Encord's label-row verbs (sdk/encord)
    def list_label_rows_v2(
        self,
        data_hashes: Sequence[str] | None = None,
        label_hashes: Sequence[str] | None = None,
        **filters: Any,
    ) -> list[LabelRowV2]:
        """The project's data rows as Encord label rows (``kind="prelabels"`` for the pre-labels); see
        docs/formats/encord.md."""
        from labelport.sdk.encord.label_row import list_label_rows_v2

        return list_label_rows_v2(self, data_hashes, label_hashes, **filters)

    def create_bundle(self, bundle_size: int | None = None) -> Bundle:
        """Label-row reads and saves run together when the ``with`` block ends (saves in chunks of 1000)."""
        from labelport.sdk.encord.label_row import Bundle

        return Bundle(self, bundle_size)

    def import_redbrick_items(
        self,
        path: str | Path,
        kind: LabelKind | str = LabelKind.PREDICTION,
        *,
        name: str | None = None,
        items_file: str | None = None,
        dataset: Dataset | str | None = None,
        create_features: bool = False,
        label_validate: bool = False,
        prune_segmentations: bool = False,
        keep_unmapped: bool = False,
        affine_tolerance: float | None = None,
    ) -> ItemsImportResult:
        """Import a RedBrick items list with its media: each series becomes a data row (global key
        ``<task>/<series>``; an existing one is reused), in ``dataset`` (default: a new one), sent to the
        project in a batch, and its annotations imported as ``kind``. A task with any problem fails whole,
        with its reasons (``result.failed``); the others land. See docs/formats/redbrick.md.

        ``path`` is the items file, a folder holding ``items.json`` (or ``items_file``), or a zip or tar
        archive of them (``items_file``: the list's path inside). Over HTTP the list and the files it names
        are packed into an archive and uploaded; the server reads nothing else."""
        _args.text(name, "name", optional=True)
        _args.text(items_file, "items_file", optional=True)
        source = _args.path(path, "path")
        if not source.exists():
            raise MediaError(f"{str(source)!r} does not exist", path=str(source))
        options: dict[str, Any] = {
            "label_validate": label_validate,
            "prune_segmentations": prune_segmentations,
            "keep_unmapped": keep_unmapped,
            **({"affine_tolerance": affine_tolerance} if affine_tolerance is not None else {}),
        }
        return self.client.backend.import_items(
            self.uid,
            source,
            name=name or source.name,
            kind=LabelKind.parse(kind),
            items_file=items_file,
            dataset_id=dataset.uid if isinstance(dataset, Dataset) else dataset,
            create_features=create_features,
            options=options,
        )

    def import_jobs(self) -> list[ImportJob]:
        from labelport.sdk.imports import ImportJob

        return [ImportJob(self.client, j) for j in self.client.backend.list_import_jobs(self.uid)]

    def batches(self) -> list[Batch]:
        return [Batch(self.client, b) for b in self.client.backend.list_batches(self.uid)]

    # exports
    def export_v2(
        self, params: dict[str, Any] | None = None, filters: dict[str, Any] | None = None, task_name: str | None = None
    ) -> ExportTask:
        """Export the project's data rows with their labels (Labelbox export_v2 rows); see docs/export.md."""
        from labelport.sdk.exports import ExportTask

        _args.mapping(params, "params")
        _args.mapping(filters, "filters")
        _args.text(task_name, "task_name", optional=True)
        return ExportTask(self.client, self.client.backend.export_v2(self.uid, params, filters))

    def export(
        self, params: dict[str, Any] | None = None, filters: dict[str, Any] | None = None, task_name: str | None = None
    ) -> ExportTask:
        """The streamable form of ``export_v2``: read rows with ``get_buffered_stream()`` or ``get_stream()``."""
        return self.export_v2(params, filters, task_name)

    def export_labels(
        self, download: bool = False, start: str | None = None, end: str | None = None, timeout_seconds: int = 1800
    ) -> list[dict[str, Any]] | str:
        """Legacy label export: the rows (``download=True``) or the URL of the JSON file holding them."""
        import orjson

        _args.text(start, "start", optional=True)
        _args.text(end, "end", optional=True)
        path = self.client.backend.export_labels(self.uid, start, end)
        if download:
            rows: list[dict[str, Any]] = orjson.loads(path.read_bytes())
            return rows
        return path.as_uri()

    # review workflow
    def workflow_action(
        self,
        data_rows: Sequence[str | DataRow],
        action: str,
        *,
        to: str | None = None,
        seconds_to_review: float | None = None,
        reason: str | None = None,
    ) -> list[WorkflowState]:
        """MOVE (with ``to``), APPROVE, REJECT or REWORK data rows, all or none, recorded in their history
        (with ``reason``, why: a rejection's reason, kept in the history and shown in the viewer)."""
        _args.text(action, "action")
        _args.text(to, "to", optional=True)
        _args.text(reason, "reason", optional=True)
        ids = _row_ids(data_rows, "data_rows")
        return self.client.backend.workflow_action(self.uid, ids, action, to, seconds_to_review, reason)

    def approve(
        self, data_rows: Sequence[str | DataRow], seconds_to_review: float | None = None, reason: str | None = None
    ) -> None:
        self.workflow_action(data_rows, "APPROVE", seconds_to_review=seconds_to_review, reason=reason)

    def reject(
        self, data_rows: Sequence[str | DataRow], seconds_to_review: float | None = None, reason: str | None = None
    ) -> None:
        """Send the rows back for rework; ``reason`` (a labelport extra) says why, in their history."""
        self.workflow_action(data_rows, "REJECT", seconds_to_review=seconds_to_review, reason=reason)

    def rework(self, data_rows: Sequence[str | DataRow], reason: str | None = None) -> None:
        self.workflow_action(data_rows, "REWORK", reason=reason)

    def move_data_rows(self, data_rows: Sequence[str | DataRow], status: str) -> None:
        """Move rows to ToLabel, InReview, InRework or Done (action MOVE)."""
        self.workflow_action(data_rows, "MOVE", to=status)

    def workflow_status(self, data_row: str | DataRow) -> WorkflowState:
        return self.client.backend.workflow_status(self.uid, _row_id(data_row, "data_row"))

    def workflow_history(self, data_row: str | DataRow) -> list[HistoryEntry]:
        """The row's workflow changes, newest first."""
        return self.client.backend.workflow_history(self.uid, _row_id(data_row, "data_row"))

    def set_workflow(self, ground_truth_import_status: str) -> None:
        """Where ground-truth imports send the rows they label: InReview (default) or Done."""
        self.client.backend.configure_workflow(self.uid, ground_truth_import_status)

    def set_label_performance(
        self,
        data_row: str | DataRow,
        *,
        seconds_to_create: float | None = None,
        seconds_to_review: float | None = None,
        skipped: bool | None = None,
    ) -> None:
        row_id = _row_id(data_row, "data_row")
        self.client.backend.set_label_performance(self.uid, row_id, seconds_to_create, seconds_to_review, skipped)

    def __repr__(self) -> str:
        return f"<Project {self.uid} name={self.name!r} media_type={self.media_type.value}>"
