"""Plain-JSON form of model objects, for storage: ``{"type": ClassName, field: value...}``, read back exactly.

Tuples become lists, enums their values, bytes base64; ``from_json`` rebuilds through the constructors, so
stored data is checked again when it is read.
"""

from __future__ import annotations

import base64
import dataclasses
from enum import Enum
from typing import Any

from labelport.errors import ValidationError
from labelport.model import annotation, geometry, label, media
from labelport.model.pixels import Pixels

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for module in (annotation, geometry, label, media)
    for cls in vars(module).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
}

_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls) if f.name != "type") for cls in _TYPES.values()
}
# Fields without a default are written even when empty (a checklist with no answer), or they could not be read.
_REQUIRED: dict[type, frozenset[str]] = {
    cls: frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    for cls in _TYPES.values()
}
_DEFAULT_PLACEMENT = annotation.Placement()
_TUPLE_FIELDS = {"color"}


def to_json(value: Any) -> Any:
    """A JSON-ready form of a model object (or of plain values holding model objects)."""
    kind = type(value)
    if kind is geometry.Point:
        return {"x": value.x, "y": value.y}  # compact: points are most of the stored bytes
    if kind is str or kind is float or kind is int or kind is bool:
        return value
    names = _FIELDS.get(kind)
    if names is not None:
        out: dict[str, Any] = {"type": kind.__name__}
        for name in names:
            item = getattr(value, name)
            if item is None:
                continue
            item_kind = type(item)
            if item_kind is tuple and not item and name not in _REQUIRED[kind]:
                continue
            if item_kind is annotation.Placement and item == _DEFAULT_PLACEMENT:
                continue
            out[name] = item if item_kind is str or item_kind is float else to_json(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, Pixels):
        raise ValidationError(
            f"pixels {value.key!r} are not stored inline; put them in the blob store first",
            field="mask",
            value=value.key,
        )
    if isinstance(value, tuple | list):
        if value and type(value[0]) is geometry.Point:
            return [{"x": p.x, "y": p.y} for p in value]
        return [to_json(v) for v in value]
    return value


def from_json(data: Any) -> Any:
    """Rebuild what ``to_json`` wrote; an unknown type name raises naming it."""
    if type(data) is list:
        if data and type(data[0]) is dict and "type" not in data[0] and len(data[0]) == 2 and "x" in data[0]:
            return tuple([geometry.Point(p["x"], p["y"]) for p in data])
        return tuple([from_json(v) for v in data])
    if type(data) is not dict:
        return data
    name = data.get("type")
    if name is None:
        if len(data) == 1 and "base64" in data:
            return base64.b64decode(data["base64"])
        if len(data) == 2 and "x" in data and "y" in data:
            return geometry.Point(data["x"], data["y"])
    cls = _TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValidationError(f"stored annotation has unknown type {name!r}", field="type", value=name)
    kwargs = {k: from_json(v) for k, v in data.items() if k != "type"}
    for key in _TUPLE_FIELDS & kwargs.keys():
        kwargs[key] = tuple(kwargs[key])
    return cls(**kwargs)
