"""What the service returns: the plain records of ``labelport.model.records`` (kept here for old imports)."""

from __future__ import annotations

from labelport.model.records import (
    BatchInfo,
    CreateRowsResult,
    DatasetInfo,
    OntologyInfo,
    ProjectInfo,
    RowFailure,
)

__all__ = ["BatchInfo", "CreateRowsResult", "DatasetInfo", "OntologyInfo", "ProjectInfo", "RowFailure"]
