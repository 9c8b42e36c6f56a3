"""LabeledItem: one data row with its labels, the unit every format reads and writes.

A reader yields items as it finds them: a Labelbox NDJSON line is an item with one annotation, an Encord
label row an item with all the objects of its data unit, an export row an item with the data row's media,
labels and review state. Several items may name the same data row; an importer merges them. The data row is
named by a ``DataRowKey`` (the input's identifiers) and, where the input or the store knows it, described
by ``media`` (identifiers, media kind, geometry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelport.errors import Location, ValidationError
from labelport.model.label import Label, LabelKind
from labelport.model.media import DataRow
from labelport.model.ontology import Ontology
from labelport.model.workflow import HistoryEntry, WorkflowStatus

_KEY_FIELDS = ("id", "global_key", "external_id")


@dataclass(frozen=True, slots=True)
class DataRowKey:
    """How an input names a data row: our ``id``, its ``global_key``, an ``external_id`` (another platform's id),
    and/or ``names``: values that may be either a global key or an external id (an Encord ``data_hash`` or
    ``data_title``). At least one is given; the importer resolves them in that order.
    """

    id: str | None = None
    global_key: str | None = None
    external_id: str | None = None
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _KEY_FIELDS:
            value = getattr(self, name)
            if value is not None and (type(value) is not str or not value):
                raise ValidationError(
                    f"data row {name} must be a non-empty string, found {value!r}",
                    field=f"data_row.{name}",
                    value=value,
                )
        if type(self.names) is not tuple:
            object.__setattr__(self, "names", tuple(self.names))
        if any(type(n) is not str or not n for n in self.names):
            raise ValidationError(
                f"data row names must be non-empty strings, found {list(self.names)!r}",
                field="data_row.names",
                value=list(self.names),
            )
        if self.id is None and self.global_key is None and self.external_id is None and not self.names:
            raise ValidationError("a data row needs an id, a global key, an external id or a name", field="data_row")

    def as_dict(self) -> dict[str, Any]:
        """The identifiers given, JSON-ready (``names`` as a list), in a stable order."""
        out: dict[str, Any] = {name: getattr(self, name) for name in _KEY_FIELDS if getattr(self, name) is not None}
        if self.names:
            out["names"] = list(self.names)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataRowKey:
        return cls(
            id=data.get("id"),
            global_key=data.get("global_key"),
            external_id=data.get("external_id"),
            names=tuple(data.get("names") or ()),
        )

    def __str__(self) -> str:
        shown = [f"{name.replace('_', ' ')} {getattr(self, name)!r}" for name in _KEY_FIELDS if getattr(self, name)]
        if self.names:
            shown.append(" or ".join(repr(n) for n in self.names))
        return ", ".join(shown)


@dataclass(frozen=True, slots=True)
class ItemReview:
    """Where an exported data row stands in a project: its batch, workflow status and history, and the data
    row's own dataset, creator and activity times."""

    project_id: str
    project_name: str
    ontology_id: str | None = None
    batch_id: str | None = None
    batch_name: str | None = None
    priority: int | None = None
    status: WorkflowStatus = WorkflowStatus.TO_LABEL
    task_name: str | None = None
    history: tuple[HistoryEntry, ...] = ()
    dataset_name: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_activity_at: datetime | None = None


@dataclass(slots=True)
class LabeledItem:
    """A data row, its labels by kind, the media when known, and the ontology features they use.

    Not frozen (treat it as if it were): readers of large files make one per line. ``file``/``line``/``path``
    locate the item in its input; ``paths`` the annotations inside it (uuid -> JSON path under ``path``),
    for items that hold many. ``ontology`` carries the features when the input defines them (an Encord
    label row with its ontology); ``review`` the project-side state of exported rows.
    """

    data_row: DataRowKey
    labels: tuple[Label, ...] = ()
    media: DataRow | None = None
    ontology: Ontology | None = None
    review: ItemReview | None = None
    file: str | None = None
    line: int | None = None
    path: str | None = None
    paths: Mapping[str, str] | None = None

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.path)

    def location_of(self, uuid: str | None) -> Location:
        """Where the annotation ``uuid`` was found: the item's location, refined by its path inside the item."""
        return Location(self.file, self.line, self.path_of(uuid))

    def path_of(self, uuid: str | None) -> str | None:
        """The JSON path of the annotation ``uuid`` (``location_of``'s, without making a ``Location``)."""
        inner = self.paths.get(uuid) if self.paths and uuid is not None else None
        if not inner:
            return self.path
        return f"{self.path}.{inner}" if self.path and not inner.startswith("[") else (self.path or "") + inner

    def label(self, kind: LabelKind) -> Label | None:
        return next((label for label in self.labels if label.kind is kind), None)

    def annotation_count(self) -> int:
        return sum(len(label.annotations) for label in self.labels)


__all__ = ["DataRowKey", "ItemReview", "LabeledItem"]
