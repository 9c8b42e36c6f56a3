"""Mask, frame and export URLs open with an API key or a short-lived HMAC-signed URL.

A viewer or a training job given ``/api/v1/...?expires=...&signature=...`` fetches without headers.
The mask, export download and export file routes take ``KeyOrSignature``; ``signed_url`` makes one URL and
``sign_links`` turns the server paths an export file links into signed absolute URLs as it is served.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from labelport.api.deps import bearer, context
from labelport.service import auth


def key_or_signature(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    expires: Annotated[str | None, Query(max_length=20)] = None,
    signature: Annotated[str | None, Query(max_length=128)] = None,
) -> auth.Principal | None:
    """The caller when a key is sent; None when a valid signature for this very path stands in for it."""
    ctx = context(request)
    if credentials is not None:
        return auth.authenticate(ctx.db, credentials.credentials)
    auth.check_signature(ctx.secret, request.url.path, expires, signature)
    return None


KeyOrSignature = Annotated[auth.Principal | None, Depends(key_or_signature)]


def signed_url(request: Request, path: str, ttl_seconds: int = 3600) -> str:
    """An absolute URL for ``path`` on this server that works without a key for ``ttl_seconds``."""
    secret = context(request).secret
    return f"{str(request.base_url).rstrip('/')}{path}?{auth.signed_query(secret, path, ttl_seconds)}"


def link_signer(request: Request, ttl_seconds: int) -> Callable[[str], str]:
    """Server paths -> absolute URLs signed for ``ttl_seconds`` (checked once, before any is made)."""
    secret = context(request).secret
    base = str(request.base_url).rstrip("/")
    auth.signed_query(secret, "/", ttl_seconds)  # a bad ttl fails here, before a response starts

    def sign(path: str) -> str:
        return f"{base}{path}?{auth.signed_query(secret, path, ttl_seconds)}"

    return sign


def links_pattern(project_id: str, job_id: str | None = None) -> re.Pattern[bytes]:
    """JSON strings that are exactly a mask path of ``project_id`` or a file path of export ``job_id``."""
    project = re.escape(project_id.encode())
    mask = rb"/api/v1/projects/" + project + rb"/annotations/[A-Za-z0-9_.:-]+/index/[0-9]+/mask"
    files = rb"|/api/v1/exports/" + re.escape(job_id.encode()) + rb"/files/[A-Za-z0-9_./-]+" if job_id else b""
    return re.compile(rb'"(' + mask + files + rb')"')


def sign_links(data: bytes, pattern: re.Pattern[bytes], sign: Callable[[str], str]) -> bytes:
    """``data`` (JSON text) with every linked server path replaced by its signed absolute URL."""
    return pattern.sub(lambda m: b'"' + sign(m.group(1).decode()).encode() + b'"', data)
