"""HTTP bodies (pydantic, at the edge only) and their conversion from and to the service records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from labelport.api.deps import MAX_PAGE
from labelport.formats.labelbox.ontology import to_normalized
from labelport.model.jobs import ExportJobInfo, ImportJobInfo, ItemsImportResult, JobState
from labelport.model.label import LabelKind
from labelport.model.media import DataRow
from labelport.model.media import MediaType as ModelMediaType
from labelport.model.ontology import ontology_to_dict
from labelport.model.records import BatchInfo, CreateRowsResult, DatasetInfo, OntologyInfo, ProjectInfo, RowFailure
from labelport.model.workflow import HistoryEntry, WorkflowState
from labelport.service.auth import Member, Role

T = TypeVar("T")

Name = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Text = Annotated[str, StringConstraints(max_length=100_000)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next, until it is null."""

    items: list[T]
    next_cursor: str | None = None


# ---------------------------------------------------------------- requests


class DatasetIn(Strict):
    name: Name
    description: Text | None = None


class DataRowsIn(Strict):
    """Data row specs as the SDK takes them; ``row_data`` paths are read on the server's filesystem."""

    data_rows: list[Any] = Field(max_length=100_000)


class GlobalKeysIn(Strict):
    global_keys: list[Key] = Field(max_length=100_000)


class OntologyIn(Strict):
    name: Name
    normalized: dict[str, Any]
    media_type: ModelMediaType | None = None


class ProjectIn(Strict):
    name: Name
    media_type: ModelMediaType = ModelMediaType.IMAGE
    description: Text | None = None


class ConnectOntologyIn(Strict):
    ontology_id: Id


class BatchIn(Strict):
    name: Name
    global_keys: list[Key] | None = Field(default=None, max_length=100_000)
    data_row_ids: list[Id] | None = Field(default=None, max_length=100_000)
    priority: int = 5


class MemberIn(Strict):
    role: Role


Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
DateText = Annotated[str, StringConstraints(max_length=64)]


class ExportIn(Strict):
    """export_v2 params (all false by default) and filters, as ``project.export_v2`` takes them."""

    params: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None


class ExportLabelsIn(Strict):
    """The legacy export of the labels created from ``start`` to ``end`` (dates, either may be null)."""

    start: DateText | None = None
    end: DateText | None = None


class EncordLabelRowsIn(Strict):
    """Which label rows to read: the label ``kind`` (ground truth or pre-labels), of the project's data rows or of
    those of ``data_row_ids`` (each must be in the project; at most one page of them per request)."""

    kind: LabelKind = LabelKind.GROUND_TRUTH
    data_row_ids: list[Id] | None = Field(default=None, min_length=1, max_length=MAX_PAGE)


class WorkflowActionIn(Strict):
    """MOVE (to ``to``; In review when null), APPROVE, REJECT or REWORK the rows, all or none."""

    data_row_ids: list[Id] = Field(min_length=1, max_length=100_000)
    action: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    to: Annotated[str, StringConstraints(max_length=32)] | None = None
    seconds_to_review: Seconds | None = None
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="Why the rows are rejected (or a note on the action); kept in their history"
    )


class WorkflowSettingsIn(Strict):
    ground_truth_import_status: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class PerformanceIn(Strict):
    seconds_to_create: Seconds | None = None
    seconds_to_review: Seconds | None = None
    skipped: bool | None = None


# ---------------------------------------------------------------- responses


class DatasetOut(BaseModel):
    id: str
    name: str
    description: str | None
    created_at: datetime

    @classmethod
    def of(cls, info: DatasetInfo) -> DatasetOut:
        return cls(id=info.id, name=info.name, description=info.description, created_at=info.created_at)


class DataRowOut(BaseModel):
    id: str
    row_data: str
    media_type: str
    global_key: str | None
    external_id: str | None = None
    dataset_id: str | None
    media_attributes: dict[str, Any]
    metadata_fields: list[dict[str, Any]]
    attachments: list[dict[str, Any]]

    @classmethod
    def of(cls, row: DataRow) -> DataRowOut:
        return cls(
            id=row.id,
            row_data=row.row_data,
            media_type=row.media_type.value,
            global_key=row.global_key,
            external_id=row.external_id,
            dataset_id=row.dataset_id,
            media_attributes=row.media_attributes.as_dict(),
            metadata_fields=[{"name": m.name, "value": m.value, "schema_id": m.schema_id} for m in row.metadata_fields],
            attachments=[{"type": a.type, "value": a.value, "name": a.name} for a in row.attachments],
        )


class EncordLabelRowOut(BaseModel):
    """A data row of the project and its label as an Encord label row (``LabelRowV2.to_encord_dict()``)."""

    data_row: DataRowOut
    label_row: dict[str, Any]

    @classmethod
    def of(cls, media: DataRow, row: dict[str, Any]) -> EncordLabelRowOut:
        return cls(data_row=DataRowOut.of(media), label_row=row)


class RowFailureOut(BaseModel):
    index: int
    message: str
    spec: dict[str, Any]
    field: str | None = None
    value: Any = None

    @classmethod
    def of(cls, failure: RowFailure) -> RowFailureOut:
        return cls(
            index=failure.index, message=failure.message, spec=failure.spec, field=failure.field, value=failure.value
        )


class CreateRowsOut(BaseModel):
    created: list[DataRowOut]
    failures: list[RowFailureOut]

    @classmethod
    def of(cls, result: CreateRowsResult) -> CreateRowsOut:
        return cls(
            created=[DataRowOut.of(r) for r in result.created], failures=[RowFailureOut.of(f) for f in result.failures]
        )


