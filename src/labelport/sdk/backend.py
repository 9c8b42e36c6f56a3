"""Where the SDK's verbs go: the embedded store (this process, ``sdk.embedded``) or a labelport server
(HTTP, ``sdk.http``).

Resources call ``client.backend``; both backends take and return the same plain records
(``labelport.model``), so every script runs unchanged against either. This module imports neither the
service nor SQLAlchemy: the HTTP client stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from labelport.model.jobs import ImportJobInfo, ItemsImportResult
from labelport.model.label import LabelKind
from labelport.model.media import DataRow, MediaType
from labelport.model.records import BatchInfo, CreateRowsResult, DatasetInfo, OntologyInfo, ProjectInfo
from labelport.model.workflow import HistoryEntry, WorkflowState
from labelport.sdk.exports import ExportTaskInfo


class Backend(Protocol):
    """The verbs of the SDK, one method each."""

    def create_dataset(self, name: str, description: str | None) -> DatasetInfo: ...
    def get_dataset(self, dataset_id: str) -> DatasetInfo: ...
    def list_datasets(self) -> list[DatasetInfo]: ...
    def create_data_rows(
        self, dataset_id: str, assets: Iterable[Any], progress: Callable[[int], None] | None
    ) -> CreateRowsResult: ...
    def list_data_rows(self, dataset_id: str) -> list[DataRow]: ...
    def get_data_row(self, data_row_id: str) -> DataRow: ...
    def data_row_ids_for_global_keys(self, keys: Sequence[str]) -> tuple[list[str | None], list[str]]: ...
    def create_ontology(
        self, name: str, normalized: Mapping[str, Any], media_type: MediaType | str | None
    ) -> OntologyInfo: ...
    def get_ontology(self, ontology_id: str) -> OntologyInfo: ...
    def list_ontologies(self) -> list[OntologyInfo]: ...
    def create_project(self, name: str, media_type: MediaType | str, description: str | None) -> ProjectInfo: ...
    def get_project(self, project_id: str) -> ProjectInfo: ...
    def list_projects(self) -> list[ProjectInfo]: ...
    def connect_ontology(self, project_id: str, ontology_id: str) -> ProjectInfo: ...
    def create_batch(
        self,
        project_id: str,
        name: str,
        global_keys: Sequence[str] | None,
        data_row_ids: Sequence[str] | None,
        priority: int,
    ) -> BatchInfo: ...
    def list_batches(self, project_id: str) -> list[BatchInfo]: ...
    def batch_data_row_ids(self, batch_id: str) -> list[str]: ...
    def import_annotations(
        self,
        project_id: str,
        name: str,
        source: Path | list[Mapping[str, Any]],
        kind: LabelKind,
        fmt: str = "labelbox",
    ) -> ImportJobInfo: ...
    def import_items(
        self,
        project_id: str,
        path: Path,
        *,
        name: str,
        kind: LabelKind,
        items_file: str | None,
        dataset_id: str | None,
        create_features: bool,
        options: Mapping[str, Any],
    ) -> ItemsImportResult: ...
    def get_import_job(self, job_id: str) -> ImportJobInfo: ...
    def list_import_jobs(self, project_id: str) -> list[ImportJobInfo]: ...
    def import_statuses(self, job_id: str, failures_only: bool) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...
    def export_v2(
        self, project_id: str, params: Mapping[str, Any] | None, filters: Mapping[str, Any] | None
    ) -> ExportTaskInfo: ...
    def export_labels(self, project_id: str, start: str | None, end: str | None) -> Path: ...
    def workflow_action(
        self,
        project_id: str,
        data_row_ids: Sequence[str],
        action: str,
        to: str | None,
        seconds_to_review: float | None,
        reason: str | None = None,
    ) -> list[WorkflowState]: ...
    def workflow_history(self, project_id: str, data_row_id: str) -> list[HistoryEntry]: ...
    def encord_rows(
        self, project_id: str, kind: LabelKind, data_row_ids: Sequence[str] | None
    ) -> list[tuple[DataRow, dict[str, Any]]]: ...
    def workflow_status(self, project_id: str, data_row_id: str) -> WorkflowState: ...
    def configure_workflow(self, project_id: str, ground_truth_import_status: str) -> None: ...
    def set_label_performance(
        self,
        project_id: str,
        data_row_id: str,
        seconds_to_create: float | None,
        seconds_to_review: float | None,
        skipped: bool | None,
    ) -> None: ...


def __getattr__(name: str) -> Any:
    # The embedded backend pulls in the service and SQLAlchemy: loaded only when asked for.
    if name == "EmbeddedBackend":
        from labelport.sdk.embedded import EmbeddedBackend

        return EmbeddedBackend
    raise AttributeError(f"module 'labelport.sdk.backend' has no attribute {name!r}")
