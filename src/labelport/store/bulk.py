"""Fast bulk inserts with values prepared as the dialect stores them: one driver-level ``executemany`` on
SQLite, ``COPY ... FROM STDIN`` on PostgreSQL.

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


class BulkRows:
    """Rows of ``table`` with the columns ``names``, as tuples already in the form the dialect stores.

    ``of(row)`` converts a dict; hot loops may build the tuples themselves, with ``json()`` and
    ``datetime()`` for those columns. ``insert(rows)`` writes them with one driver-level executemany on
    SQLite, and with ``COPY ... FROM STDIN`` on PostgreSQL (psycopg 3), several times faster than inserts.
    """

    def __init__(self, conn: sa.Connection, table: sa.Table, names: Sequence[str]) -> None:
        self._conn = conn
        self.names = tuple(names)
        self._sqlite = conn.dialect.name == "sqlite"
        self._converters = [
            (i, c) for i, name in enumerate(self.names) if (c := _converter(table.c[name], self._sqlite)) is not None
        ]
        self._pick = itemgetter(*self.names)
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        quote = conn.dialect.identifier_preparer.quote
        columns = f"{quote(table.name)} ({', '.join(quote(n) for n in self.names)})"
        self._sql = f"INSERT INTO {columns} VALUES ({', '.join(marker for _ in self.names)})"
        self._copy = f"COPY {columns} FROM STDIN" if conn.dialect.driver == "psycopg" else None

    @staticmethod
    def json(value: Any) -> Any:
        return _json(value)

    @staticmethod
    def json_text(items: str) -> str:
        """A JSON array column value from its items already serialised and joined with commas."""
        return "[" + items + "]"

    def datetime(self, value: datetime | None) -> Any:
        return _datetime(value) if self._sqlite else value

    def of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        picked = self._pick(row)
        record = list(picked) if len(self.names) > 1 else [picked]
        for index, convert in self._converters:
            record[index] = convert(record[index])
        return tuple(record)

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self._copy is None:
            self._conn.exec_driver_sql(self._sql, list(rows))
            return
        # The copy runs on the connection's open transaction, like the statements around it.
        with self._conn.connection.driver_connection.cursor() as cursor, cursor.copy(self._copy) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
