"""Plain records of stored objects, as the service returns them and the SDK wraps them.

No storage here: the HTTP client builds the same records from response bodies without the service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from labelport.model.media import DataRow, MediaType
from labelport.model.ontology import Ontology


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    id: str
    name: str
    description: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OntologyInfo:
    id: str
    name: str
    media_type: MediaType | None
    ontology: Ontology
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: str
    name: str
    description: str | None
    media_type: MediaType
    ontology_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BatchInfo:
    id: str
    project_id: str
    name: str
    priority: int
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RowFailure:
    """One data row that was not created, with the reason and the input it came from."""

    index: int
    message: str
    spec: dict[str, Any]
    field: str | None = None
    value: Any = None


@dataclass
class CreateRowsResult:
    """The data rows a ``create_data_rows`` call created, and the ones it could not, each with its reason."""

    created: list[DataRow] = field(default_factory=list)
    failures: list[RowFailure] = field(default_factory=list)


__all__ = ["BatchInfo", "CreateRowsResult", "DatasetInfo", "OntologyInfo", "ProjectInfo", "RowFailure"]
