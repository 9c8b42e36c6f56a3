"""Argument checks of the SDK verbs: a wrong type is a ``TypeError`` naming the parameter, what it accepts and
what was found, before anything is sent or stored (Python's own convention for a call made wrongly)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def found(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown[:80] + '...' if len(shown) > 80 else shown}"


def text(value: Any, name: str, *, optional: bool = False) -> str | None:
    """``value`` when it is a string (or None, when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        accepts = "a string or None" if optional else "a string"
        raise TypeError(f"{name} must be {accepts}, found {found(value)}")
    return value


def mapping(value: Any, name: str, *, optional: bool = True) -> Mapping[str, Any] | None:
    if value is None and optional:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict{' or None' if optional else ''}, found {found(value)}")
    return value


def strings(value: Any, name: str, *, optional: bool = True) -> list[str] | None:
    """A list of strings (a lone string is refused: it would be read as its characters)."""
    if value is None and optional:
        return None
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of strings, found {found(value)}")
    items = list(value)
    bad = next((v for v in items if not isinstance(v, str)), None)
    if bad is not None:
        raise TypeError(f"{name} must be a list of strings, found an item {found(bad)}")
    return items


def integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, found {found(value)}")
    return value


def path(value: Any, name: str) -> Path:
    if not isinstance(value, str | Path):
        raise TypeError(f"{name} must be a file path (str or pathlib.Path), found {found(value)}")
    return Path(value)


def listed(value: Any, name: str, accepts: str) -> list[Any]:
    """A list (or other iterable, not a string or a single dict) of items."""
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a list of {accepts}, found {found(value)}")
    if isinstance(value, Mapping):
        raise TypeError(f"{name} must be a list of {accepts}, found one dict (wrap it in a list: [{{...}}])")
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of {accepts}, found {found(value)}")
    return list(value)
