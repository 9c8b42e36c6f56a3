"""Exports and masks. An export runs as a background job (kind export); its file is streamed when
downloaded, with every mask and frame link turned into an absolute URL signed for ``url_ttl`` seconds.

The mask route cuts a PNG on demand; it, the download and the export files open with an API key or a
signed URL (``KeyOrSignature``), so a viewer or a training job fetches them without headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path as FilePath
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from labelport.api.deps import Caller, CallerDep, ServerContext, context
from labelport.api.errors import RESPONSES
from labelport.api.schemas import ExportIn, ExportJobOut, ExportLabelsIn
from labelport.api.signed import KeyOrSignature, link_signer, links_pattern, sign_links, signed_url
from labelport.errors import NotFoundError
from labelport.model.jobs import JobKind, JobState
from labelport.service import auth
from labelport.service import export_jobs as jobs
from labelport.service import exports as export_service
from labelport.service.auth import Action
from labelport.service.hub import Hub

router = APIRouter(prefix="/api/v1", responses=RESPONSES)

DEFAULT_URL_TTL = 24 * 3600
UrlTtl = Annotated[
    int,
    Query(ge=1, le=7 * 24 * 3600, description="Seconds the signed mask and file URLs in the response stay valid"),
]
NDJSON = "application/x-ndjson"
JSON = "application/json"
PNG_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}, "description": "The mask PNG"}}
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {NDJSON: {}, "application/json": {}}, "description": "The file"}
}


def _acting(ctx: ServerContext, who: auth.Principal) -> Hub:
    return Hub(db=ctx.db, blobs=ctx.blobs, organization_id=who.organization_id, actor=who.email, settings=ctx.settings)


def _hub(ctx: ServerContext, who: auth.Principal, project_id: str, action: Action) -> Hub:
    """A Hub acting as the caller (a key's user, or the user of the key that signed the URL), who must be
    allowed ``action`` in the project now."""
    auth.require(ctx.db, who, project_id, action)
    return _acting(ctx, who)


def _export_hub(ctx: ServerContext, who: auth.Principal, job_id: str) -> tuple[Hub, str]:
    """A Hub to read export ``job_id`` as the caller, who must be allowed to export its project now, and
    the job's project."""
    job = auth.require_job(ctx.db, who, job_id, JobKind.EXPORT, Action.EXPORT)
    hub = _acting(ctx, who)
    if job.project_id is None:
        raise NotFoundError(f"the project of export {job_id} was deleted")
    return hub, job.project_id


def _out(request: Request, who: auth.Principal, info: jobs.ExportJobInfo) -> ExportJobOut:
    path = f"/api/v1/exports/{info.id}/download"
    finished = info.state is JobState.FINISHED
    return ExportJobOut.of(info, signed_url(request, who, path, DEFAULT_URL_TTL) if finished else None)


def _queue(caller: Caller, job_id: str, request: Request) -> ExportJobOut:
    caller.ctx.runner.submit(job_id)
    return _out(request, caller.principal, jobs.get_export_job(caller.hub, job_id))


@router.post("/projects/{project_id}/exports", status_code=202, tags=["exports"])
def start_export(project_id: str, body: ExportIn, caller: CallerDep, request: Request) -> ExportJobOut:
    """Queue an export_v2 of the project (params and filters are checked now); poll ``GET /exports/{id}``."""
    caller.require(project_id, Action.EXPORT)
    return _queue(caller, jobs.start_export(caller.hub, project_id, body.params, body.filters), request)


@router.post("/projects/{project_id}/export-labels", status_code=202, tags=["exports"])
def start_export_labels(project_id: str, body: ExportLabelsIn, caller: CallerDep, request: Request) -> ExportJobOut:
    """Queue the legacy export of labels created from ``start`` to ``end``; its file is a JSON array."""
    caller.require(project_id, Action.EXPORT)
    job_id = jobs.start_export(caller.hub, project_id, fmt="labelbox_export_labels", start=body.start, end=body.end)
    return _queue(caller, job_id, request)


@router.get("/exports/{job_id}", tags=["exports"])
def get_export(job_id: str, caller: CallerDep, request: Request) -> ExportJobOut:
    caller.require_job(job_id, JobKind.EXPORT, Action.EXPORT)
    return _out(request, caller.principal, jobs.get_export_job(caller.hub, job_id))


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    """A file's lines, endings kept, read in blocks (a local file or an object streamed from S3)."""
    rest = b""
    for block in iter(lambda: handle.read(1 << 20), b""):
        rest += block
        *whole, rest = rest.split(b"\n")
        for line in whole:
            yield line + b"\n"
    if rest:
        yield rest


def _stream(stack: ExitStack, handle: BinaryIO, sign: Callable[[bytes], bytes]) -> Iterator[bytes]:
    with stack:
        for line in _lines(handle):
            yield sign(line)


def _serve(request: Request, who: auth.Principal, job_id: str, relative: str | None, ttl: int) -> Response:
    """An export's file, from the blob store (the local disk, or S3 whichever replica asks), links signed."""
    hub, project_id = _export_hub(context(request), who, job_id)
    job = jobs.get_export_job(hub, job_id)
    if job.state is not JobState.FINISHED:
        raise NotFoundError(f"export {job_id} has no file yet: it is {job.state.value}")
    name = jobs.output_name(job) if relative is None else relative
    suffix = FilePath(name).suffix
    media_type = NDJSON if suffix == ".ndjson" else JSON if suffix == ".json" else "application/octet-stream"
    stack = ExitStack()
    try:
        # Opened before the response starts, so a missing file is a 404 and an unreachable store a 503.
        handle = stack.enter_context(hub.blobs.open_output(job_id, name))
    except NotFoundError:
        if relative is None:
            raise NotFoundError(f"the file of export {job_id} is no longer on the server") from None
        raise
    pattern = links_pattern(project_id, job_id)
    signer = link_signer(request, who, ttl)
    return StreamingResponse(
        _stream(stack, handle, lambda data: sign_links(data, pattern, signer)), media_type=media_type
    )


@router.get("/exports/{job_id}/download", tags=["exports"], response_class=Response, responses=FILE_RESPONSE)
def download_export(job_id: str, request: Request, who: KeyOrSignature, url_ttl: UrlTtl = DEFAULT_URL_TTL) -> Response:
    """The export's file, streamed: NDJSON rows (export_v2) or a JSON array (legacy), links signed."""
    return _serve(request, who, job_id, None, url_ttl)


@router.get("/exports/{job_id}/files/{path:path}", tags=["exports"], response_class=Response, responses=FILE_RESPONSE)
def export_file(
    job_id: str,
    path: Annotated[str, Path(max_length=1000, description="A file of the export, as its links name it")],
    request: Request,
    who: KeyOrSignature,
    url_ttl: UrlTtl = DEFAULT_URL_TTL,
) -> Response:
    """A file an export links (the legacy export's per-frame NDJSON), links signed."""
    return _serve(request, who, job_id, path, url_ttl)


@router.get(
    "/projects/{project_id}/annotations/{feature_id}/index/{frame}/mask",
    tags=["exports"],
    response_class=Response,
    responses=PNG_RESPONSE,
)
def mask(
    project_id: str,
    feature_id: str,
    frame: Annotated[int, Path(ge=1, le=1_000_000, description="1-based frame, as in the export")],
    request: Request,
    who: KeyOrSignature,
) -> Response:
    """The mask PNG of a ground-truth annotation on a frame, cut on demand (DICOM: 0/255 grey)."""
    hub = _hub(context(request), who, project_id, Action.EXPORT)
    png = export_service.mask_png_for_feature(hub, project_id, feature_id, frame)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
