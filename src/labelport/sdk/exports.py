"""Export tasks as the platform's SDK returns them: ``wait_till_done()``, ``status``, ``errors``, ``result``,
``get_buffered_stream()``.

Embedded, the export runs when the task is created and writes ``$LABELPORT_HOME/exports/<task id>/export.ndjson``
with the mask PNGs in ``masks/`` beside it; ``result`` reads the whole file (for small exports) and
``get_buffered_stream()`` yields one row at a time from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from labelport.sdk.client import Client


@dataclass(frozen=True, slots=True)
class ExportTaskInfo:
    """What a backend reports about an export task."""

    id: str
    project_id: str
    status: str  # COMPLETE | FAILED
    path: Path | None
    rows: int
    errors: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class BufferedJsonRow:
    """One exported row: ``json`` (the parsed row) and ``json_str`` (its text), as Labelbox streams them."""

    json_str: str

    @property
    def json(self) -> Any:
        return orjson.loads(self.json_str)


class ExportTask:
    """An export of a project; every row is one data row with its labels."""

    def __init__(self, client: Client, info: ExportTaskInfo) -> None:
        self.client = client
        self.info = info

    @property
    def uid(self) -> str:
        return self.info.id

    @property
    def status(self) -> str:
        return self.info.status

    @property
    def path(self) -> Path | None:
        """The NDJSON file the export wrote (embedded)."""
        return self.info.path

    def wait_till_done(self, timeout_seconds: float = 7200.0) -> None:
        return None

    def has_result(self) -> bool:
        return self.info.rows > 0

    def has_errors(self) -> bool:
        return bool(self.info.errors)

    def get_total_lines(self) -> int | None:
        return self.info.rows or None

    @property
    def errors(self) -> list[dict[str, Any]] | None:
        """Rows or annotations that could not be written, with the reason; None when all were."""
        return list(self.info.errors) or None

    def get_buffered_stream(self) -> Iterator[BufferedJsonRow]:
        """The rows one at a time, read from the export file."""
        if self.info.path is None:
            return
        with self.info.path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield BufferedJsonRow(line.decode().rstrip("\n"))

    def get_stream(self) -> Iterator[BufferedJsonRow]:
        return self.get_buffered_stream()

    @property
    def result(self) -> list[dict[str, Any]]:
        """Every row in memory (fine for small exports; stream big ones with ``get_buffered_stream``)."""
        return [row.json for row in self.get_buffered_stream()]

    def __repr__(self) -> str:
        return f"<ExportTask {self.uid} status={self.status} rows={self.info.rows}>"
