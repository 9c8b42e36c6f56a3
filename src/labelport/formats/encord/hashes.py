"""Encord's object and classification hashes as labelport uuids, and back.

Encord names an object by an ``objectHash`` (8 base64 characters on the platform; the SDK accepts any
string); labelport annotations are named by uuids. A hash of up to 14 printable ASCII characters is packed
into a version 8 (custom) uuid, so it comes back unchanged on export and an object imported twice replaces
itself. A hash that is a uuid is kept as it is; any other hash maps to a uuid5 of it (the original cannot
be recovered from it, so such an object is exported under its uuid).
"""

from __future__ import annotations

import uuid as uuid_module

from labelport.model.annotation import CANONICAL_UUID

# 16 bits that mark a uuid packed here; with the version (4 bits) and variant (2 bits) of a version 8 uuid
# they leave 106 bits: a 4-bit length and 14 characters of 7 bits.
_MARK = 0xE4C0
_MAX_CHARS = 14
_NAMESPACE = uuid_module.UUID("6f1c3a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b")


def _spread(payload: int) -> int:
    """122 payload bits around the version and variant fields of a version 8 uuid."""
    high = payload >> 74  # 48 bits
    middle = (payload >> 62) & 0xFFF  # 12 bits
    low = payload & ((1 << 62) - 1)  # 62 bits
    return (high << 80) | (0x8 << 76) | (middle << 64) | (0b10 << 62) | low


def _gather(value: int) -> int:
    high = value >> 80
    middle = (value >> 64) & 0xFFF
    low = value & ((1 << 62) - 1)
    return (high << 74) | (middle << 62) | low


def uuid_of_hash(value: str) -> str:
    """The uuid labelport gives the Encord hash ``value`` (reversible for short ASCII hashes)."""
    if 0 < len(value) <= _MAX_CHARS and value.isascii() and value.isprintable():
        payload = 0
        for code in value.encode():
            payload = (payload << 7) | code
        payload = (_MARK << 106) | (len(value) << 102) | (payload << (7 * (_MAX_CHARS - len(value))))
        digits = f"{_spread(payload):032x}"
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    if CANONICAL_UUID.match(value):
        return value
    return str(uuid_module.uuid5(_NAMESPACE, value))


def hash_of_uuid(value: str) -> str:
    """The Encord hash a labelport uuid stands for: the packed hash, else the uuid itself."""
    try:
        parsed = uuid_module.UUID(value)
    except ValueError:
        return value
    if parsed.version != 8:
        return value
    payload = _gather(parsed.int)
    if payload >> 106 != _MARK:
        return value
    length = (payload >> 102) & 0xF
    if not 0 < length <= _MAX_CHARS:
        return value
    chars = [(payload >> (7 * (_MAX_CHARS - 1 - position))) & 0x7F for position in range(length)]
    if any(not 32 <= c < 127 for c in chars):
        return value
    return "".join(chr(c) for c in chars)


__all__ = ["hash_of_uuid", "uuid_of_hash"]
