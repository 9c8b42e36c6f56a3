"""One JSON error body for every failure: ``{"error": {"type", "message", "field", "value"}}``.

Known errors map to 4xx (never 5xx for bad input); an unexpected one is a 500 whose body names no
internals. Database failures reach here already as labelport errors (the store raises ConflictError,
ValidationError, StoreBusyError or StoreError), so the API never sees SQL. The SDK over HTTP turns the body
back into the same exception class.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from labelport.errors import (
    AuthenticationError,
    ConflictError,
    LabelportError,
    MediaError,
    NotFoundError,
    ParseError,
    PermissionDeniedError,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
    ValidationError,
)

log = logging.getLogger(__name__)

STATUS: tuple[tuple[type[LabelportError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (ValidationError, 422),
    (StoreBusyError, 503),
    (StoreUnavailableError, 503),
    (StoreError, 500),
)
# The error types the API has always named these by.
WIRE_TYPES: tuple[tuple[type[LabelportError], str], ...] = (
    (StoreBusyError, "Busy"),
    (StoreUnavailableError, "Unavailable"),
    (StoreError, "InternalError"),
)


class ErrorDetail(BaseModel):
    type: str
    message: str
    field: str | None = None
    value: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _jsonable(value: Any) -> Any:
    """``value`` as JSON, or its repr when it has no JSON form (bytes, objects)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:
        return repr(value)


def error_response(status: int, kind: str, message: str, field: str | None = None, value: Any = None) -> JSONResponse:
    body = {"error": {"type": kind, "message": message, "field": field, "value": _jsonable(value)}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(exc: LabelportError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def type_of(exc: LabelportError) -> str:
    for kind, name in WIRE_TYPES:
        if isinstance(exc, kind):
            return name
    return type(exc).__name__


async def _labelport(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LabelportError)  # registered for LabelportError only
    if isinstance(exc, StoreError) and not isinstance(exc, StoreBusyError):
        log.error("database error", exc_info=exc)
    field = getattr(exc, "field", None)
    value = getattr(exc, "value", None)
    if isinstance(exc, MediaError):
        field, value = "row_data", exc.path
    if isinstance(exc, ParseError):
        field, value = exc.location.path, exc.value
    return error_response(status_of(exc), type_of(exc), str(exc), field, value)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = f"{where}: {first.get('msg', 'invalid request')}" if where else str(first.get("msg", "invalid request"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return error_response(422, "ValidationError", message, where or None, first.get("input"))


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    kinds = {
        404: "NotFoundError",
        405: "MethodNotAllowed",
        401: "AuthenticationError",
        403: "PermissionDeniedError",
        413: "PayloadTooLarge",
    }
    field = "body" if exc.status_code == 413 else None
    return error_response(exc.status_code, kinds.get(exc.status_code, "HTTPError"), str(exc.detail), field)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return error_response(500, "InternalError", "the server hit an unexpected error; see its log")


def install(app: FastAPI) -> None:
    app.add_exception_handler(LabelportError, _labelport)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (401, "No API key, or an unknown or revoked one"),
        (403, "The key's user may not do this"),
        (404, "Not found in the key's organisation"),
        (409, "Conflicts with stored data"),
        (422, "Invalid input"),
    )
}
