"""A project's data rows as Encord label rows, for the SDK's label-row API (``sdk/encord``) on either backend:
the embedded client calls ``encord_rows`` itself, a server answers ``/projects/{id}/encord/label-rows`` with it.

A label row is the data row's label of one kind written by the registered ``encord_label_rows`` format with
the project's ontology and stored pixels, exactly as an export writes it. Rows come in data-row id order, so
a list paged with ``row_ids`` reads the same as one read whole.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from labelport.errors import NotFoundError
from labelport.formats import get_format
from labelport.formats.base import WriteContext
from labelport.model.label import LabelKind
from labelport.model.media import DataRow
from labelport.service import exports as export_service
from labelport.service.hub import Hub
from labelport.service.ontologies import get_ontology
from labelport.service.projects import get_project
from labelport.store.schema import batch_data_rows

FORMAT = "encord_label_rows"


def row_ids(
    hub: Hub, project_id: str, data_row_ids: Sequence[str] | None = None, *, offset: int = 0, limit: int | None = None
) -> list[str]:
    """The ids of the project's data rows in id order (a page with ``offset`` and ``limit``); with
    ``data_row_ids``, those rows, each of which must be in the project (NotFoundError naming the first that
    is not)."""
    get_project(hub, project_id)
    query = sa.select(batch_data_rows.c.data_row_id).where(batch_data_rows.c.project_id == project_id)
    with hub.read() as conn:
        if data_row_ids is not None:
            query = query.where(batch_data_rows.c.data_row_id.in_(set(data_row_ids)))
            found = set(conn.execute(query).scalars())
            missing = [i for i in dict.fromkeys(data_row_ids) if i not in found]
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise NotFoundError(f"data row {missing[0]!r} is not in project {project_id!r}{more}")
        page = query.order_by(batch_data_rows.c.data_row_id).offset(offset).limit(limit)
        return list(conn.execute(page).scalars())


def encord_rows(
    hub: Hub, project_id: str, kind: LabelKind, data_row_ids: Sequence[str] | None = None
) -> list[tuple[DataRow, dict[str, Any]]]:
    """The project's data rows (or those of ``data_row_ids``, each in the project) in id order, each with its
    label of ``kind`` as an Encord label row; read in chunks of the export filter's ``MAX_IDS`` rows."""
    ids = row_ids(hub, project_id, data_row_ids)
    if not ids:
        return []
    entry = get_format(FORMAT, reading=False)
    project = get_project(hub, project_id)
    ontology = get_ontology(hub, project.ontology_id).ontology if project.ontology_id else None
    context = WriteContext(ontology=ontology, pixels=export_service.StorePixels(hub))
    size = export_service.MAX_IDS
    out: list[tuple[DataRow, dict[str, Any]]] = []
    for start in range(0, len(ids), size):
        items = list(export_service.items(hub, project_id, {"data_row_ids": ids[start : start + size]}, kind=kind))
        buffer = io.BytesIO()
        entry.write(items, buffer, context)
        rows = orjson.loads(buffer.getvalue())
        out.extend((item.media, row) for item, row in zip(items, rows, strict=True) if item.media is not None)
    return out


__all__ = ["encord_rows", "row_ids"]
