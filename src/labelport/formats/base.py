"""What every format shares: the read/write contexts, located problems, detection results, write reports,
and input sniffing for JSON formats.

A format module has the same shape everywhere (STYLE.md): a ``fields`` constants block, then
``detect(source) -> Detection``, ``read(source, ctx) -> Iterator[LabeledItem | Problem]`` and
``write(items, sink, ctx) -> WriteReport``. ``ctx`` carries what the caller decides: the error policy, the
file/URL resolver (file roots, http switch), the ontology when known, and for writers the access to stored
pixels and how masks are linked. Vendor field names never leave their format's subpackage.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from labelport.errors import Location, ParseError, ValidationError
from labelport.model.geometry import RasterSource, VolumeSource
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.label import LabelKind
from labelport.model.media import DataRow, PlaneGroup
from labelport.model.ontology import Ontology


class ErrorPolicy(StrEnum):
    """What a reader's caller does with a bad record: stop at the first (``stop``), or report it and go on."""

    STOP = "stop"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that could not be read: where, why, the offending value, and the uuid / data row if known."""

    location: Location
    message: str
    value: Any = None
    uuid: str | None = None
    data_row: DataRowKey | None = None

    def as_error(self) -> ParseError:
        return ParseError(self.message, self.location, self.value)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class Resolver(Protocol):
    """Opens the files and URLs an input refers to (mask images, segmentation files, DICOM series), under the
    caller's rules: which folders may be read, whether http(s) may be fetched. Errors are ValidationErrors
    naming the reference as the input gave it, never a server path."""

    def read_bytes(self, uri: str, what: str) -> bytes: ...

    def local_path(self, uri: str, what: str) -> Path: ...


class NoFiles:
    """A resolver for inputs that must not refer to files (data handed over in memory)."""

    def read_bytes(self, uri: str, what: str) -> bytes:
        raise _refused(uri, what)

    def local_path(self, uri: str, what: str) -> Path:
        raise _refused(uri, what)


def _refused(uri: str, what: str) -> ValidationError:
    return ValidationError(f"{what} {uri!r} refers to a file, and this input may not read files", value=uri)


# The data row a key names, from the caller (a project's rows on import, the series a conversion joins);
# raises a LabelportError naming the key when it names none or several.
MediaLookup = Callable[[DataRowKey], DataRow]


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What a reader gets from its caller.

    ``label_kind`` is the kind of label for formats that do not say (NDJSON imports are pre-labels or ground
    truth by the caller's choice). ``options`` holds format-specific switches by name (documented per format).
    ``media`` finds the data rows the input names, for formats that place labels on the media's own geometry
    (an Encord DICOM label row names slices by instance UID).
    """

    policy: ErrorPolicy = ErrorPolicy.SKIP
    resolver: Resolver = field(default_factory=NoFiles)
    ontology: Ontology | None = None
    label_kind: LabelKind = LabelKind.GROUND_TRUTH
    options: Mapping[str, Any] = field(default_factory=dict)
    media: MediaLookup | None = None


@dataclass(frozen=True, slots=True)
class MaskLink:
    """One mask image an export links rather than embeds: annotation ``uuid`` of feature ``schema_id`` on
    0-based ``frame`` of ``plane`` (DICOM), from ``source`` (a stored PNG, or label ``values`` of a volume)."""

    uuid: str
    schema_id: str | None
    frame: int | None
    plane: PlaneGroup | None
    raster: RasterSource | None = None
    volume: VolumeSource | None = None
    values: tuple[int, ...] = ()


class PixelStore(Protocol):
    """Access to stored pixels for writers: mask planes and label volumes, whatever holds them."""

    def plane(self, source: RasterSource) -> npt.NDArray[Any]:
        """The mask image as an array [row, column] (grey) or [row, column, 3] (RGB composite)."""
        ...

    def png(self, source: RasterSource) -> bytes: ...

    def volume(self, source: VolumeSource, media: Any) -> npt.NDArray[Any]:
        """The label volume [column, row, slice] on the data row's grid (``media``: its ``DataRow``)."""
        ...


MaskLinker = Callable[[MaskLink, LabeledItem], str]


@dataclass(frozen=True, slots=True)
class WriteContext:
    """What a writer gets from its caller: the ontology (names, colours, platform ids), access to stored
    pixels, how masks are linked (exports that link mask images by URL), the error policy, and options."""

    ontology: Ontology | None = None
    pixels: PixelStore | None = None
    link_mask: MaskLinker | None = None
    policy: ErrorPolicy = ErrorPolicy.SKIP
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Loss:
    """Something of an item the target format cannot hold: what, how many, why; ``item`` names the data row."""

    item: str
    what: str
    reason: str
    count: int = 1

    def __str__(self) -> str:
        many = f" ({self.count})" if self.count != 1 else ""
        return f"{self.item}: {self.what}{many} dropped: {self.reason}"


