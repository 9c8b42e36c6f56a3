"""Annotation imports: the NDJSON is uploaded, kept in the blob store, and run as a background job.

The upload is streamed to a scratch file (unnamed, its owner's only) while ``BodyGuard`` counts its bytes and
stops it at ``max_upload_bytes``, chunked or not; then it is stored from that file (multipart to S3): it is
never held whole in memory.

The job's state is in the database; ``GET /imports/{id}`` reports it, ``/statuses`` every annotation's
outcome. Pre-labels need the labeler role or above, ground truth the reviewer role or above.

An items list that brings its media (RedBrick) comes as an archive with the files it names
(``POST /projects/{id}/imports/items``): it creates data rows and a batch besides importing labels, so it
needs the project's admin. The archive is checked member by member before it is kept
(``service.archives``); ``GET /imports/{id}/items`` gives what the import made, task by task.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, BinaryIO, cast

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from labelport.api import limits
from labelport.api.deps import Caller, CallerDep, PageDep
from labelport.api.errors import RESPONSES
from labelport.api.pagination import paginate
from labelport.api.schemas import ImportJobOut, ImportStatusOut, ItemsImportOut, Page
from labelport.errors import ValidationError
from labelport.formats import get_format
from labelport.model.jobs import JobKind
from labelport.model.label import LabelKind
from labelport.service import imports as import_service
from labelport.service import items as items_service
from labelport.service.auth import Action

router = APIRouter(prefix="/api/v1", responses=RESPONSES)

NDJSON = "application/x-ndjson"
ImportName = Annotated[str, Query(min_length=1, max_length=500)]
ImportKind = Annotated[LabelKind, Query(description="prediction (pre-labels, MAL) or ground_truth")]
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Labelbox NDJSON (one annotation per line) or a JSON array of annotations",
        "content": {NDJSON: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("/projects/{project_id}/imports", status_code=202, tags=["imports"], openapi_extra=UPLOAD_BODY)
async def start_import(
    project_id: str,
    request: Request,
    caller: CallerDep,
    name: ImportName,
    kind: ImportKind,
    file_name: Annotated[
        str | None, Query(max_length=1000, description="The uploaded file's name, shown in problem locations")
    ] = None,
    format: Annotated[
        str, Query(max_length=64, description="The input's format: a registered name or a vendor (labelbox, encord)")
    ] = "labelbox",
) -> ImportJobOut:
    """Queue an import of the request body; poll ``GET /imports/{id}`` until FINISHED or FAILED."""
    entry = get_format(format, reading=True)
    await run_in_threadpool(caller.require, project_id, _importing(kind))
    with tempfile.TemporaryFile(dir=caller.hub.blobs.scratch()) as spooled:
        blank = True
        async for chunk in request.stream():  # BodyGuard counts these bytes and stops them at the cap
            blank = blank and not chunk.strip()
            spooled.write(chunk)
        if blank:
            raise ValidationError("the import body is empty: send NDJSON, one annotation per line", field="body")
        spooled.seek(0)
        upload = cast(BinaryIO, spooled)
        return await run_in_threadpool(_queue, caller, project_id, name, kind, upload, file_name, entry.name)


def _queue(
    caller: Caller, project_id: str, name: str, kind: LabelKind, upload: BinaryIO, file_name: str | None, fmt: str
) -> ImportJobOut:
    """Keep the upload in the blob store, record a QUEUED job that names it, hand it to the runner."""
    hub = caller.hub
    job_id = import_service.start_import(hub, project_id, name, kind, fmt=fmt, source=upload, input_name=file_name)
    return _submitted(caller, job_id)


def _importing(kind: LabelKind) -> Action:
    """What importing labels of ``kind`` needs: pre-labels the labeler's role, ground truth the reviewer's."""
    return Action.IMPORT_PRELABELS if kind is LabelKind.PREDICTION else Action.IMPORT_GROUND_TRUTH


def _submitted(caller: Caller, job_id: str) -> ImportJobOut:
    """Hand a QUEUED import job to the runner; the job as it stands."""
    caller.ctx.runner.submit(job_id)
    return ImportJobOut.of(import_service.get_import_job(caller.hub, job_id))


ARCHIVE = {"schema": {"type": "string", "format": "binary"}}
ARCHIVE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A zip or tar (.tar, .tar.gz, .tar.bz2, .tar.xz) archive: the items list (items.json at "
        "its root, or the file items_file names) and the files it names, by paths relative to the list",
        "content": {"application/octet-stream": ARCHIVE},  # recognised by content, whatever its type says
    }
}


@router.post("/projects/{project_id}/imports/items", status_code=202, tags=["imports"], openapi_extra=ARCHIVE_BODY)
async def start_items_import(
    project_id: str,
    request: Request,
    caller: CallerDep,
    name: ImportName,
    kind: ImportKind,
    items_file: Annotated[
        str | None, Query(max_length=1000, description="The items list's path in the archive (default items.json)")
    ] = None,
    dataset_id: Annotated[
        str | None, Query(max_length=64, description="Dataset for the data rows it creates (default: a new one)")
    ] = None,
    create_features: Annotated[bool, Query(description="Add the categories the ontology lacks")] = False,
    label_validate: Annotated[bool, Query(description="RedBrick: file values must equal the segment map's")] = False,
    prune_segmentations: Annotated[
        bool, Query(description="RedBrick: drop file values the segment map lacks, and entries without voxels")
    ] = False,
    keep_unmapped: Annotated[
        bool, Query(description="RedBrick: keep file values the segment map lacks as view-only voxels")
    ] = False,
    affine_tolerance: Annotated[
        float | None, Query(gt=0, description="RedBrick: how far a segmentation's affine may differ, in mm")
    ] = None,
    format: Annotated[str, Query(max_length=64, description="A format that brings its media")] = "redbrick",
) -> ImportJobOut:
    """Queue an import of an archive holding an items list and its media: data rows created (or reused by
    global key), batched into the project, labels imported; poll ``GET /imports/{id}``, then read
    ``GET /imports/{id}/items``. A refused archive member is named in a 422 and nothing is kept."""
    for needed in (Action.MANAGE, _importing(kind)):  # data rows and a batch besides the labels: the project's admin
        await run_in_threadpool(caller.require, project_id, needed)
    options: dict[str, Any] = {
        "label_validate": label_validate,
        "prune_segmentations": prune_segmentations,
        "keep_unmapped": keep_unmapped,
    }
    if affine_tolerance is not None:
        options["affine_tolerance"] = affine_tolerance
    with tempfile.NamedTemporaryFile(dir=caller.hub.blobs.scratch(), prefix=".archive-") as spooled:
        async for chunk in request.stream():  # BodyGuard counts these bytes and stops them at the cap
            spooled.write(chunk)
        spooled.flush()

        def queue() -> ImportJobOut:
            job_id = items_service.start_archive_import(
                caller.hub,
                project_id,
                Path(spooled.name),
                name=name,
                kind=kind,
                fmt=format,
                named=items_file,
                dataset_id=dataset_id,
                create_features=create_features,
                options=options,
                max_bytes=caller.ctx.max_upload_bytes or limits.MAX_UPLOAD_BYTES,
            )
            return _submitted(caller, job_id)

        return await run_in_threadpool(queue)


@router.get("/imports/{job_id}/items", tags=["imports"])
def items_import(job_id: str, caller: CallerDep) -> ItemsImportOut:
    """What an items import made: its dataset, batch, data rows created and reused, each task's outcome
    (empty until the job has FINISHED)."""
    caller.require_job(job_id, JobKind.IMPORT, Action.READ)
    return ItemsImportOut.of(items_service.get_items_import(caller.hub, job_id))


@router.get("/projects/{project_id}/imports", tags=["imports"])
def list_import_jobs(project_id: str, caller: CallerDep, page: PageDep) -> Page[ImportJobOut]:
    caller.require(project_id, Action.READ)
    return paginate(
        lambda o, n: [
            ImportJobOut.of(j) for j in import_service.list_import_jobs(caller.hub, project_id, offset=o, limit=n)
        ],
        page,
    )


@router.get("/imports/{job_id}", tags=["imports"])
def get_import_job(job_id: str, caller: CallerDep) -> ImportJobOut:
    caller.require_job(job_id, JobKind.IMPORT, Action.READ)
    return ImportJobOut.of(import_service.get_import_job(caller.hub, job_id))


@router.get("/imports/{job_id}/statuses", tags=["imports"])
def import_statuses(
    job_id: str,
    caller: CallerDep,
    page: PageDep,
    failures_only: Annotated[bool, Query(description="Only the FAILURE statuses")] = False,
) -> Page[ImportStatusOut]:
    caller.require_job(job_id, JobKind.IMPORT, Action.READ)
    return paginate(
        lambda o, n: [
            ImportStatusOut(**s)
            for s in import_service.import_statuses_of(
                caller.hub, job_id, failures_only=failures_only, offset=o, limit=n
            )
        ],
        page,
    )
