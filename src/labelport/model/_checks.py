"""Small constructor checks shared by the model: each raises a sentence naming the value found."""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar

from labelport.errors import ValidationError

E = TypeVar("E", bound=Enum)


def finite(value: Any, field: str) -> float:
    """Return ``value`` as a finite float, or raise naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{field} must be a number, found {value!r}", field=field, value=value)
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise ValidationError(f"{field} must be finite, found {value!r}", field=field, value=value)
    return number


def confidence(value: float | None, field: str = "confidence") -> float | None:
    if value is None:
        return None
    number = finite(value, field)
    if not 0.0 <= number <= 1.0:
        raise ValidationError(f"{field} must be between 0 and 1, found {value!r}", field=field, value=value)
    return number


def non_empty(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string, found {value!r}", field=field, value=value)
    return value


def non_negative_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{field} must be a non-negative integer, found {value!r}", field=field, value=value)
    return value


def enum_value(enum: type[E], value: Any, field: str) -> E:
    """Accept an enum member, its value or its name (any case) and normalise once, at the boundary."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        for member in enum:
            if value == member.value or value.lower() in {str(member.value).lower(), member.name.lower()}:
                return member
    allowed = ", ".join(str(m.value) for m in enum)
    raise ValidationError(f"{field} must be one of {allowed}; found {value!r}", field=field, value=value)


def unique_names(names: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValidationError(
                f"two nodes named {name!r} under {where}: names must be unique among siblings",
                field="name",
                value=name,
            )
        seen.add(name)
