"""Labelbox NDJSON: the annotation import format, one JSON object per line (notes/labelbox.md section 2).

``read`` yields one ``LabeledItem`` per line, holding its one annotation, or a located ``Problem`` for a bad
line while the lines after it are still read. Plain image objects take a fast path (``ndjson_fast``) and
arrive as ``EncodedAnnotation``; every other line is read by ``ndjson_read``. The label kind is the caller's
(``ctx.label_kind``): the same file imports as pre-labels or as ground truth. ``write`` writes what the
labelbox SDK's ``NDJsonConverter.serialize`` writes (``ndjson_write``). Frames are 1-based on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from labelport.formats.base import (
    Detection,
    Problem,
    ReadContext,
    Sink,
    Source,
    WriteContext,
    WriteReport,
    iter_json_items,
    open_sink,
    sniff,
)
from labelport.formats.labelbox.fields import (
    ANNOTATION_KEYS,
    DATA_ROW,
    FEATURE_NAME,
    GLOBAL_KEY,
    ID,
    MASKS,
    SCHEMA_ID,
    UUID,
)
from labelport.formats.labelbox.ndjson_fast import encoded_item
from labelport.formats.labelbox.ndjson_read import item_of
from labelport.formats.labelbox.ndjson_write import write_items
from labelport.model.item import DataRowKey, LabeledItem

NAME = "labelbox_ndjson"
FILE_NAME = "annotations.ndjson"  # what an export job writes
_DETECT_ITEMS = 5


def read(source: Source, ctx: ReadContext | None = None) -> Iterator[LabeledItem | Problem]:
    """Read Labelbox NDJSON (a path, bytes, a binary stream, a JSON array file, or a list of dicts).

    Yields one item per good line and one located ``Problem`` per bad line, in input order; never raises for
    bad content (I/O errors opening a path still raise). Option ``fast`` (default true): plain image objects
    come as ``EncodedAnnotation``; false reads every line into model objects.
    """
    context = ctx or ReadContext()
    kind = context.label_kind
    fast = context.options.get("fast", True)
    refs: dict[tuple[str, str], DataRowKey] = {}
    for item in iter_json_items(source):
        if item.error is not None:
            yield Problem(item.location, item.error, item.value)
        elif fast:
            yield encoded_item(item, refs, kind) or item_of(item.value, kind, item.file, item.line, item.path)
        else:
            yield item_of(item.value, kind, item.file, item.line, item.path)


def write(items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
    """Write every annotation of ``items`` as NDJSON lines to a path (atomically) or a binary stream."""
    with open_sink(sink) as handle:
        return write_items(items, handle, ctx or WriteContext())


def _looks_like_ours(value: Any) -> str | None:
    """The Labelbox key that makes ``value`` look like an NDJSON annotation, or None."""
    if type(value) is not dict:
        return None
    row = value.get(DATA_ROW)
    if type(row) is not dict or not (ID in row or GLOBAL_KEY in row):
        return None
    if not (UUID in value or FEATURE_NAME in value or SCHEMA_ID in value or MASKS in value):
        return None
    return next((key for key in ANNOTATION_KEYS if key in value), None)


def detect(source: Source) -> Detection:
    """How likely ``source`` is Labelbox NDJSON, from its first few objects (never its file name)."""
    head = sniff(source, _DETECT_ITEMS)
    if isinstance(head, Detection):
        return head
    values = [item.value for item in head if item.error is None]
    if not values:
        return Detection(0.0, "no JSON objects in the first lines")
    keys = [_looks_like_ours(v) for v in values]
    hits = [k for k in keys if k is not None]
    if not hits:
        return Detection(0.0, f"none of the first {len(values)} objects has {DATA_ROW} and a Labelbox annotation key")
    confidence = 0.95 * len(hits) / len(values)
    shown = ", ".join(sorted(set(hits)))
    return Detection(
        confidence,
        f"{len(hits)} of the first {len(values)} objects have {DATA_ROW}, uuid/name/schemaId and {shown}",
    )


__all__ = ["NAME", "detect", "read", "write"]