@dataclass(slots=True)
class WriteReport:
    """What a writer wrote: items and annotations, what it dropped (``losses``, one entry per item, thing and
    reason, counted) and what failed (``problems``)."""

    items: int = 0
    annotations: int = 0
    losses: list[Loss] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _seen: dict[tuple[str, str, str], int] = field(default_factory=dict, repr=False)

    def lose(self, item: LabeledItem | str, what: str, reason: str, count: int = 1) -> None:
        name = item if isinstance(item, str) else str(item.data_row)
        key = (name, what, reason)
        index = self._seen.get(key)
        if index is None:
            self._seen[key] = len(self.losses)
            self.losses.append(Loss(name, what, reason, count))
        else:
            known = self.losses[index]
            self.losses[index] = Loss(name, what, reason, known.count + count)

    def merge(self, other: WriteReport) -> None:
        self.items += other.items
        self.annotations += other.annotations
        for loss in other.losses:
            self.lose(loss.item, loss.what, loss.reason, loss.count)
        self.problems.extend(other.problems)


@dataclass(frozen=True, slots=True)
class Detection:
    """How sure a format is that an input is its own (0 to 1), and why."""

    confidence: float
    reason: str


Source = str | Path | bytes | IO[bytes] | Iterable[Mapping[str, Any]]
Sink = str | Path | IO[bytes]


