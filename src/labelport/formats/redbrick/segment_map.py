"""A series' ``segmentMap``: file values to taxonomy categories, in every form RedBrick accepts.

Keys are the integer values in the files, written as strings. A value is a category name (``"liver"``), a
taxonomy class id (``3``), a category path (``["Organ", "Kidney"]``, or Taxonomy-V1's ``[["object",
"liver"]]``), or the full object ``{"category", "attributes", "mask", "overlappingGroups", "id", ...}``.
``binaryMask``, ``semanticMask`` and ``pngMask`` may sit inside the map (the docs' legacy placement) as
well as on the series. A category path names the feature ``"Organ/Kidney"`` (its parts joined by ``/``,
Taxonomy-V1's ``object`` root left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labelport.errors import ValidationError
from labelport.formats.redbrick import fields as f

MAX_VALUE = 65535


class RecordError(ValidationError):
    """A task of the items list that cannot be imported: the message names the task and series; ``where``
    is the JSON path inside the task (``series[0].segmentMap.2``)."""

    def __init__(self, message: str, where: str = "", value: Any = None) -> None:
        super().__init__(message, field=where or None, value=value)
        self.where = where


@dataclass(frozen=True, slots=True)
class Category:
    """What a segmentMap value (or an annotation's ``category``) names: a feature name, or a class id."""

    name: str | None = None
    class_id: int | None = None

    def __str__(self) -> str:
        return repr(self.name) if self.name is not None else f"class id {self.class_id}"


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    """One segmentMap entry: the file value (instance), its category and attributes, its binary mask file
    (as written in the items list), the overlap groups it owns, and RedBrick's label id when given."""

    instance: int
    category: Category
    attributes: Mapping[str, Any] = field(default_factory=dict)
    mask: str | None = None
    groups: tuple[int, ...] = ()
    label_id: str | None = None


@dataclass(frozen=True, slots=True)
class SegmentMap:
    """The entries in key order, and the mask flags found inside the map (None: not given there)."""

    entries: tuple[SegmentEntry, ...] = ()
    flags: Mapping[str, bool] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[int, ...]:
        return tuple(e.instance for e in self.entries)

    def entry(self, instance: int) -> SegmentEntry | None:
        return next((e for e in self.entries if e.instance == instance), None)


def parse_category(raw: Any, where: str) -> Category:
    """A category in any of RedBrick's forms; anything else is a RecordError naming it."""
    if isinstance(raw, bool):
        raise RecordError(f"{where}: invalid category {raw!r}", where, raw)
    if isinstance(raw, int):
        if raw < 0:
            raise RecordError(f"{where}: a category class id is >= 0, found {raw}", where, raw)
        return Category(class_id=raw)
    if isinstance(raw, str):
        if not raw.strip():
            raise RecordError(f"{where}: category is empty", where, raw)
        return Category(name=raw)
    if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], list):
        raw = raw[0]
    if isinstance(raw, list) and raw and all(isinstance(part, str) and part.strip() for part in raw):
        parts = raw[1:] if len(raw) > 1 and raw[0] == f.CATEGORY_ROOT else raw
        return Category(name="/".join(parts))
    raise RecordError(
        f'{where}: invalid category {raw!r}; give a name, a class id, a path of names or {{"category": ...}}',
        where,
        raw,
    )


def parse_attributes(raw: Any, where: str) -> dict[str, Any]:
    """``{name: value}``, or Taxonomy-V2's ``[{"name", "value", ...}]`` list, as one mapping."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        for name in raw:
            if not isinstance(name, str) or not name.strip():
                raise RecordError(f"{where}: attribute names are non-empty strings, found {name!r}", where, name)
        return dict(raw)
    if isinstance(raw, list):
        out: dict[str, Any] = {}
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping) or not isinstance(item.get(f.NAME), str) or "value" not in item:
                raise RecordError(f'{where}[{index}]: an attribute is {{"name", "value"}}, found {item!r}', where, item)
            out[item[f.NAME]] = item["value"]
        return out
    raise RecordError(f"{where}: attributes are an object of name: value, found {raw!r}", where, raw)


def _instance(key: Any, where: str) -> int:
    text = str(key).strip()
    if not text.isdigit():
        raise RecordError(f"{where}: segmentMap keys are the integer values in the files, found {key!r}", where, key)
    value = int(text)
    if not 1 <= value <= MAX_VALUE:
        raise RecordError(f"{where}: segmentMap key {value} is outside 1..{MAX_VALUE}", where, key)
    return value


def _groups(raw: Any, where: str) -> tuple[int, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in raw):
        raise RecordError(f"{where}: overlappingGroups is a list of positive integers, found {raw!r}", where, raw)
    return tuple(sorted(set(raw)))


def parse_segment_map(raw: Any, where: str) -> SegmentMap:
    """The segmentMap of a series (``where``: its path for messages, e.g. ``series[0].segmentMap``)."""
    if raw is None:
        return SegmentMap()
    if not isinstance(raw, Mapping):
        raise RecordError(f"{where}: segmentMap is an object of value: category, found {raw!r}", where, raw)
    entries: list[SegmentEntry] = []
    flags: dict[str, bool] = {}
    for key, value in raw.items():
        at = f"{where}.{key}"
        if key in f.MASK_FLAGS:
            if not isinstance(value, bool):
                raise RecordError(f"{at}: {key} is true or false, found {value!r}", at, value)
            flags[key] = value
            continue
        instance = _instance(key, at)
        if isinstance(value, Mapping):
            if f.CATEGORY not in value:
                raise RecordError(f"{at}: the entry has no category", at, dict(value))
            mask = value.get(f.MASK)
            if mask is not None and (not isinstance(mask, str) or not mask.strip()):
                raise RecordError(f"{at}.mask: a mask is a file path, found {mask!r}", f"{at}.mask", mask)
            label_id = value.get(f.LABEL_ID)
            entries.append(
                SegmentEntry(
                    instance,
                    parse_category(value[f.CATEGORY], f"{at}.category"),
                    parse_attributes(value.get(f.ATTRIBUTES), f"{at}.attributes"),
                    mask,
                    _groups(value.get(f.OVERLAPPING_GROUPS), f"{at}.overlappingGroups"),
                    label_id if isinstance(label_id, str) and label_id else None,
                )
            )
        else:
            entries.append(SegmentEntry(instance, parse_category(value, at)))
    seen: set[int] = set()
    for entry in entries:
        if entry.instance in seen:
            raise RecordError(f"{where}: value {entry.instance} is mapped twice", where, entry.instance)
        seen.add(entry.instance)
    return SegmentMap(tuple(entries), flags)


__all__ = [
    "Category",
    "RecordError",
    "SegmentEntry",
    "SegmentMap",
    "parse_attributes",
    "parse_category",
    "parse_segment_map",
]
