"""Encord label rows of a project, for the SDK's label-row API over HTTP (``list_label_rows_v2``,
``initialise_labels``, bundles). Reading them reads labels: it needs the role an export needs.

The request is a POST because its data row ids (up to one page of them) do not fit a URL. Pages are cut on
the data row ids, in id order, before any label is written, so a page writes only its own rows.
"""

from __future__ import annotations

from fastapi import APIRouter

from labelport.api.deps import CallerDep, PageDep
from labelport.api.errors import RESPONSES
from labelport.api.pagination import paginate
from labelport.api.schemas import EncordLabelRowOut, EncordLabelRowsIn, Page
from labelport.service import label_rows
from labelport.service.auth import Action

router = APIRouter(prefix="/api/v1", responses=RESPONSES)


@router.post("/projects/{project_id}/encord/label-rows", tags=["labels"])
def encord_label_rows(
    project_id: str, body: EncordLabelRowsIn, caller: CallerDep, page: PageDep
) -> Page[EncordLabelRowOut]:
    """The project's data rows (or those of ``data_row_ids``; one not in the project is a 404) with their label
    of ``kind`` as Encord label rows, in data row id order; one page per request."""
    caller.require(project_id, Action.EXPORT)
    ids = paginate(lambda o, n: label_rows.row_ids(caller.hub, project_id, body.data_row_ids, offset=o, limit=n), page)
    rows = label_rows.encord_rows(caller.hub, project_id, body.kind, ids.items) if ids.items else []
    return Page[EncordLabelRowOut](
        items=[EncordLabelRowOut.of(media, row) for media, row in rows], next_cursor=ids.next_cursor
    )
