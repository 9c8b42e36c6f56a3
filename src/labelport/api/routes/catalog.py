"""Datasets, data rows and ontologies: the organisation's catalog.

Any user of the organisation reads it. Organisation admins create datasets; they and project admins add
data rows and ontologies.
"""

from __future__ import annotations

from fastapi import APIRouter

from labelport.api.deps import CallerDep, PageDep
from labelport.api.errors import RESPONSES
from labelport.api.pagination import paginate
from labelport.api.schemas import (
    CreateRowsOut,
    DataRowOut,
    DataRowsIn,
    DatasetIn,
    DatasetOut,
    GlobalKeysIn,
    LookupOut,
    OntologyIn,
    OntologyOut,
    Page,
)
from labelport.service import auth, datasets, ontologies

router = APIRouter(prefix="/api/v1", responses=RESPONSES)


@router.post("/datasets", status_code=201, tags=["datasets"])
def create_dataset(body: DatasetIn, caller: CallerDep) -> DatasetOut:
    """Organisation admins create datasets; project admins add data rows to them."""
    auth.require_organisation_admin(caller.principal, "create datasets")
    return DatasetOut.of(datasets.create_dataset(caller.hub, body.name, body.description))


@router.get("/datasets", tags=["datasets"])
def list_datasets(caller: CallerDep, page: PageDep) -> Page[DatasetOut]:
    return paginate(
        lambda o, n: [DatasetOut.of(d) for d in datasets.list_datasets(caller.hub, offset=o, limit=n)], page
    )


@router.get("/datasets/{dataset_id}", tags=["datasets"])
def get_dataset(dataset_id: str, caller: CallerDep) -> DatasetOut:
    return DatasetOut.of(datasets.get_dataset(caller.hub, dataset_id))


@router.post("/datasets/{dataset_id}/data-rows", status_code=201, tags=["data rows"])
def create_data_rows(dataset_id: str, body: DataRowsIn, caller: CallerDep) -> CreateRowsOut:
    """Create data rows; each bad row fails on its own (``failures``), the good ones land together.

    ``row_data`` names files on the server's filesystem (within ``LABELPORT_FILE_ROOTS`` when set).
    """
    caller.require_catalog_write()
    datasets.get_dataset(caller.hub, dataset_id)
    return CreateRowsOut.of(datasets.create_data_rows(caller.hub, dataset_id, body.data_rows))


@router.get("/datasets/{dataset_id}/data-rows", tags=["data rows"])
def list_data_rows(dataset_id: str, caller: CallerDep, page: PageDep) -> Page[DataRowOut]:
    return paginate(
        lambda o, n: [DataRowOut.of(r) for r in datasets.list_data_rows(caller.hub, dataset_id, offset=o, limit=n)],
        page,
    )


@router.get("/data-rows/{data_row_id}", tags=["data rows"])
def get_data_row(data_row_id: str, caller: CallerDep) -> DataRowOut:
    return DataRowOut.of(datasets.get_data_row(caller.hub, data_row_id))


@router.post("/data-rows/lookup", tags=["data rows"])
def data_row_ids_for_global_keys(body: GlobalKeysIn, caller: CallerDep) -> LookupOut:
    ids, missing = datasets.data_row_ids_for_global_keys(caller.hub, body.global_keys)
    return LookupOut(ids=ids, missing=missing)


@router.post("/ontologies", status_code=201, tags=["ontologies"])
def create_ontology(body: OntologyIn, caller: CallerDep) -> OntologyOut:
    caller.require_catalog_write()
    return OntologyOut.of(ontologies.create_ontology(caller.hub, body.name, body.normalized, body.media_type))


@router.get("/ontologies", tags=["ontologies"])
def list_ontologies(caller: CallerDep, page: PageDep) -> Page[OntologyOut]:
    return paginate(
        lambda o, n: [OntologyOut.of(x) for x in ontologies.list_ontologies(caller.hub, offset=o, limit=n)], page
    )


@router.get("/ontologies/{ontology_id}", tags=["ontologies"])
def get_ontology(ontology_id: str, caller: CallerDep) -> OntologyOut:
    return OntologyOut.of(ontologies.get_ontology(caller.hub, ontology_id))
