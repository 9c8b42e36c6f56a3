"""Request bodies: the API key is checked before a body is read, and no body is larger than its cap.

``BodyGuard`` sits in front of every route. For a request that may carry a body (POST, PUT, PATCH, DELETE)
under ``/api/`` it

- checks the API key first: a request without a valid key gets 401 before a byte of its body is read, so an
  unauthenticated client cannot make the server buffer anything;
- refuses a declared ``Content-Length`` above the cap at once (413), without waiting for the body;
- counts the bytes as they arrive, so a body sent with ``Transfer-Encoding: chunked`` (no length declared)
  or one longer than it declared stops at the cap too (413).

The cap is ``max_upload_bytes`` for an import upload (which the route streams to a file) and
``max_body_bytes`` for every JSON body. An uploaded archive (an items list with its media) is capped once
more after it arrives: its files may add up to ``max_upload_bytes`` uncompressed, in at most
``service.archives.MAX_MEMBERS`` members.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelport.api.deps import PRINCIPAL, ServerContext
from labelport.api.errors import error_response
from labelport.errors import AuthenticationError
from labelport.service import auth

MAX_BODY_BYTES = 16 * 1024**2
MAX_UPLOAD_BYTES = 2 * 1024**3
WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPLOADS = re.compile(r"^/api/v1/projects/[^/]+/imports(/items)?$")


class BodyTooLarge(HTTPException):
    """413, raised while a body arrives; FastAPI passes HTTPExceptions through its body parsing."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request body is larger than {cap} bytes, the most this server accepts here")


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


class BodyGuard:
    """ASGI middleware; see the module's rules."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        secret = _bearer(scope)
        try:
            who = await run_in_threadpool(auth.authenticate, self._context(scope).db, secret)
        except AuthenticationError as exc:
            await error_response(401, "AuthenticationError", str(exc))(scope, receive, send)
            return
        scope[PRINCIPAL] = (secret, who)
        cap = self.max_upload_bytes if UPLOADS.match(scope["path"]) else self.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None and (declared < 0 or declared > cap):
            shown = "not a number" if declared < 0 else f"{declared} bytes"
            message = f"the request body is larger than {cap} bytes, the most this server accepts here ({shown})"
            await error_response(413, "PayloadTooLarge", message, "body", declared)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, cap), send)

    @staticmethod
    def _context(scope: Scope) -> ServerContext:
        context: ServerContext = scope["app"].state.context
        return context


def _counting(receive: Receive, cap: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise BodyTooLarge(cap)
        return message

    return counted


__all__ = ["MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "UPLOADS", "BodyGuard", "BodyTooLarge"]
