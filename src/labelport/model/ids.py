"""Identifiers: 25-character cuid-shaped ids, the shape Labelbox uses for data rows and schema ids."""

from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.digits + string.ascii_lowercase


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 36)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


def new_id() -> str:
    """A new 25-character id: ``c`` + 8 time digits + 16 random digits, all lowercase base 36.

    Time-prefixed so ids sort roughly by creation; random enough never to collide in practice.
    """
    stamp = _base36(time.time_ns() // 1_000_000, 8)
    rand = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "c" + stamp + rand
