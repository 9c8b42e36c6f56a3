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
        assert db.current_revision() == db.head_revision() == "0004"
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


def test_migration_0003_moves_statuses_into_pages_and_back(database_url: str, tmp_path: Path) -> None:
    """Statuses written under 0002 (one row each) read back the same after the upgrade to pages."""
    from alembic import command

    from labelport.store.database import _alembic_config

    db = Database(database_url)
    now = datetime.now(UTC)
    errors = [{"name": "ValidationError", "message": "bad", "additionalInfo": {"line": 2}}]
    want = [
        (i, f"u{i}", {"globalKey": f"k{i}"}, "FAILURE" if i == 1200 else "SUCCESS", errors if i == 1200 else [])
        for i in range(1500)
    ]
    try:
        command.downgrade(_alembic_config(db.engine), "0002")
        with db.engine.begin() as conn:
            _project(conn)
            conn.execute(
                sa.text(
                    "INSERT INTO import_jobs (id, project_id, name, kind, format, state, total, succeeded, failed, "
                    "created_at) VALUES ('j1', 'p1', 'n', 'prediction', 'labelbox_ndjson', 'FINISHED', 1500, 1499, "
                    "1, :now)"
                ),
                {"now": now},
            )
            columns = [sa.column(c) for c in ("job_id", "position", "uuid", "status")]
            columns += [sa.column("data_row", sa.JSON), sa.column("errors", sa.JSON)]
            statuses = sa.table("import_statuses", *columns)
            conn.execute(
                statuses.insert(),
                [
                    {"job_id": "j1", "position": p, "uuid": u, "data_row": r, "status": s, "errors": e}
                    for p, u, r, s, e in want
                ],
            )
        command.upgrade(_alembic_config(db.engine), "0003")
        with db.engine.connect() as conn:
            pages = conn.execute(sa.text("SELECT page, failures FROM import_status_pages ORDER BY page")).all()
        assert [tuple(p) for p in pages] == [(0, 0), (1, 1)]
        db.migrate()  # the statuses read through the service on the newest schema
        from labelport.service.hub import Hub
        from labelport.service.imports import import_statuses_of

        hub = Hub(db=db, blobs=BlobStore(tmp_path / "blobs"), organization_id="org1", actor="test")
        got = import_statuses_of(hub, "j1")
        assert [(s["uuid"], s["dataRow"], s["status"], s["errors"]) for s in got] == [w[1:] for w in want]
        assert [s["uuid"] for s in import_statuses_of(hub, "j1", failures_only=True)] == ["u1200"]
        command.downgrade(_alembic_config(db.engine), "0002")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT position, uuid, status FROM import_statuses ORDER BY position")).all()
        assert [tuple(b) for b in back] == [(*w[:2], w[3]) for w in want]
    finally:
        db.migrate()
        db.dispose()


def test_bulk_rows_keep_any_text_and_json(database_url: str) -> None:
    """``BulkRows`` (executemany on SQLite, COPY on PostgreSQL) stores awkward text and JSON unchanged."""
    from labelport.model.jobs import JobFormat, JobKind
    from labelport.store import jobs
    from labelport.store.bulk import BulkRows
    from labelport.store.schema import import_status_pages

    db = Database(database_url)
    odd = 'tab\tnew\nline back\\slash "quote" \\N, \u00e9\u4e2d \U0001f600'
    statuses = [["u1", {"globalKey": odd}, None], ["u2", None, [{"message": odd, "value": [1.5, None, True]}]]]
    try:
        with db.write() as conn:
            _project(conn)
            jobs.insert(
                conn, job_id="j1", organization_id="org1", project_id="p1", kind=JobKind.IMPORT,
                fmt=JobFormat.LABELBOX_NDJSON, name=odd, options={"label_kind": "prediction", "input_name": odd},
                input_blob=None, created_at=datetime.now(UTC), created_by=None,
            )  # fmt: skip
            pages = BulkRows(conn, import_status_pages, ("job_id", "page", "failures", "statuses"))
            pages.insert([("j1", 0, 1, pages.json(statuses)), ("j1", 1, 0, pages.json([]))])
        with db.read() as conn:
            rows = conn.execute(sa.select(import_status_pages).order_by(import_status_pages.c.page)).all()
            job = jobs.find(conn, "j1")
        assert job is not None and job.name == odd and job.options["input_name"] == odd
        assert [(r.job_id, r.page, r.failures, r.statuses) for r in rows] == [("j1", 0, 1, statuses), ("j1", 1, 0, [])]
    finally:
        db.dispose()
