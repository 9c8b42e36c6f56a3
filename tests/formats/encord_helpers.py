"""Helpers for the Encord tests: the fixture corpus as the manifest pairs it, and annotations compared with
their coordinates rounded (a fraction of the image times its size and back is exact to about 1e-13 px)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelport.model import LabeledItem, decoded
from labelport.model.pixels import Pixels

from ..fixtures import ENCORD

MANIFEST: dict[str, Any] = json.loads((ENCORD / "manifest.json").read_text())


def label_rows(path: Path) -> list[dict[str, Any]]:
    """The label rows of a fixture file (an array of rows, or one row)."""
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else [data]


def paired() -> list[tuple[Path, Path | None]]:
    """Every label row fixture (data groups aside: labelport has no media for them) with the ontology the
    manifest pairs it with."""
    return [
        (ENCORD / f["file"], ENCORD / f["ontology"] if f.get("ontology") else None)
        for f in MANIFEST["files"]
        if f.get("kind") == "label_row" and "group" not in f.get("data_types", [])
    ]


def rounded(value: Any, digits: int = 6) -> Any:
    """``value`` (model objects included) with floats rounded and pixels replaced by a digest of their array."""
    if isinstance(value, float):
        return round(value, digits) + 0.0
    if isinstance(value, Pixels):
        array = np.ascontiguousarray(value.array())
        return ("pixels", array.shape, hashlib.sha1(array.tobytes()).hexdigest())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = tuple((f.name, rounded(getattr(value, f.name), digits)) for f in dataclasses.fields(value))
        return (type(value).__name__, *fields)
    if isinstance(value, tuple | list):
        return tuple(rounded(v, digits) for v in value)
    return value


def comparable(items: Sequence[LabeledItem]) -> list[Any]:
    """(data row, label kind, annotations rounded) of each item."""
    return [
        (item.data_row, label.kind, tuple(rounded(decoded(a)) for a in label.annotations))
        for item in items
        for label in item.labels
    ]
