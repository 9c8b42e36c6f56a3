"""What every format module shares: records, located problems, detection results, input sniffing.

A format module has the same shape everywhere (../STYLE.md): a constants block of field names,
``detect(source) -> Detection``, ``read(source) -> Iterator[Record | Problem]`` and ``write(records, out)``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from labelport.errors import Location, ParseError, ValidationError
from labelport.model.annotation import AnyAnnotation
from labelport.model.codec import from_json
from labelport.model.geometry import Geometry


@dataclass(frozen=True, slots=True)
class DataRowRef:
    """A data row named by exactly one of its id and its global key."""

    id: str | None = None
    global_key: str | None = None

    def __post_init__(self) -> None:
        if (self.id is None) == (self.global_key is None):
            raise ValidationError(
                "dataRow must have exactly one of id and globalKey, "
                f"found id={self.id!r}, globalKey={self.global_key!r}",
                field="dataRow",
                value={"id": self.id, "globalKey": self.global_key},
            )

    def as_labelbox(self) -> dict[str, str]:
        return {"id": self.id} if self.id is not None else {"globalKey": self.global_key or ""}


@dataclass(frozen=True, slots=True)
class Record:
    """One annotation read from an input, with the data row it belongs to and where it was found."""

    data_row: DataRowRef
    annotation: AnyAnnotation
    location: Location = field(default_factory=Location)


@dataclass(slots=True)
class EncodedRecord:
    """A plain image object already in storage form: what a reader's import fast path yields.

    Readers give one for the bulk of large files (a box, polygon, line or point with a name or schema id, a
    uuid and maybe a confidence, nothing else), so an import need not build model objects only to encode
    them again. It stands for ``record()``: ``stored`` equals ``model.codec.to_json(record().annotation)``.
    Not frozen (treat it as if it were) and its ``Location`` built on demand: frozen dataclasses cost
    several times more to create, and there is one of these per line.
    """

    data_row: DataRowRef
    uuid: str
    name: str | None
    schema_id: str | None
    geometry: type[Geometry]
    confidence: float | None
    stored: dict[str, Any]
    file: str | None = None
    line: int | None = None
    path: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.path)

    def record(self) -> Record:
        return Record(self.data_row, from_json(self.stored), self.location)


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that could not be read: where, why, the offending value, and the uuid / data row if known."""

    location: Location
    message: str
    value: Any = None
    uuid: str | None = None
    data_row: Mapping[str, Any] | None = None

    def as_error(self) -> ParseError:
        return ParseError(self.message, self.location, self.value)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class Detection:
    """How sure a format is that an input is its own (0 to 1), and why."""

    confidence: float
    reason: str


Source = str | Path | bytes | IO[bytes] | Iterable[Mapping[str, Any]]


@dataclass(slots=True)
class JsonItem:
    """One JSON value of an input with its file, 1-based line (NDJSON) or array index path, or the parse
    failure. Not frozen, and the ``Location`` built on demand: readers make one per line of large files.
    """

    value: Any
    file: str | None = None
    line: int | None = None
    path: str | None = None
    error: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.path)


def _name(source: Any) -> str | None:
    if isinstance(source, str | Path):
        return str(source)
    return getattr(source, "name", None) if hasattr(source, "read") else None


def iter_json_items(source: Source) -> Iterator[JsonItem]:
    """Yield the JSON objects of an NDJSON file, a JSON array file, or a list of dicts.

    The input is sniffed, never judged by its extension: NDJSON (one value per line, blank lines skipped),
    a JSON array (on one line or pretty-printed), or one pretty-printed object. A line that is not JSON
    becomes an item with ``error`` set, and the lines after it are still read.
    """
    if not isinstance(source, str | Path | bytes) and not hasattr(source, "read"):
        for index, value in enumerate(source):
            yield JsonItem(value, path=f"[{index}]")
        return
    file = _name(source)
    if isinstance(source, bytes):
        handle: IO[bytes] = io.BytesIO(source)
    elif isinstance(source, str | Path):
        handle = Path(source).open("rb")  # noqa: SIM115 - closed in the finally below
    else:
        handle = source  # type: ignore[assignment]
    try:
        yield from _sniffed_items(handle, file)
    finally:
        if isinstance(source, str | Path):
            handle.close()


def _sniffed_items(handle: IO[bytes], file: str | None) -> Iterator[JsonItem]:
    lines = enumerate(handle, start=1)
    for number, line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[:1] in (b"[", b"{") and not _is_json_line(stripped):
            # One JSON value spread over lines (a pretty-printed array or object): parse the whole input;
            # if that fails too, it was NDJSON with a bad first line, read line by line.
            rest = [(n, raw) for n, raw in lines]
            whole = line + b"".join(raw for _, raw in rest)
            if _is_json_line(whole):
                value = orjson.loads(whole)
                if isinstance(value, list):
                    yield from _array_items(whole, file, None)
                else:
                    yield JsonItem(value, file, number)
                return
            yield from _line_item(stripped, file, number)
            for n, raw in rest:
                if raw.strip():
                    yield from _line_item(raw.strip(), file, n)
            return
        yield from _line_item(stripped, file, number)
        break
    for number, line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        try:  # the common case inline: one object per line
            value = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            value = None
        if type(value) is dict:
            yield JsonItem(value, file, number)
        else:
            yield from _line_item(stripped, file, number)


def _line_item(line: bytes, file: str | None, number: int) -> Iterator[JsonItem]:
    """The value of one line; a line holding a JSON array (a compact array file) gives its elements."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        shown = line[:80].decode("utf-8", "replace")
        yield JsonItem(shown, file, number, error=f"not valid JSON ({exc}): {shown!r}")
        return
    if isinstance(value, list):
        for index, element in enumerate(value):
            yield JsonItem(element, file, number, f"[{index}]")
    else:
        yield JsonItem(value, file, number)


def _is_json_line(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _array_items(text: bytes, file: str | None, line: int | None) -> Iterator[JsonItem]:
    try:
        values = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield JsonItem(None, file, line, error=f"not valid JSON: {exc}")
        return
    for index, value in enumerate(values):
        yield JsonItem(value, file, line, f"[{index}]")


def dumps_line(value: Mapping[str, Any]) -> bytes:
    return orjson.dumps(value) + b"\n"
