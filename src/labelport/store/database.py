"""Opening the database: SQLite (WAL, foreign keys on) under ``$LABELPORT_HOME`` or any SQLAlchemy URL.

``LABELPORT_DATABASE_URL`` (e.g. ``postgresql+psycopg://user@host/db``) selects PostgreSQL. The schema
is brought to the newest Alembic revision when a database is opened.

Transactions (``write()``, ``read()``) turn database failures into labelport errors that name no SQL:
what only the database can tell (a uniqueness or foreign-key rule, a value too long) becomes
ConflictError or ValidationError, a locked SQLite StoreBusyError, anything else StoreError, with the
database's own error kept as the cause for the log.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from labelport.errors import ConflictError, LabelportError, StoreBusyError, StoreError, ValidationError

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x6C61_6265  # the PostgreSQL advisory lock key migrations hold ("labe")


def default_home() -> Path:
    """``$LABELPORT_HOME``, or ``./.labelport`` beside where labelport runs."""
    return Path(os.environ.get("LABELPORT_HOME") or ".labelport").absolute()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


@contextmanager
def store_errors() -> Iterator[None]:
    """Database failures as labelport errors whose messages name no internals (the cause keeps them)."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        raise ConflictError("the change conflicts with data already stored") from exc
    except sa.exc.DataError as exc:
        raise ValidationError("a value is not acceptable to the database (too long or invalid)") from exc
    except sa.exc.OperationalError as exc:
        # SQLite's lock timeout; PostgreSQL's deadlock and serialisation failures: retrying succeeds.
        if "locked" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) in ("40001", "40P01"):
            raise StoreBusyError("the store is busy with another write (a large import?); retry shortly") from exc
        raise StoreError("the database failed; see the server's log") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError("the database failed; see the server's log") from exc


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (its WAL and shared-memory files copy the mode);
    an existing file of ours is made so too."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(OSError):  # gone, or someone else's file: leave its mode to its owner
                if file.stat().st_mode & 0o077:
                    os.chmod(file, 0o600)
    except OSError:
        return  # a folder that does not exist: SQLite says so with its own error


def _alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


class Database:
    """An engine on the configured database, migrated to the newest schema."""

    def __init__(self, url: str | None = None, *, home: Path | None = None, migrate: bool = True) -> None:
        url = url or os.environ.get("LABELPORT_DATABASE_URL")
        if not url:
            home = home or default_home()
            home.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{home / 'labelport.db'}"
        self.url = sa.make_url(url)
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            _private_file(Path(self.url.database))
        self.engine = self._engine()
        if migrate:
            self.migrate()

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def _engine(self) -> sa.Engine:
        if self.is_sqlite:
            engine = sa.create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": 30},
                json_serializer=_json_dumps,
                json_deserializer=orjson.loads,
            )
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            # Issue BEGIN ourselves so pysqlite transactions (and their rollback) are real; writers take the
            # write lock up front (IMMEDIATE) so two writers wait for each other instead of failing.
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        if self.url.get_backend_name() != "postgresql":
            raise LabelportError(
                f"unsupported database {self.url.get_backend_name()!r} in {self.url.render_as_string()}; "
                "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
            )
        return sa.create_engine(
            self.url, pool_pre_ping=True, json_serializer=_json_dumps, json_deserializer=orjson.loads
        )

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        with store_errors(), self.engine.connect() as conn:
            conn.execution_options(write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with store_errors(), self.engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision (idempotent). On PostgreSQL, under an advisory lock:
        replicas starting together on a new release migrate once, the others wait and find it done."""
        if self.current_revision() == self.head_revision():
            return
        if self.is_sqlite:
            command.upgrade(_alembic_config(self.engine), "head")
            return
        with self.engine.connect() as lock:
            lock.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            try:
                if self.current_revision() != self.head_revision():
                    command.upgrade(_alembic_config(self.engine), "head")
            finally:
                lock.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(_alembic_config(self.engine)).get_current_head()

    def integrity_check(self) -> list[str]:
        """Problems the database itself reports (SQLite ``integrity_check`` and foreign keys)."""
        if not self.is_sqlite:
            return []
        with self.engine.connect() as conn:
            problems = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check") if r[0] != "ok"]
            problems += [repr(tuple(r)) for r in conn.exec_driver_sql("PRAGMA foreign_key_check")]
        return problems

    def dispose(self) -> None:
        self.engine.dispose()
