"""Test helpers: items as (data row, annotation) pairs, one annotation per item, the way NDJSON holds them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labelport.formats.base import Problem
from labelport.model import AnyAnnotation, DataRowKey, Label, LabeledItem, LabelKind, decoded


@dataclass(frozen=True)
class Record:
    """One annotation and the data row it belongs to (the shape of one NDJSON line)."""

    data_row: DataRowKey
    annotation: AnyAnnotation


def DataRowRef(id: str | None = None, global_key: str | None = None) -> DataRowKey:
    return DataRowKey(id=id, global_key=global_key)


def records_of(items: Iterable[LabeledItem | Problem]) -> tuple[list[Record], list[Problem]]:
    """Every annotation of the items (decoded), and the problems."""
    records: list[Record] = []
    problems: list[Problem] = []
    for item in items:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        for label in item.labels:
            records.extend(Record(item.data_row, decoded(a)) for a in label.annotations)
    return records, problems


def items_of(records: Sequence[Record], kind: LabelKind = LabelKind.GROUND_TRUTH) -> list[LabeledItem]:
    return [LabeledItem(r.data_row, (Label(kind, (r.annotation,)),)) for r in records]
