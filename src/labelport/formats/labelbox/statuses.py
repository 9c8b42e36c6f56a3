"""Import statuses as Labelbox reports them (``job.statuses``, ``job.errors``).

labelport keeps one status per annotation in its own shape (``{uuid, data_row, errors: [{type, message,
file, line, path, value}]}``, errors empty on success); Labelbox users read ``{uuid, dataRow: {id |
globalKey}, status: SUCCESS | FAILURE, errors: [{name, message, additionalInfo: {line, path, file,
value}}]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labelport.formats.labelbox.fields import (
    ADDITIONAL_INFO,
    DATA_ROW,
    ERROR_MESSAGE,
    ERROR_NAME,
    ERRORS,
    FAILURE,
    GLOBAL_KEY,
    ID,
    STATUS,
    SUCCESS,
    UUID,
)

_INFO = ("line", "path", "file", "value")


def data_row(key: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``dataRow`` of a status: by id when known, else by global key (else as given)."""
    if not key:
        return None
    if key.get("id") is not None:
        return {ID: key["id"]}
    if key.get("global_key") is not None:
        return {GLOBAL_KEY: key["global_key"]}
    return dict(key)


def error(problem: Mapping[str, Any]) -> dict[str, Any]:
    info = {k: problem[k] for k in _INFO if problem.get(k) is not None}
    return {ERROR_NAME: problem.get("type"), ERROR_MESSAGE: problem.get("message"), ADDITIONAL_INFO: info}


def status(record: Mapping[str, Any]) -> dict[str, Any]:
    """One labelport status in Labelbox's shape."""
    errors = list(record.get("errors") or ())
    return {
        UUID: record.get("uuid"),
        DATA_ROW: data_row(record.get("data_row")),
        STATUS: FAILURE if errors else SUCCESS,
        ERRORS: [error(e) for e in errors],
    }


__all__ = ["data_row", "error", "status"]
