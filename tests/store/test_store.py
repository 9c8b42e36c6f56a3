"""The store on both backends: migrations give exactly the schema, constraints hold, blobs dedupe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from labelport.store import BlobStore, Database
from labelport.store.schema import batches, blobs, metadata, organizations, projects


def test_migrations_produce_the_declared_schema(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert db.current_revision() == db.head_revision() == "0002"
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
        assert db.integrity_check() == []
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def _project(conn: sa.Connection) -> str:
    now = datetime.now(UTC)
    conn.execute(organizations.insert().values(id="org1", name="o", created_at=now))
    conn.execute(
        projects.insert().values(
            id="p1", organization_id="org1", name="p", media_type="dicom", settings={}, created_at=now
        )
    )
    return "p1"


@pytest.mark.parametrize("priority", [0, 6])
def test_database_rejects_priority_outside_1_to_5(database_url: str, priority: int) -> None:
    db = Database(database_url)
    try:
        with db.write() as conn:
            _project(conn)
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(
                batches.insert().values(
                    id="b1", project_id="p1", name="b", priority=priority, created_at=datetime.now(UTC)
                )
            )
    finally:
        db.dispose()


def test_database_rejects_foreign_keys_to_nothing(database_url: str) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(
                batches.insert().values(id="b1", project_id="nope", name="b", priority=3, created_at=datetime.now(UTC))
            )
    finally:
        db.dispose()


def test_blob_store_keeps_identical_content_once(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    store = BlobStore(tmp_path / "blobs")
    try:
        with db.write() as conn:
            first = store.put(conn, b"same mask", "image/png")
            second = store.put(conn, b"same mask", "image/png")
            other = store.put(conn, b"other mask", "image/png")
        assert first == second != other
        assert store.get(first) == b"same mask"
        with db.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(blobs)).scalar_one() == 2
        assert len([p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]) == 2
    finally:
        db.dispose()
