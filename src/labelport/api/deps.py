"""Per-request dependencies: the server context, the caller (from its API key), a Hub acting as it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from labelport.errors import ValidationError
from labelport.jobs import JobRunner
from labelport.model.jobs import JobInfo, JobKind
from labelport.service import auth
from labelport.service.hub import Hub, Settings
from labelport.store import BlobStore, Database

bearer = HTTPBearer(auto_error=False, description="An API key from `labelport keys create`")

MAX_PAGE = 1000


@dataclass
class ServerContext:
    """What the running server shares across requests: one engine, the blob store, the job runner, the
    URL-signing secret, where clients reach the server, and the cap on an upload (``limits``; None: the
    default)."""

    db: Database
    blobs: BlobStore
    settings: Settings
    runner: JobRunner
    secret: bytes
    public_url: str | None = None
    max_upload_bytes: int | None = None


def context(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.context
    return ctx


PRINCIPAL = "labelport.principal"  # the scope key where ``limits.BodyGuard`` leaves the caller it checked


def authenticated(request: Request, secret: str | None) -> auth.Principal:
    """The caller of ``secret``, checked once per request (``BodyGuard`` may have done it already)."""
    known: tuple[str, auth.Principal] | None = request.scope.get(PRINCIPAL)
    if known is not None and secret is not None and hmac.compare_digest(known[0], secret):
        return known[1]
    return auth.authenticate(context(request).db, secret)


def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> auth.Principal:
    return authenticated(request, credentials.credentials if credentials is not None else None)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user and a Hub acting as it in its organisation."""

    principal: auth.Principal
    hub: Hub
    ctx: ServerContext

    def require(self, project_id: str, action: auth.Action) -> auth.Role:
        return auth.require(self.ctx.db, self.principal, project_id, action)

    def require_job(self, job_id: str, kind: JobKind, action: auth.Action) -> JobInfo:
        return auth.require_job(self.ctx.db, self.principal, job_id, kind, action)

    def require_catalog_write(self) -> None:
        auth.require_catalog_write(self.ctx.db, self.principal)


def caller(request: Request, who: Annotated[auth.Principal, Depends(principal)]) -> Caller:
    ctx = context(request)
    hub = Hub(db=ctx.db, blobs=ctx.blobs, organization_id=who.organization_id, actor=who.email, settings=ctx.settings)
    return Caller(principal=who, hub=hub, ctx=ctx)


CallerDep = Annotated[Caller, Depends(caller)]


@dataclass(frozen=True, slots=True)
class PageRequest:
    offset: int
    limit: int


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=20, description="next_cursor of the previous page")] = None,
) -> PageRequest:
    if cursor is None or cursor == "":
        return PageRequest(0, limit)
    if not (cursor.isascii() and cursor.isdigit()):
        raise ValidationError(
            f"cursor must be a next_cursor from a previous page, found {cursor!r}", field="cursor", value=cursor
        )
    return PageRequest(int(cursor), limit)


PageDep = Annotated[PageRequest, Depends(page_request)]
