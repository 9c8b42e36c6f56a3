"""Fast bulk inserts: one driver-level ``executemany`` with values prepared as the dialect stores them.

SQLAlchemy's per-row bind processing dominates large imports; here JSON is serialised once with orjson
and timestamps are rendered the way SQLAlchemy renders them for SQLite, so rows read back identically
through the ordinary Core queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa


def _converter(column: sa.Column[Any], sqlite: bool) -> Any:
    if isinstance(column.type, sa.JSON) or isinstance(getattr(column.type, "impl", None), sa.JSON):
        return lambda v: None if v is None else orjson.dumps(v).decode()
    if isinstance(column.type, sa.DateTime) and sqlite:
        return lambda v: None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f")
    return None


def insert_many(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in one executemany."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    names = list(rows[0].keys())
    columns = [table.c[name] for name in names]
    converters = [_converter(c, sqlite) for c in columns]
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join(marker for _ in names)})"
    )
    values = [
        tuple(conv(row[name]) if conv is not None else row[name] for name, conv in zip(names, converters, strict=True))
        for row in rows
    ]
    conn.exec_driver_sql(sql, values)


__all__ = ["insert_many"]
