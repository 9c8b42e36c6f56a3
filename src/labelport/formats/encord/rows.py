"""Encord label rows: the JSON ``LabelRowV2.to_encord_dict()`` writes and Encord exports (notes/encord.md).

``read`` takes a JSON array of label rows (an Encord export), one label row, or NDJSON of rows, and yields
items and located problems (``rows_read``); ``write`` writes a JSON array of label rows (``rows_write``).
Options of ``read``: ``match`` (data_hash, data_title or both) and ``tolerance``; ``ctx.ontology`` (the
project's, or the Encord ontology matched to it) resolves every ``featureHash``, and ``ctx.media`` (the
project's data rows) places DICOM slices by their instance UIDs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from labelport.formats.base import (
    Detection,
    Problem,
    ReadContext,
    Sink,
    Source,
    WriteContext,
    WriteReport,
    open_sink,
    sniff,
)
from labelport.formats.encord.fields import DATA_HASH, DATA_UNITS, LABEL_HASH
from labelport.formats.encord.ontology import load_ontology, match_ontology
from labelport.formats.encord.rows_read import read_rows
from labelport.formats.encord.rows_write import write_rows
from labelport.model.item import LabeledItem
from labelport.model.ontology import Ontology

NAME = "encord_label_rows"
# An Encord item is a whole label row: importing one replaces everything its data row had.
WHOLE_ROWS = True
_DETECT_ITEMS = 5


def read(source: Source, ctx: ReadContext | None = None) -> Iterator[LabeledItem | Problem]:
    """Items and problems of Encord label rows, in input order; never raises for bad content."""
    return read_rows(source, ctx or ReadContext())


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """Write ``items`` as a JSON array of label rows to a path (atomically) or a binary stream."""
    with open_sink(sink) as handle:
        return write_rows(items, handle, ctx or WriteContext())


def ontology_of(source: str | Path | bytes) -> Ontology:
    """The Encord ontology JSON the label rows were made with, as labelport's ontology (nodes labelport
    has no kind for are left out: label rows using them fail as unknown features)."""
    return load_ontology(source).ontology


def linked_ontology(ours: Ontology, theirs: Ontology) -> Ontology:
    """``ours`` carrying the Encord hashes of ``theirs`` on the features of the same name and kind."""
    return match_ontology(ours, theirs)


def _is_row(value: Any) -> bool:
    return type(value) is dict and LABEL_HASH in value and DATA_UNITS in value and DATA_HASH in value


def detect(source: Source) -> Detection:
    """How likely ``source`` is Encord label rows, from its first few values (never its file name)."""
    head = sniff(source, _DETECT_ITEMS)
    if isinstance(head, Detection):
        return head
    values = [item.value for item in head if item.error is None]
    if not values:
        return Detection(0.0, "no JSON objects at the start of the input")
    hits = sum(1 for v in values if _is_row(v))
    if not hits:
        return Detection(0.0, f"none of the first {len(values)} values has {LABEL_HASH}, {DATA_HASH} and {DATA_UNITS}")
    return Detection(
        0.95 * hits / len(values),
        f"{hits} of the first {len(values)} values have {LABEL_HASH}, {DATA_HASH}, {DATA_UNITS}",
    )


__all__ = ["NAME", "WHOLE_ROWS", "detect", "linked_ontology", "ontology_of", "read", "write"]