@contextmanager
def open_sink(sink: Sink) -> Iterator[IO[bytes]]:
    """A binary stream to write ``sink`` through. A path is written beside its final name and renamed once
    the writer is done, so a failed write leaves no partial file (and an earlier file stays as it was)."""
    if not isinstance(sink, str | Path):
        yield sink
        return
    target = Path(sink)
    if target.is_dir():
        raise ValidationError(f"output {str(sink)!r} is a folder; give a file name", field="output", value=str(sink))
    if not target.parent.is_dir():
        raise ValidationError(
            f"output folder {str(target.parent)!r} does not exist", field="output", value=str(target.parent)
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("wb") as handle:
            yield handle
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def sink_name(sink: Sink) -> str:
    return str(sink) if isinstance(sink, str | Path) else str(getattr(sink, "name", "<stream>"))


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


# How deep JSON may nest (objects and arrays): far more than any format needs (an export_v2 row with ten
# levels of nested classifications is about 40), and far less than what makes readers recurse without end.
MAX_JSON_DEPTH = 64
_BOM = b"\xef\xbb\xbf"


def json_problem(value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why a JSON value cannot be imported, or None: nesting deeper than ``limit``, or a NUL character in
    a string or a key (PostgreSQL stores none, and labelport holds SQLite to the same rule)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        current, path, depth = stack.pop()
        kind = type(current)
        if kind is str:
            if "\x00" in current:
                return f"{_where(path)} holds a NUL character (\\u0000), which labelport does not store"
            continue
        if kind is dict:
            if depth >= limit:
                return f"{_where(path)} nests JSON deeper than {limit} levels, labelport's limit"
            for key, item in current.items():
                if type(key) is str and "\x00" in key:
                    return f"a key under {_where(path)} holds a NUL character (\\u0000)"
                if type(item) in (dict, list, str):
                    stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif kind is list:
            if depth >= limit:
                return f"{_where(path)} nests JSON deeper than {limit} levels, labelport's limit"
            stack.extend(
                (item, f"{path}[{i}]", depth + 1) for i, item in enumerate(current) if type(item) in (dict, list, str)
            )
    return None


def _where(path: str) -> str:
    """A JSON path for a message: its start and end when it is long (a deep one runs to thousands)."""
    if not path:
        return "the value"
    return path if len(path) <= 100 else f"{path[:40]}...{path[-40:]}"


def _suspect(raw: bytes) -> bool:
    """Whether raw JSON text may break ``json_problem``'s rules (cheap, so most lines and arrays skip the walk).

    A NUL can only be written ``\\u0000`` (JSON has no raw control characters in strings); a value nested
    deeper than the limit makes the text's brackets nest deeper than it. A whole export on one line has far
    more brackets than the limit, so their nesting is measured (``_nesting``) rather than counted."""
    if b"\\u0000" in raw:
        return True
    if len(raw) < 4096:
        return raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH
    return _nesting(raw) > MAX_JSON_DEPTH


# Bytes that are neither quotes nor brackets, deleted before the nesting is measured.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEPS = np.zeros(256, np.int64)
_STEPS[[ord("["), ord("{")]] = 1
_STEPS[[ord("]"), ord("}")]] = -1
_NESTING_CHUNK = 1 << 20


def _nesting(raw: bytes) -> int:
    """How deep the brackets of JSON text nest (those inside strings do not count), for text that parsed as
    JSON. Vectorised: an export of 100 MB takes a fraction of a second."""
    if b"\\" in raw:  # inside strings only: escaped backslashes, then escaped quotes, which end no string
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Two quotes in a row close a string with no bracket in it, or open one after another closes: dropping
    # them changes no other quote's parity, and leaves quotes only around strings that hold brackets.
    marks = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    depth, deepest, quoted, quotes_left = 0, 0, 0, b'"' in marks
    for start in range(0, len(marks), _NESTING_CHUNK):
        chunk = np.frombuffer(marks, np.uint8, min(_NESTING_CHUNK, len(marks) - start), start)
        steps = _STEPS[chunk]
        if quotes_left:
            quotes = np.cumsum(chunk == ord('"')) + quoted
            steps[(quotes & 1) == 1] = 0
            quoted = int(quotes[-1])
        levels = np.cumsum(steps) + depth
        deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def _checked(item: JsonItem) -> JsonItem:
    problem = json_problem(item.value)
    if problem is None:
        return item
    return JsonItem(None, item.file, item.line, item.path, error=problem)


def iter_json_items(source: Source) -> Iterator[JsonItem]:
    """Yield the JSON objects of an NDJSON file, a JSON array file, or a list of dicts.

    The input is sniffed, never judged by its extension: NDJSON (one value per line, blank lines skipped),
    a JSON array (on one line or pretty-printed), or one pretty-printed object; a UTF-8 byte order mark
    before it is skipped. A line that is not JSON becomes an item with ``error`` set, and the lines after
    it are still read; so does a value nested deeper than ``MAX_JSON_DEPTH`` or holding a NUL character.
    """
    if not isinstance(source, str | Path | bytes) and not hasattr(source, "read"):
        for index, value in enumerate(source):
            yield _checked(JsonItem(value, path=f"[{index}]"))
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
        if number == 1:  # editors on Windows start UTF-8 files with a byte order mark, which JSON refuses
            line = line.removeprefix(_BOM)
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[:1] in (b"[", b"{"):
            first = _parsed(stripped)
            if first is not _NOT_JSON:
                yield from _value_items(first, file, number, _suspect(stripped))
                break
            # One JSON value spread over lines (a pretty-printed array or object): parse the whole input;
            # if that fails too, it was NDJSON with a bad first line, read line by line.
            rest = [(n, raw) for n, raw in lines]
            text = line + b"".join(raw for _, raw in rest)
            whole = _parsed(text)
            if whole is not _NOT_JSON:
                yield from _value_items(whole, file, None if isinstance(whole, list) else number, _suspect(text))
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
        if type(value) is dict and not _suspect(stripped):
            yield JsonItem(value, file, number)
        else:
            yield from _line_item(stripped, file, number)


_NOT_JSON = object()


def _parsed(text: bytes) -> Any:
    """The JSON value of ``text``, or ``_NOT_JSON`` (each input is parsed once)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _value_items(value: Any, file: str | None, line: int | None, suspect: bool = False) -> Iterator[JsonItem]:
    """An array's elements (each let go once read, so a large file's records die as they are used), or the value;
    with ``suspect`` (the raw text may nest too deeply or hold a NUL), each checked by ``json_problem``."""
    check = _checked if suspect else _unchecked
    if not isinstance(value, list):
        yield check(JsonItem(value, file, line))
        return
    for index in range(len(value)):
        element, value[index] = value[index], None
        yield check(JsonItem(element, file, line, f"[{index}]"))


def _unchecked(item: JsonItem) -> JsonItem:
    return item


def _line_item(line: bytes, file: str | None, number: int) -> Iterator[JsonItem]:
    """The value of one line; a line holding a JSON array (a compact array file) gives its elements."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        shown = line[:80].decode("utf-8", "replace")
        yield JsonItem(shown, file, number, error=f"not valid JSON ({exc}): {shown!r}")
        return
    yield from _value_items(value, file, number, _suspect(line))


def head_items(source: Source, count: int) -> list[JsonItem] | None:
    """The first ``count`` JSON items of ``source`` for detection, leaving a stream where it was; None for a
    stream that cannot be rewound (it cannot be sniffed without being consumed)."""
    if isinstance(source, str | Path | bytes):
        if isinstance(source, str | Path) and Path(source).is_dir():
            return []
        items = iter_json_items(source)
        try:
            return list(islice(items, count))
        finally:
            items.close()  # type: ignore[attr-defined]
    if hasattr(source, "read"):
        stream: IO[bytes] = source  # type: ignore[assignment]
        if not stream.seekable():
            return None
        position = stream.tell()
        try:
            return list(islice(iter_json_items(io.BytesIO(stream.read(1 << 20))), count))
        finally:
            stream.seek(position)
    return list(islice(iter_json_items(source), count))


def sniff(source: Source, count: int) -> list[JsonItem] | Detection:
    """``head_items`` for a format's ``detect``: the first ``count`` items, or the no-confidence Detection
    that says why the input cannot be sniffed (unreadable, or a stream that cannot be rewound)."""
    try:
        head = head_items(source, count)
    except (OSError, ValueError) as exc:
        return Detection(0.0, f"cannot read the input: {exc}")
    if head is None:
        return Detection(0.0, "the input is a stream that cannot be rewound, so it cannot be sniffed")
    return head


def dumps_line(value: Mapping[str, Any]) -> bytes:
    return orjson.dumps(value) + b"\n"
