"""Mask, frame and export URLs open with an API key or a short-lived HMAC-signed URL.

A viewer or a training job given ``/api/v1/...?expires=...&signature=...`` fetches without headers.
The export issue's routes take ``KeyOrSignature`` as their dependency; ``signed_url`` makes the URLs.
"""

from __future__ import annotations

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
