"""What the service returns: plain frozen records of stored objects (the SDK wraps them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelport.model.media import MediaType
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
