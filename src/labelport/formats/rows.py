"""What the per-data-row writers share (NIfTI label maps, DICOM SEG, SR, RTSTRUCT): items of one data row
merged, file names from data row keys, and the output (a folder of one file per row, or one file or stream).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from labelport.errors import LabelportError, ValidationError
from labelport.formats.base import Sink, open_sink, sink_name
from labelport.model.item import LabeledItem
from labelport.model.label import Label
from labelport.model.media import DataRow

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def merged_rows(items: Iterable[LabeledItem]) -> Iterator[LabeledItem]:
    """Consecutive items of the same data row as one item (labels of a kind joined), in input order.

    An NDJSON import holds one annotation per line; a conversion groups the lines of a row before writing.
    """
    current: LabeledItem | None = None
    for item in items:
        if current is not None and current.data_row == item.data_row:
            current = _join(current, item)
            continue
        if current is not None:
            yield current
        current = item
    if current is not None:
        yield current


def _join(a: LabeledItem, b: LabeledItem) -> LabeledItem:
    labels: dict[Any, Label] = {label.kind: label for label in a.labels}
    for label in b.labels:
        known = labels.get(label.kind)
        labels[label.kind] = (
            label if known is None else replace(known, annotations=(*known.annotations, *label.annotations))
        )
    return replace(
        a,
        labels=tuple(labels.values()),
        media=a.media or b.media,
        ontology=a.ontology or b.ontology,
        review=a.review or b.review,
    )


def row_name(item: LabeledItem) -> str:
    """A file name for the item's data row: its global key, external id, first name or id, made safe."""
    key = item.data_row
    media = item.media
    raw = (
        key.global_key
        or (media.global_key if media else None)
        or key.external_id
        or (key.names[0] if key.names else None)
        or key.id
        or (media.id if media else None)
        or "row"
    )
    safe = _UNSAFE.sub("_", raw).strip("._") or "row"
    return safe[:120]


class RowOutput:
    """Where each data row's file goes: ``folder/<row name><suffix>`` when the sink is a folder (or a path that
    does not exist yet and does not end like a file of the format, ``file_suffixes``: it is created), else the
    one file or stream given, which takes exactly one data row."""

    def __init__(self, sink: Sink, suffix: str, file_suffixes: tuple[str, ...] = (".dcm",)) -> None:
        self.sink = sink
        self.suffix = suffix
        self.folder: Path | None = None
        self.used: set[str] = set()
        self.written = 0
        self.last: Path | None = None  # the file of the last row opened (None for a stream)
        if isinstance(sink, str | Path):
            path = Path(sink)
            as_file = path.name.lower().endswith(tuple(s.lower() for s in file_suffixes))
            if path.is_dir() or (not path.exists() and not as_file):
                path.mkdir(parents=True, exist_ok=True)
                self.folder = path

    @contextmanager
    def open(self, item: LabeledItem, suffix: str | None = None) -> Iterator[IO[bytes]]:
        """A stream for the item's file, written atomically; a second row to a single file is refused."""
        if self.folder is None:
            if self.written:
                raise ValidationError(
                    f"{sink_name(self.sink)} is one file and takes one data row; {item.data_row} is a second. "
                    "Give a folder to write one file per data row",
                    field="output",
                    value=sink_name(self.sink),
                )
            self.written += 1
            self.last = Path(self.sink) if isinstance(self.sink, str | Path) else None
            with open_sink(self.sink) as handle:
                yield handle
            return
        self.written += 1
        self.last = self.path(item, suffix)
        with open_sink(self.last) as handle:
            yield handle

    def path(self, item: LabeledItem, suffix: str | None = None) -> Path:
        """The file of the item in the output folder (a second row of the same name gets ``_2``)."""
        if self.folder is None:
            raise LabelportError("the output is one file, not a folder")
        name = row_name(item)
        stem, n = name, 2
        while name in self.used:
            name = f"{stem}_{n}"
            n += 1
        self.used.add(name)
        return self.folder / f"{name}{suffix or self.suffix}"


def geometry_problem(item: LabeledItem) -> str | None:
    """Why the item's data row has no volume geometry to write on, or None when it has."""
    media = item.media
    if media is None:
        return (
            "its data row's series is not known (no media): give the series it references "
            "(`labelport convert ... --series DIR`)"
        )
    attributes = media.media_attributes
    if attributes.columns is None or attributes.rows is None or attributes.slices is None:
        return f"its data row ({media.media_type.value}) has no volume geometry (columns, rows, slices)"
    return None


def require_dicom(media: DataRow | None) -> DataRow:
    """The item's DICOM data row, or a ValidationError saying why it cannot be referenced."""
    if media is None:
        raise ValidationError(
            "its data row's series is not known (no media): give the series (`labelport convert ... --series DIR`)",
            field="media",
        )
    return media


__all__ = ["RowOutput", "geometry_problem", "merged_rows", "require_dicom", "row_name"]
