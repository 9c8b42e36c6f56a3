"""Export tasks as the Labelbox SDK returns them from ``project.export()`` / ``project.export_v2()``.

``ExportTask`` has ``wait_till_done()``, ``status``, ``has_result()``, ``has_errors()``, ``errors``, ``result``,
``get_total_file_size(stream_type)``, ``get_total_lines(stream_type)``, and two ways to stream:

- ``get_buffered_stream(stream_type=StreamType.RESULT)`` -> a ``BufferedStream`` of
  ``BufferedJsonConverterOutput`` (``output.json``: one parsed row); ``.start(stream_handler=fn)`` calls ``fn``
  per row, and iterating it gives the same outputs;
- ``get_stream(converter=JsonConverter(), stream_type=...)`` -> a ``Stream`` of ``JsonConverterOutput``
  (``json_str``, ``current_offset``, ``current_line``), with ``with_offset`` / ``with_line`` to resume.

Rows stream from the file the export job wrote (embedded: ``$LABELPORT_HOME/exports/<task id>/export.ndjson``;
over HTTP: the server's file, downloaded first), one line at a time, so memory stays constant whatever the
export's size. The ``ERRORS`` stream holds what the job could not write (one JSON object per problem).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from labelport.errors import LabelportError

if TYPE_CHECKING:
    from labelport.sdk.client import Client

OutputT = TypeVar("OutputT")


class StreamType(Enum):
    """Which stream of an export task: its rows or its errors."""

    RESULT = "RESULT"
    ERRORS = "ERRORS"


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
class BufferedJsonConverterOutput:
    """One streamed row (or error), parsed: ``json``."""

    json: Any


@dataclass(frozen=True, slots=True)
class JsonConverterOutput:
    """One streamed row as text (``json_str``), with its byte offset and 0-based line in the export file."""

    current_offset: int
    current_line: int
    json_str: str


class JsonConverter:
    """Turns the lines of a stream into ``JsonConverterOutput`` (Labelbox's default converter)."""

    def convert(self, offset: int, line: int, text: str) -> JsonConverterOutput:
        return JsonConverterOutput(current_offset=offset, current_line=line, json_str=text)


class ExportTaskError(LabelportError):
    """An export task's stream was asked for while the task failed, or a stream it does not have."""


def _check_stream_type(stream_type: Any) -> StreamType:
    if isinstance(stream_type, StreamType):
        return stream_type
    if isinstance(stream_type, str) and stream_type.upper() in StreamType.__members__:
        return StreamType[stream_type.upper()]
    raise TypeError(f"stream_type must be StreamType.RESULT or StreamType.ERRORS, found {stream_type!r}")


class _Lines:
    """The lines of one stream of a task: the export file's, or the job's errors as JSON lines."""

    def __init__(self, info: ExportTaskInfo, stream_type: StreamType) -> None:
        self.info = info
        self.stream_type = stream_type

    def __iter__(self) -> Iterator[tuple[int, int, str]]:
        """(byte offset, 0-based line, text) of each non-empty line."""
        if self.stream_type is StreamType.ERRORS:
            offset = 0
            for line, error in enumerate(self.info.errors):
                text = orjson.dumps(error).decode()
                yield offset, line, text
                offset += len(text) + 1
            return
        if self.info.path is None:
            return
        offset = 0
        line = 0
        with self.info.path.open("rb") as handle:
            for raw in handle:
                if raw.strip():
                    yield offset, line, raw.decode().rstrip("\r\n")
                    line += 1
                offset += len(raw)

    def size(self) -> int | None:
        if self.stream_type is StreamType.ERRORS:
            return sum(len(orjson.dumps(e)) + 1 for e in self.info.errors) if self.info.errors else None
        return self.info.path.stat().st_size if self.info.path is not None and self.info.path.exists() else None

    def count(self) -> int | None:
        if self.stream_type is StreamType.ERRORS:
            return len(self.info.errors) or None
        return self.info.rows if self.info.path is not None else None


class _Startable(Generic[OutputT]):
    def __iter__(self) -> Iterator[OutputT]:
        raise NotImplementedError

    def start(self, stream_handler: Callable[[OutputT], Any] | None = None) -> None:
        """Stream every output, calling ``stream_handler(output)`` for each."""
        if stream_handler is not None and not callable(stream_handler):
            raise TypeError(f"stream_handler must be a function taking one output, found {stream_handler!r}")
        for output in self:
            if stream_handler is not None:
                stream_handler(output)


class BufferedStream(_Startable[BufferedJsonConverterOutput]):
    """A task's rows (or errors) one at a time, parsed."""

    def __init__(self, lines: _Lines) -> None:
        self._lines = lines

    def __iter__(self) -> Iterator[BufferedJsonConverterOutput]:
        for _offset, _line, text in self._lines:
            yield BufferedJsonConverterOutput(json=orjson.loads(text))


class Stream(_Startable[JsonConverterOutput]):
    """A task's rows (or errors) one at a time as text, from a byte offset or a line on."""

    def __init__(self, lines: _Lines, converter: JsonConverter) -> None:
        self._lines = lines
        self._converter = converter
        self._offset = 0
        self._line = 0

    def with_offset(self, offset: int) -> Stream:
        """Start at the first line that begins at or after byte ``offset``."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise TypeError(f"offset must be an integer >= 0, found {offset!r}")
        self._offset, self._line = offset, 0
        return self

    def with_line(self, line: int) -> Stream:
        """Start at 0-based line ``line``."""
        if isinstance(line, bool) or not isinstance(line, int) or line < 0:
            raise TypeError(f"line must be an integer >= 0, found {line!r}")
        self._offset, self._line = 0, line
        return self

    def __iter__(self) -> Iterator[JsonConverterOutput]:
        for offset, line, text in self._lines:
            if offset >= self._offset and line >= self._line:
                yield self._converter.convert(offset, line, text)


class ExportTask:
    """An export of a project; every row of its result is one data row with its labels."""

    def __init__(self, client: Client, info: ExportTaskInfo) -> None:
        self.client = client
        self.info = info

    @property
    def uid(self) -> str:
        return self.info.id

    @property
    def status(self) -> str:
        """COMPLETE or FAILED (the export has run by the time the task is returned)."""
        return self.info.status

    @property
    def path(self) -> Path | None:
        """The NDJSON file the export wrote (embedded) or downloaded (HTTP)."""
        return self.info.path

    def wait_till_done(self, timeout_seconds: float = 7200.0) -> None:
        return None

    def wait_until_done(self, timeout_seconds: float = 7200.0) -> None:
        return None

    def _lines(self, stream_type: Any) -> _Lines:
        kind = _check_stream_type(stream_type)
        if kind is StreamType.RESULT and self.info.status == "FAILED":
            reason = "; ".join(str(e.get("message", e)) for e in self.info.errors) or "no reason recorded"
            raise ExportTaskError(f"export task {self.uid} failed: {reason}")
        return _Lines(self.info, kind)

    def get_total_file_size(self, stream_type: StreamType = StreamType.RESULT) -> int | None:
        """Bytes of the stream (None when it is empty)."""
        return self._lines(stream_type).size()

    def get_total_lines(self, stream_type: StreamType = StreamType.RESULT) -> int | None:
        """Lines of the stream: rows of the result, or errors (None when there are none)."""
        return self._lines(stream_type).count()

    def has_result(self) -> bool:
        return self.info.status != "FAILED" and self.info.rows > 0

    def has_errors(self) -> bool:
        return bool(self.info.errors)

    @property
    def errors(self) -> list[dict[str, Any]] | None:
        """Rows or annotations that could not be written, with the reason; None when all were."""
        return list(self.info.errors) or None

    def get_buffered_stream(self, stream_type: StreamType = StreamType.RESULT) -> BufferedStream:
        """The rows (or, with ``StreamType.ERRORS``, the errors) one at a time: iterate it, or ``.start(fn)``."""
        return BufferedStream(self._lines(stream_type))

    def get_stream(self, converter: JsonConverter | None = None, stream_type: StreamType = StreamType.RESULT) -> Stream:
        """The rows (or errors) as text with offsets: ``.start(fn)`` calls ``fn(JsonConverterOutput)``."""
        if converter is None:
            converter = JsonConverter()
        if not isinstance(converter, JsonConverter):
            raise TypeError(f"converter must be a JsonConverter (lb.JsonConverter()), found {converter!r}")
        return Stream(self._lines(stream_type), converter)

    @property
    def result(self) -> list[dict[str, Any]]:
        """Every row in memory (fine for small exports; stream big ones with ``get_buffered_stream``)."""
        return [output.json for output in self.get_buffered_stream()]

    def __repr__(self) -> str:
        return f"<ExportTask {self.uid} status={self.status} rows={self.info.rows}>"


__all__ = [
    "BufferedJsonConverterOutput",
    "BufferedStream",
    "ExportTask",
    "ExportTaskError",
    "ExportTaskInfo",
    "JsonConverter",
    "JsonConverterOutput",
    "Stream",
    "StreamType",
]
