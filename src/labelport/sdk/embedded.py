"""``EmbeddedBackend``: every SDK verb in this process, on the store a ``Hub`` opened.

Imports and exports are jobs here too: recorded, then run at once by ``service.jobs.run`` (the same call
a server's runner makes), so an embedded job is finished when the verb returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from labelport.errors import LabelportError, NotFoundError
from labelport.model.jobs import ExportJobInfo, ImportJobInfo, ItemsImportResult, JobInfo, JobState
from labelport.model.label import LabelKind
from labelport.model.media import DataRow, MediaType
from labelport.model.records import BatchInfo, CreateRowsResult, DatasetInfo, OntologyInfo, ProjectInfo
from labelport.model.workflow import HistoryEntry, WorkflowState
from labelport.sdk._items import is_archive, items_path
from labelport.sdk._payload import annotations_json
from labelport.sdk.exports import ExportTaskInfo
from labelport.service import datasets as dataset_service
from labelport.service import export_jobs
from labelport.service import imports as import_service
from labelport.service import items as item_service
from labelport.service import jobs as job_service
from labelport.service import label_rows as label_row_service
from labelport.service import ontologies as ontology_service
from labelport.service import projects as project_service
from labelport.service import workflow as workflow_service
from labelport.service.export_jobs import ExportLinks
from labelport.service.hub import Hub


def _run(hub: Hub, job_id: str) -> JobInfo:
    job = job_service.run(hub, job_id)
    if job is None:
        raise NotFoundError(f"no job with id {job_id!r}")
    return job


class EmbeddedBackend:
    """Runs every verb in this process on the store the ``Hub`` opened."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def create_dataset(self, name: str, description: str | None) -> DatasetInfo:
        return dataset_service.create_dataset(self.hub, name, description)

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        return dataset_service.get_dataset(self.hub, dataset_id)

    def list_datasets(self) -> list[DatasetInfo]:
        return dataset_service.list_datasets(self.hub)

    def create_data_rows(
        self, dataset_id: str, assets: Iterable[Any], progress: Callable[[int], None] | None
    ) -> CreateRowsResult:
        return dataset_service.create_data_rows(self.hub, dataset_id, assets, progress)

    def list_data_rows(self, dataset_id: str) -> list[DataRow]:
        return dataset_service.list_data_rows(self.hub, dataset_id)

    def get_data_row(self, data_row_id: str) -> DataRow:
        return dataset_service.get_data_row(self.hub, data_row_id)

    def data_row_ids_for_global_keys(self, keys: Sequence[str]) -> tuple[list[str | None], list[str]]:
        return dataset_service.data_row_ids_for_global_keys(self.hub, keys)

    def create_ontology(
        self, name: str, normalized: Mapping[str, Any], media_type: MediaType | str | None
    ) -> OntologyInfo:
        return ontology_service.create_ontology(self.hub, name, normalized, media_type)

    def get_ontology(self, ontology_id: str) -> OntologyInfo:
        return ontology_service.get_ontology(self.hub, ontology_id)

    def list_ontologies(self) -> list[OntologyInfo]:
        return ontology_service.list_ontologies(self.hub)

    def create_project(self, name: str, media_type: MediaType | str, description: str | None) -> ProjectInfo:
        return project_service.create_project(self.hub, name, media_type, description)

    def get_project(self, project_id: str) -> ProjectInfo:
        return project_service.get_project(self.hub, project_id)

    def list_projects(self) -> list[ProjectInfo]:
        return project_service.list_projects(self.hub)

    def connect_ontology(self, project_id: str, ontology_id: str) -> ProjectInfo:
        return project_service.connect_ontology(self.hub, project_id, ontology_id)

    def create_batch(
        self,
        project_id: str,
        name: str,
        global_keys: Sequence[str] | None,
        data_row_ids: Sequence[str] | None,
        priority: int,
    ) -> BatchInfo:
        return project_service.create_batch(
            self.hub, project_id, name, global_keys=global_keys, data_row_ids=data_row_ids, priority=priority
        )

    def list_batches(self, project_id: str) -> list[BatchInfo]:
        return project_service.list_batches(self.hub, project_id)

    def batch_data_row_ids(self, batch_id: str) -> list[str]:
        return project_service.batch_data_row_ids(self.hub, batch_id)

    def import_annotations(
        self,
        project_id: str,
        name: str,
        source: Path | list[Mapping[str, Any]],
        kind: LabelKind,
        fmt: str = "labelbox",
    ) -> ImportJobInfo:
        """Keep the input as the job's (a file is copied, a list written as one JSON array) and run the job
        with the registered format ``fmt``."""
        data = source if isinstance(source, Path) else annotations_json(source)
        return import_service.import_source(self.hub, project_id, name, data, kind, fmt=fmt)

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
    ) -> ItemsImportResult:
        """An archive runs as a job (extracted into the store's ``uploads/``, as a server does); an items
        file or folder is imported in place, its data rows naming the files where they are."""
        common: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "dataset_id": dataset_id,
            "create_features": create_features,
            "options": options,
        }
        if is_archive(path):
            return item_service.import_archive(self.hub, project_id, path, named=items_file, **common)
        return item_service.import_items(self.hub, project_id, items_path(path, items_file), **common)

    def get_import_job(self, job_id: str) -> ImportJobInfo:
        return import_service.get_import_job(self.hub, job_id)

    def list_import_jobs(self, project_id: str) -> list[ImportJobInfo]:
        return import_service.list_import_jobs(self.hub, project_id)

    def import_statuses(self, job_id: str, failures_only: bool) -> list[dict[str, Any]]:
        return import_service.import_statuses_of(self.hub, job_id, failures_only=failures_only)

    def close(self) -> None:
        self.hub.db.dispose()

    def export_v2(
        self, project_id: str, params: Mapping[str, Any] | None, filters: Mapping[str, Any] | None
    ) -> ExportTaskInfo:
        """Run an export job writing ``$LABELPORT_HOME/exports/<job id>/export.ndjson``, masks in ``masks/``."""
        job_id = export_jobs.start_export(self.hub, project_id, params, filters, links=ExportLinks.FILES)
        job = ExportJobInfo.of(_run(self.hub, job_id))
        errors = list(job.errors) + ([{"message": job.error}] if job.error else [])
        if job.state is not JobState.FINISHED:
            return ExportTaskInfo(job.id, project_id, "FAILED", None, 0, errors)
        return ExportTaskInfo(job.id, project_id, "COMPLETE", export_jobs.output_path(self.hub, job), job.rows, errors)

    def export_labels(self, project_id: str, start: str | None, end: str | None) -> Path:
        job_id = export_jobs.start_export(
            self.hub, project_id, fmt="labelbox_export_labels", start=start, end=end, links=ExportLinks.FILES
        )
        job = ExportJobInfo.of(_run(self.hub, job_id))
        if job.state is not JobState.FINISHED:
            raise LabelportError(f"export job {job.id} failed: {job.error}")
        return export_jobs.output_path(self.hub, job)

    def workflow_action(
        self,
        project_id: str,
        data_row_ids: Sequence[str],
        action: str,
        to: str | None,
        seconds_to_review: float | None,
        reason: str | None = None,
    ) -> list[WorkflowState]:
        return workflow_service.apply(
            self.hub, project_id, data_row_ids, action, to=to, seconds_to_review=seconds_to_review, reason=reason
        )

    def workflow_history(self, project_id: str, data_row_id: str) -> list[HistoryEntry]:
        return workflow_service.history(self.hub, project_id, data_row_id)

    def encord_rows(
        self, project_id: str, kind: LabelKind, data_row_ids: Sequence[str] | None
    ) -> list[tuple[DataRow, dict[str, Any]]]:
        """The project's data rows (or those of ``data_row_ids``) with their label of ``kind`` as Encord label
        rows (``service.label_rows``)."""
        return label_row_service.encord_rows(self.hub, project_id, kind, data_row_ids)

    def workflow_status(self, project_id: str, data_row_id: str) -> WorkflowState:
        return workflow_service.status_of(self.hub, project_id, data_row_id)

    def configure_workflow(self, project_id: str, ground_truth_import_status: str) -> None:
        workflow_service.configure(self.hub, project_id, ground_truth_import_status=ground_truth_import_status)

    def set_label_performance(
        self,
        project_id: str,
        data_row_id: str,
        seconds_to_create: float | None,
        seconds_to_review: float | None,
        skipped: bool | None,
    ) -> None:
        workflow_service.set_performance(
            self.hub,
            project_id,
            data_row_id,
            seconds_to_create=seconds_to_create,
            seconds_to_review=seconds_to_review,
            skipped=skipped,
        )