class LookupOut(BaseModel):
    """Data row ids in the order of the keys asked for (null where unknown) and the unknown keys."""

    ids: list[str | None]
    missing: list[str]


class OntologyOut(BaseModel):
    id: str
    name: str
    media_type: str | None
    definition: dict[str, Any] = Field(description="labelport's own JSON of the ontology")
    normalized: dict[str, Any] = Field(description="the ontology as Labelbox's OntologyBuilder.asdict() writes it")
    created_at: datetime

    @classmethod
    def of(cls, info: OntologyInfo) -> OntologyOut:
        return cls(
            id=info.id,
            name=info.name,
            media_type=info.media_type.value if info.media_type else None,
            definition=ontology_to_dict(info.ontology),
            normalized=to_normalized(info.ontology),
            created_at=info.created_at,
        )


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str | None
    media_type: str
    ontology_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, info: ProjectInfo) -> ProjectOut:
        return cls(
            id=info.id,
            name=info.name,
            description=info.description,
            media_type=info.media_type.value,
            ontology_id=info.ontology_id,
            created_at=info.created_at,
        )


class BatchOut(BaseModel):
    id: str
    project_id: str
    name: str
    priority: int
    size: int
    created_at: datetime

    @classmethod
    def of(cls, info: BatchInfo) -> BatchOut:
        return cls(
            id=info.id,
            project_id=info.project_id,
            name=info.name,
            priority=info.priority,
            size=info.size,
            created_at=info.created_at,
        )


class ImportJobOut(BaseModel):
    """An import job; while RUNNING, ``progress_done`` of ``progress_total`` (null: not known yet) annotations."""

    id: str
    project_id: str | None  # null once the project is deleted
    name: str
    kind: str
    state: str
    total: int
    succeeded: int
    failed: int
    error: str | None
    progress_done: int = 0
    progress_total: int | None = None

    @classmethod
    def of(cls, info: ImportJobInfo) -> ImportJobOut:
        return cls(
            progress_done=info.progress_done,
            progress_total=info.progress_total,
            id=info.id,
            project_id=info.project_id,
            name=info.name,
            kind=info.kind.value,
            state=info.state.value,
            total=info.total,
            succeeded=info.succeeded,
            failed=info.failed,
            error=info.error,
        )


class ImportProblemOut(BaseModel):
    type: str | None = None
    message: str
    file: str | None = None
    line: int | None = None
    path: str | None = None
    value: Any = None


class ImportStatusOut(BaseModel):
    """One annotation's outcome: imported when ``errors`` is empty."""

    uuid: str | None
    data_row: dict[str, Any] | None = Field(description="the data row's identifiers as the input gave them")
    errors: list[ImportProblemOut]


class ItemsRecordOut(BaseModel):
    """One task of an items list: landed when ``errors`` is empty; ``data_rows`` are its series' global keys."""

    where: str
    data_rows: list[str]
    errors: list[str]


class ItemsImportOut(BaseModel):
    """An import of an items list with its media: the import job (its annotations' statuses at
    ``/imports/{id}/statuses``), and once it has FINISHED the dataset and batch it used, the data rows it
    created and reused, and each task's outcome."""

    job: ImportJobOut
    dataset_id: str | None
    batch_id: str | None
    created: int
    reused: int
    records: list[ItemsRecordOut]

    @classmethod
    def of(cls, result: ItemsImportResult) -> ItemsImportOut:
        assert result.job is not None  # a result read back from its job
        return cls(job=ImportJobOut.of(result.job), **result.as_json())


class MemberOut(BaseModel):
    email: str
    role: Role

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(email=member.email, role=member.role)


# The API names export formats as Labelbox's SDK names the calls that make them.
EXPORT_FORMAT_NAMES = {"labelbox_export_v2": "export_v2", "labelbox_export_labels": "export_labels"}


class ExportJobOut(BaseModel):
    """An export job; when FINISHED, ``download_url`` fetches its file without a key until it expires."""

    id: str
    project_id: str | None  # null once the project is deleted
    format: str
    state: str
    rows: int
    errors: list[dict[str, Any]]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None

    @classmethod
    def of(cls, info: ExportJobInfo, download_url: str | None = None) -> ExportJobOut:
        return cls(
            id=info.id,
            project_id=info.project_id,
            format=EXPORT_FORMAT_NAMES.get(info.format, info.format),
            state=info.state.value,
            rows=info.rows,
            errors=info.errors,
            error=info.error,
            created_at=info.created_at,
            finished_at=info.finished_at,
            download_url=download_url if info.state is JobState.FINISHED else None,
        )


class WorkflowStateOut(BaseModel):
    data_row_id: str
    status: str
    task_name: str
    updated_at: datetime

    @classmethod
    def of(cls, state: WorkflowState) -> WorkflowStateOut:
        return cls(
            data_row_id=state.data_row_id,
            status=state.status.value,
            task_name=state.task_name,
            updated_at=state.updated_at,
        )


class HistoryEntryOut(BaseModel):
    action: str
    at: datetime
    actor: str | None
    from_status: str | None
    to_status: str
    from_task: str | None
    to_task: str
    reason: str | None = None

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryOut:
        return cls(
            action=entry.action.value,
            at=entry.at,
            actor=entry.actor,
            from_status=entry.from_status.value if entry.from_status else None,
            to_status=entry.to_status.value,
            from_task=entry.from_task,
            to_task=entry.to_task,
            reason=entry.reason,
        )


class WorkflowSettingsOut(BaseModel):
    ground_truth_import_status: str


class MeOut(BaseModel):
    email: str
    organization_id: str
    is_admin: bool


class HealthOut(BaseModel):
    status: str
    version: str
