"""One rooted exception tree. Every error carries the data a user needs to find and fix the input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class LabelportError(Exception):
    """Root of every error labelport raises on purpose."""


class ValidationError(LabelportError, ValueError):
    """A value is not acceptable; ``field`` names where it was found and ``value`` what it was."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


class NotFoundError(LabelportError, LookupError):
    """A referenced object (dataset, project, data row, feature...) does not exist."""


class ConflictError(LabelportError):
    """The operation conflicts with what is stored: a uniqueness rule (global key, batch name, uuid...), or
    a state that changed (a workflow action on a row another action moved); ``field`` and ``value`` name the
    conflicting value when known."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


class AuthenticationError(LabelportError):
    """No API key, or one that is unknown or revoked (HTTP 401)."""


class PermissionDeniedError(LabelportError):
    """The key is valid but its user may not do this (HTTP 403)."""


class StoreError(LabelportError):
    """The database failed in a way the input does not explain; the message names no internals (HTTP 500)."""


class StoreBusyError(StoreError):
    """The store is held by another write (a long import on SQLite); retrying later succeeds (HTTP 503)."""


class StoreUnavailableError(StoreError):
    """A service the store relies on (the object store, the job queue) cannot be reached now; retrying once
    it is back succeeds (HTTP 503). The message names the service, never credentials."""


class MissingDependencyError(LabelportError):
    """A feature needs an optional package that is not installed; the message names the extra to install."""


class MediaError(LabelportError):
    """A file is missing, unreadable, or is not the media it is claimed to be."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem was found in an input: file, 1-based line, JSON path."""

    file: str | None = None
    line: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append(self.path)
        return ", ".join(parts) or "<input>"


class ParseError(LabelportError):
    """Input that cannot be read: names the file, line, JSON path and the offending value."""

    def __init__(self, message: str, location: Location, value: Any = None) -> None:
        super().__init__(f"{location}: {message}")
        self.reason = message
        self.location = location
        self.value = value
