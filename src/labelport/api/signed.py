"""Mask, frame and export URLs open with an API key or a short-lived HMAC-signed URL.

A viewer or a training job given ``/api/v1/...?expires=...&by=...&signature=...`` fetches without headers.
A signature covers the path, its expiry and the API key that asked for it (``by``, its id); the URL then
acts as that key's user, whose role is checked as for the key itself: revoking the key or removing the user
from the project ends every URL it signed. Links signed while serving a signed URL expire no later than it.

The mask, export download and export file routes take ``KeyOrSignature``; ``signed_url`` makes one URL and
``sign_links`` turns the server paths an export file links into signed absolute URLs as it is served.
Absolute URLs start with the server's public URL (``ServerConfig.public_url``), never a request's ``Host``.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from labelport.api.deps import authenticated, bearer, context
from labelport.service import auth

SIGNED_UNTIL = "labelport.signed_until"  # the scope key holding the expiry of the signed URL being served


def key_or_signature(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    expires: Annotated[str | None, Query(max_length=20)] = None,
    by: Annotated[str | None, Query(max_length=64, description="The API key id a signed URL acts for")] = None,
    signature: Annotated[str | None, Query(max_length=128)] = None,
) -> auth.Principal:
    """The caller: the key's user when a key is sent, else the user of the key that signed this very path."""
    if credentials is not None:
        return authenticated(request, credentials.credentials)
    who, expiry = auth.check_signature(
        context(request).db, context(request).secret, request.url.path, expires, by, signature
    )
    request.scope[SIGNED_UNTIL] = expiry
    return who


KeyOrSignature = Annotated[auth.Principal, Depends(key_or_signature)]


def public_base(request: Request) -> str:
    """Where clients reach this server: the configured public URL, else the address it listens on (the
    socket's, never the client's ``Host`` header, which anyone can set)."""
    configured = context(request).public_url
    if configured:
        return configured
    scheme = "https" if request.scope.get("scheme") == "https" else "http"
    host, port = request.scope.get("server") or ("127.0.0.1", None)
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def _key_of(who: auth.Principal) -> str:
    if who.key_id is None:
        raise auth.AuthenticationError("only a request made with an API key can sign URLs")
    return who.key_id


def signed_url(request: Request, who: auth.Principal, path: str, ttl_seconds: int = 3600) -> str:
    """An absolute URL for ``path`` on this server that works without a key for ``ttl_seconds`` (no longer
    than the signed URL being served, if one is), acting as ``who``'s key."""
    secret = context(request).secret
    query = auth.signed_query(secret, path, ttl_seconds, _key_of(who), not_after=request.scope.get(SIGNED_UNTIL))
    return f"{public_base(request)}{path}?{query}"


def link_signer(request: Request, who: auth.Principal, ttl_seconds: int) -> Callable[[str], str]:
    """Server paths -> absolute URLs signed for ``ttl_seconds`` (checked once, before any is made), no
    longer than the signed URL being served lives."""
    secret = context(request).secret
    base = public_base(request)
    key_id = _key_of(who)
    until: int | None = request.scope.get(SIGNED_UNTIL)
    auth.signed_query(secret, "/", ttl_seconds, key_id)  # a bad ttl fails here, before a response starts

    def sign(path: str) -> str:
        return f"{base}{path}?{auth.signed_query(secret, path, ttl_seconds, key_id, not_after=until)}"

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
