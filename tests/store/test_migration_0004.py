"""Migration 0004: import and export jobs move into ``jobs`` (status pages follow) and back, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from labelport.errors import NotFoundError
from labelport.model.jobs import ExportJobInfo, ImportJobInfo, JobKind, JobState
from labelport.model.label import LabelKind
from labelport.service import export_jobs, imports, jobs
from labelport.service.hub import Hub
from labelport.store import Database, LocalBlobStore
from labelport.store.database import _alembic_config

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = datetime(2026, 1, 2, 3, 9, 0, tzinfo=UTC)
BLOB = "ab" * 32
STATUSES = [["u1", {"globalKey": "k1"}, None], ["u2", {"globalKey": "k2"}, [{"message": "bad", "name": "X"}]]]

IMPORT_JOBS = [
    # id, name, kind, state, input_blob, total, succeeded, failed, error, created, started, finished
    ("imp-done", "gt import", "ground_truth", "FINISHED", BLOB, 2, 1, 1, None, T0, T0, T1),
    ("imp-queued", "mal import", "prediction", "QUEUED", None, 0, 0, 0, None, T1, None, None),
]
EXPORT_JOBS = [
    # id, format, state, params, filters, rows, errors, error, created, started, finished
    (
        "exp-v2",
        "export_v2",
        "FINISHED",
        {"label_details": True},
        {"workflow_status": "Done"},
        5,
        [{"data_row_id": "d1", "message": "left out"}],
        None,
        T0,
        T0,
        T1,
    ),
    ("exp-legacy", "export_labels", "FAILED", {}, {"start": "2024-01-01", "end": None}, 0, [], "boom", T1, T1, T1),
]


def _utc(value: datetime | None) -> datetime | None:
    """Stored times as UTC (SQLite hands them back naive)."""
    return None if value is None else value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _old_tables(conn: sa.Connection) -> None:
    conn.execute(sa.text("INSERT INTO organizations (id, name, created_at) VALUES ('org1', 'o', :t)"), {"t": T0})
    conn.execute(
        sa.text(
            "INSERT INTO projects (id, organization_id, name, media_type, settings, created_at) "
            "VALUES ('p1', 'org1', 'p', 'image', '{}', :t)"
        ),
        {"t": T0},
    )
    conn.execute(
        sa.text("INSERT INTO blobs (sha256, size, content_type, created_at) VALUES (:b, 3, 'x', :t)"),
        {"b": BLOB, "t": T0},
    )
    import_jobs = sa.table(
        "import_jobs",
        *(sa.column(c) for c in ("id", "project_id", "name", "kind", "format", "state", "input_blob")),
        *(sa.column(c) for c in ("total", "succeeded", "failed", "error")),
        *(sa.column(c, sa.DateTime(timezone=True)) for c in ("created_at", "started_at", "finished_at")),
    )
    for j in IMPORT_JOBS:
        conn.execute(
            import_jobs.insert().values(
                id=j[0], project_id="p1", name=j[1], kind=j[2], format="labelbox_ndjson", state=j[3],
                input_blob=j[4], total=j[5], succeeded=j[6], failed=j[7], error=j[8],
                created_at=j[9], started_at=j[10], finished_at=j[11],
            )
        )  # fmt: skip
    pages = sa.table(
        "import_status_pages", sa.column("job_id"), sa.column("page"), sa.column("failures"),
        sa.column("statuses", sa.JSON),
    )  # fmt: skip
    conn.execute(pages.insert().values(job_id="imp-done", page=0, failures=1, statuses=STATUSES))
    export_jobs_table = sa.table(
        "export_jobs",
        *(sa.column(c) for c in ("id", "project_id", "format", "state", "rows", "error")),
        *(sa.column(c, sa.JSON) for c in ("params", "filters", "errors")),
        *(sa.column(c, sa.DateTime(timezone=True)) for c in ("created_at", "started_at", "finished_at")),
    )
    for e in EXPORT_JOBS:
        conn.execute(
            export_jobs_table.insert().values(
                id=e[0], project_id="p1", format=e[1], state=e[2], params=e[3], filters=e[4], rows=e[5],
                errors=e[6], error=e[7], created_at=e[8], started_at=e[9], finished_at=e[10],
            )
        )  # fmt: skip


def _rows(conn: sa.Connection, sql: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.text(sql))]


@pytest.fixture
def at_0003(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    try:
        command.downgrade(_alembic_config(db.engine), "0003")
        yield db
    finally:
        db.migrate()
        db.dispose()


def test_jobs_move_into_one_table_and_back(at_0003: Database, tmp_path: Path) -> None:
    db = at_0003
    with db.engine.begin() as conn:
        _old_tables(conn)
        before_imports = _rows(conn, "SELECT * FROM import_jobs ORDER BY id")
        before_exports = _rows(conn, "SELECT * FROM export_jobs ORDER BY id")

    db.migrate()
    assert db.current_revision() == db.head_revision()
    assert db.integrity_check() == []
    hub = Hub(db=db, blobs=LocalBlobStore(tmp_path / "blobs"), organization_id="org1", actor="test")

    # Imports read back through the service as they were, statuses included.
    assert imports.get_import_job(hub, "imp-done") == ImportJobInfo(
        "imp-done", "p1", "gt import", LabelKind.GROUND_TRUTH, JobState.FINISHED, 2, 1, 1, None, 2, 2
    )
    assert [j.id for j in imports.list_import_jobs(hub, "p1")] == ["imp-done", "imp-queued"]
    assert [bool(s["errors"]) for s in imports.import_statuses_of(hub, "imp-done")] == [False, True]
    done = jobs.get(hub, "imp-done")
    assert (done.kind, done.format, done.organization_id, done.input_blob) == (
        JobKind.IMPORT,
        "labelbox_ndjson",
        "org1",
        BLOB,
    )
    assert dict(done.options) == {"label_kind": "ground_truth"}
    assert (_utc(done.created_at), _utc(done.started_at), _utc(done.finished_at)) == (T0, T0, T1)

    # Exports too, under the names jobs record, with their file named in ``output``.
    assert export_jobs.get_export_job(hub, "exp-v2") == ExportJobInfo(
        "exp-v2",
        "p1",
        "labelbox_export_v2",
        JobState.FINISHED,
        5,
        [{"data_row_id": "d1", "message": "left out"}],
        None,
        done.created_at,
        done.finished_at,
    )
    v2 = jobs.get(hub, "exp-v2", JobKind.EXPORT)
    assert dict(v2.options) == {
        "params": {"label_details": True},
        "filters": {"workflow_status": "Done"},
        "links": "server",
    }
    assert v2.output == "exp-v2/export.ndjson"
    legacy = export_jobs.get_export_job(hub, "exp-legacy")
    assert (legacy.format, legacy.state, legacy.error) == ("labelbox_export_labels", JobState.FAILED, "boom")
    with pytest.raises(NotFoundError, match="no export job with id 'imp-done'"):
        export_jobs.get_export_job(hub, "imp-done")

    # A job the old tables cannot hold (its project is gone) is dropped by the downgrade, with its pages.
    orphan = imports.start_import(hub, "p1", "orphan", "prediction")
    with db.write() as conn:
        conn.execute(
            sa.text("INSERT INTO import_status_pages (job_id, page, failures, statuses) VALUES (:j, 0, 0, '[]')"),
            {"j": orphan},
        )
        conn.execute(sa.text("UPDATE jobs SET project_id = NULL WHERE id = :j"), {"j": orphan})

    command.downgrade(_alembic_config(db.engine), "0003")
    assert db.integrity_check() == []
    with db.engine.connect() as conn:
        after_imports = _rows(conn, "SELECT * FROM import_jobs ORDER BY id")
        after_exports = _rows(conn, "SELECT * FROM export_jobs ORDER BY id")
        pages = _rows(conn, "SELECT job_id, page, failures FROM import_status_pages")
    assert after_imports == before_imports
    assert after_exports == before_exports
    assert pages == [{"job_id": "imp-done", "page": 0, "failures": 1}]
