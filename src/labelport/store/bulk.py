"""Fast bulk inserts: one driver-level ``executemany`` with values prepared as the dialect stores them.

SQLAlchemy's per-row bind processing dominates large imports; here JSON is serialised once with orjson
and timestamps are rendered the way SQLAlchemy renders them for SQLite, so rows read back identically
through the ordinary Core queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa


def _json(value: Any) -> Any:
    return None if value is None else orjson.dumps(value).decode()


@lru_cache(maxsize=64)
def _sqlite_datetime(value: datetime) -> str:
    # Rows of one import share a timestamp: render it once.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _datetime(value: Any) -> Any:
    return None if value is None else _sqlite_datetime(value)


def _converter(column: sa.Column[Any], sqlite: bool) -> Callable[[Any], Any] | None:
    if isinstance(column.type, sa.JSON) or isinstance(getattr(column.type, "impl", None), sa.JSON):
        return _json
    if isinstance(column.type, sa.DateTime) and sqlite:
        return _datetime
    return None


def insert_many(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in one executemany."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    names = list(rows[0].keys())
    converters = [(i, c) for i, name in enumerate(names) if (c := _converter(table.c[name], sqlite)) is not None]
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join(marker for _ in names)})"
    )
    pick = itemgetter(*names)
    values = []
    for row in rows:
        picked = pick(row)
        record = list(picked) if len(names) > 1 else [picked]
        for index, convert in converters:
            record[index] = convert(record[index])
        values.append(tuple(record))
    conn.exec_driver_sql(sql, values)
