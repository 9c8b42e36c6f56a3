"""``Client``: the entry point. Embedded (local SQLite or a database URL), or a labelport server over HTTP."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelport.errors import NotFoundError
from labelport.model.media import MediaType
from labelport.sdk.backend import Backend
from labelport.sdk.resources import Batch, DataRow, Dataset, Ontology, Project

if TYPE_CHECKING:
    from labelport.service.hub import Hub

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"


class Client:
    """``Client()`` opens the embedded store under ``$LABELPORT_HOME`` (or ``LABELPORT_DATABASE_URL``).

    ``Client(API_KEY)`` talks to a labelport server at ``endpoint`` (default: ``$LABELPORT_ENDPOINT``, else
    http://127.0.0.1:8000) with the same verbs. ``home``, ``database_url`` and ``organization`` select
    the embedded store explicitly. ``hub`` (the local store) exists only on an embedded client.
    """

    hub: Hub
    backend: Backend

    def __init__(
        self,
        api_key: str | None = None,
        endpoint: str | None = None,
        *,
        home: str | Path | None = None,
        database_url: str | None = None,
        organization: str = "default",
    ) -> None:
        if api_key is not None or endpoint is not None:
            from labelport.sdk.http import HttpBackend

            url = endpoint or os.environ.get("LABELPORT_ENDPOINT") or DEFAULT_ENDPOINT
            self.backend = HttpBackend(url, api_key or os.environ.get("LABELPORT_API_KEY") or "")
            return
        # The embedded store (the service, SQLAlchemy) loads only here: a client of a server never needs it.
        from labelport.sdk.embedded import EmbeddedBackend
        from labelport.service.hub import Hub

        self.hub = Hub.open(
            home=Path(home) if home is not None else None, database_url=database_url, organization=organization
        )
        self.backend = EmbeddedBackend(self.hub)

    # datasets and data rows
    def create_dataset(self, name: str, description: str | None = None) -> Dataset:
        return Dataset(self, self.backend.create_dataset(name, description))

    def get_dataset(self, dataset_id: str) -> Dataset:
        return Dataset(self, self.backend.get_dataset(dataset_id))

    def get_datasets(self) -> list[Dataset]:
        return [Dataset(self, d) for d in self.backend.list_datasets()]

    def get_data_row(self, data_row_id: str) -> DataRow:
        return DataRow(self, self.backend.get_data_row(data_row_id))

    def get_data_row_ids_for_global_keys(self, global_keys: Sequence[str]) -> dict[str, Any]:
        """Labelbox's shape: ``{"status", "results": [id or None per key], "errors": [...]}``."""
        ids, missing = self.backend.data_row_ids_for_global_keys(global_keys)
        status = "SUCCESS" if not missing else ("FAILURE" if len(missing) == len(ids) else "PARTIAL SUCCESS")
        return {
            "status": status,
            "results": ids,
            "errors": [{"global_key": k, "error": "Data Row not found"} for k in missing],
        }

    # ontologies
    def create_ontology(
        self, name: str, normalized: dict[str, Any], media_type: MediaType | str | None = None
    ) -> Ontology:
        return Ontology(self, self.backend.create_ontology(name, normalized, media_type))

    def get_ontology(self, ontology_id: str) -> Ontology:
        return Ontology(self, self.backend.get_ontology(ontology_id))

    def get_ontologies(self) -> list[Ontology]:
        return [Ontology(self, o) for o in self.backend.list_ontologies()]

    # projects
    def create_project(
        self, name: str, media_type: MediaType | str = MediaType.IMAGE, description: str | None = None
    ) -> Project:
        return Project(self, self.backend.create_project(name, media_type, description))

    def get_project(self, project_id: str) -> Project:
        return Project(self, self.backend.get_project(project_id))

    def get_projects(self) -> list[Project]:
        return [Project(self, p) for p in self.backend.list_projects()]

    def get_batch(self, project_id: str, batch_id: str) -> Batch:
        for batch in self.get_project(project_id).batches():
            if batch.uid == batch_id:
                return batch
        raise NotFoundError(f"no batch {batch_id!r} in project {project_id!r}")

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
