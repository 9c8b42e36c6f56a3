"""The store on both backends: migrations give exactly the schema, constraints hold, blobs dedupe."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from labelport.store import Database, LocalBlobStore
from labelport.store.schema import batches, blobs, metadata, organizations, projects


def test_migrations_produce_the_declared_schema(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert db.current_revision() == db.head_revision() == "0010"
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
    store = LocalBlobStore(tmp_path / "blobs")
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
        assert db.current_revision() == "0003"
        with db.engine.connect() as conn:
            pages = conn.execute(sa.select(_pages).order_by(_pages.c.page)).all()
        assert [(p.page, p.failures) for p in pages] == [(0, 0), (1, 1)]
        got = [s for p in pages for s in p.statuses]
        assert got == [[u, r, e or None] for _, u, r, _, e in want]
        command.downgrade(_alembic_config(db.engine), "0002")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT position, uuid, status FROM import_statuses ORDER BY position")).all()
        assert [tuple(b) for b in back] == [(*w[:2], w[3]) for w in want]
    finally:
        db.migrate()
        db.dispose()


def _json(value: Any) -> Any:
    """A JSON column read by raw SQL: parsed on PostgreSQL (JSONB), text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


_pages = sa.table(
    "import_status_pages",
    sa.column("job_id"),
    sa.column("page"),
    sa.column("failures"),
    sa.column("statuses", sa.JSON),
)


