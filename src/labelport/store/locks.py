"""Named locks held until the end of a transaction, so writers of one thing take turns.

On PostgreSQL a transaction-level advisory lock (``pg_advisory_xact_lock``) on a 64-bit hash of the name;
on SQLite nothing, as write transactions take the database's one write lock up front (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa


def lock_key(name: str) -> int:
    """The signed 64-bit advisory lock key of ``name``."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def serialise(conn: sa.Connection, name: str) -> None:
    """Wait for, then hold until ``conn``'s transaction ends, the lock called ``name``."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(name))))


__all__ = ["lock_key", "serialise"]