def test_migration_0005_keeps_no_platform_shape_and_goes_back(database_url: str, tmp_path: Path) -> None:
    """Under 0004 the store held Labelbox's shapes (normalized ontologies, ``dataRow`` statuses, DICOM masks as
    FrameMasks beside a ``label_value``); 0005 turns them into labelport's own, and the downgrade restores them."""
    from alembic import command

    from labelport.model import VolumeMask
    from labelport.model.codec import from_json
    from labelport.service.hub import Hub
    from labelport.service.imports import import_statuses_of
    from labelport.service.ontologies import get_ontology
    from labelport.store.database import _alembic_config

    db = Database(database_url)
    config = _alembic_config(db.engine)
    now = datetime.now(UTC)
    normalized = {
        "tools": [{"tool": "raster-segmentation", "name": "seg", "featureSchemaId": "cklbseg"}],
        "classifications": [{"type": "radio", "name": "q", "options": [{"value": "a"}]}],
    }
    statuses = [
        ["u1", {"globalKey": "k"}, None],
        [
            "u2",
            {"id": "r"},
            [{"name": "ValidationError", "message": "bad", "additionalInfo": {"line": 2, "path": "x"}}],
        ],
    ]
    frame_masks = {
        "type": "FrameMasks",
        "uuid": "5f0c6a3e-5b8b-4d6e-9d8a-2b1c3d4e5f60",
        "frames": [{"type": "FrameMask", "frame": 3, "source": {"type": "RasterSource", "blob": "b" * 64}}],
        "instances": [{"type": "MaskInstance", "color": [255, 0, 0], "name": "seg"}],
        "group": "axial",
    }
    mask_payload = {"annotation": frame_masks, "label_value": 2, "source_uuid": frame_masks["uuid"]}
    try:
        command.downgrade(config, "0004")
        with db.engine.begin() as conn:
            _project(conn)
            conn.execute(
                sa.text(
                    "INSERT INTO ontologies (id, organization_id, name, media_type, normalized, created_at) "
                    "VALUES ('o1', 'org1', 'onto', 'dicom', :n, :now)"
                ).bindparams(sa.bindparam("n", type_=sa.JSON)),
                {"n": normalized, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO jobs (id, organization_id, project_id, kind, format, state, name, options, "
                    "progress_done, total, succeeded, failed, errors, created_at) VALUES ('j1', 'org1', 'p1', "
                    "'import', 'labelbox_ndjson', 'FINISHED', 'n', :o, 2, 2, 1, 1, '[]', :now)"
                ).bindparams(sa.bindparam("o", type_=sa.JSON)),
                {"o": {"label_kind": "prediction"}, "now": now},
            )
            conn.execute(_pages.insert().values(job_id="j1", page=0, failures=1, statuses=statuses))
            conn.execute(
                sa.text(
                    "INSERT INTO datasets (id, organization_id, name, created_at) VALUES ('d1', 'org1', 'd', :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO data_rows (id, organization_id, dataset_id, row_data, media_type, media_attributes, "
                    "metadata_fields, attachments, created_at, updated_at) VALUES ('r1', 'org1', 'd1', '/s', 'dicom', "
                    "'{}', '[]', '[]', :now, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO labels (id, project_id, data_row_id, kind, created_at, updated_at, skipped) "
                    "VALUES ('l1', 'p1', 'r1', 'ground_truth', :now, :now, false)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text("INSERT INTO blobs (sha256, size, content_type, created_at) VALUES (:b, 1, 'x', :now)"),
                {"b": "b" * 64, "now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO annotations (label_id, project_id, data_row_id, kind, uuid, schema_id, feature_name, "
                    "annotation_type, frame, plane_group, keyframe, payload, mask_blob, created_at) VALUES ('l1', "
                    "'p1', 'r1', 'ground_truth', :u, 'cklbseg', 'seg', 'frame_masks', 3, 'axial', true, :p, :b, :now)"
                ).bindparams(sa.bindparam("p", type_=sa.JSON)),
                {"u": frame_masks["uuid"], "p": mask_payload, "b": "b" * 64, "now": now},
            )
        command.upgrade(config, "head")  # through 0005; the service reads the newest schema
        hub = Hub(db=db, blobs=LocalBlobStore(tmp_path / "blobs"), organization_id="org1", actor="test")
        ontology = get_ontology(hub, "o1").ontology
        assert ontology.tools[0].external_ids.labelbox == "cklbseg" and ontology.classifications[0].name == "q"
        assert [(s["uuid"], s["data_row"], s["errors"]) for s in import_statuses_of(hub, "j1")] == [
            ("u1", {"global_key": "k"}, []),
            ("u2", {"id": "r"}, [{"type": "ValidationError", "message": "bad", "line": 2, "path": "x"}]),
        ]
        with db.engine.connect() as conn:
            kind, payload = conn.execute(sa.text("SELECT annotation_type, payload FROM annotations")).one()
        mask = from_json(_json(payload)["annotation"])
        assert kind == "volume_mask"
        assert mask == VolumeMask(frame_masks["uuid"], mask.source, (2,), "seg", group="axial", color=(255, 0, 0))
        assert mask.source.blob == "b" * 64
        command.downgrade(config, "0004")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT normalized FROM ontologies")).scalar_one()
            pages = conn.execute(sa.select(_pages)).one()
            kind, payload = conn.execute(sa.text("SELECT annotation_type, payload FROM annotations")).one()
        back = _json(back)
        assert back["tools"][0]["featureSchemaId"] == "cklbseg" and back["tools"][0]["name"] == "seg"
        assert pages.statuses == statuses
        payload = _json(payload)
        assert kind == "frame_masks" and payload == mask_payload
    finally:
        db.migrate()
        db.dispose()


def test_bulk_rows_keep_any_text_and_json(database_url: str) -> None:
    """``BulkRows`` (executemany on SQLite, COPY on PostgreSQL) stores awkward text and JSON unchanged."""
    from labelport.model.jobs import JobKind
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
                fmt="labelbox_ndjson", name=odd, options={"label_kind": "prediction", "input_name": odd},
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


def test_replicas_starting_together_migrate_once() -> None:
    """Two processes opening a fresh PostgreSQL database at once: one migrates, the other waits and finds it done."""
    import threading
    import uuid

    from tests.conftest import PG_ADMIN_URL, need

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("select 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        need("PostgreSQL", str(exc))
    name = f"labelport_migrate_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Database(url).dispose()
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        db = Database(url, migrate=False)
        assert db.current_revision() == db.head_revision()
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_migration_0010_orders_a_datasets_rows_from_an_index_and_goes_back(database_url: str) -> None:
    """0010 replaces the dataset_id index of data_rows with (dataset_id, created_at, id), the listing order,
    and its downgrade restores the one it replaced."""
    from alembic import command

    from labelport.store.database import _alembic_config

    def indexes(db: Database) -> set[str]:
        with db.engine.connect() as conn:
            return {str(i["name"]) for i in sa.inspect(conn).get_indexes("data_rows")}

    db = Database(database_url)
    try:
        assert {"ix_data_rows_dataset_order"} <= indexes(db) and "ix_data_rows_dataset_id" not in indexes(db)
        command.downgrade(_alembic_config(db.engine), "0009")
        assert "ix_data_rows_dataset_id" in indexes(db) and "ix_data_rows_dataset_order" not in indexes(db)
        command.upgrade(_alembic_config(db.engine), "head")
        assert "ix_data_rows_dataset_order" in indexes(db) and "ix_data_rows_dataset_id" not in indexes(db)
    finally:
        db.dispose()
