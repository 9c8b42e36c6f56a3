"""SIGKILL during an import of 100,000 annotations over HTTP, on SQLite and PostgreSQL: after a restart the
job resumes (or fails with a reason), no partial label is ever visible, and the database passes its
integrity check.

An import checks its lines first (reading the store, writing only its progress) and then writes everything
in one transaction; the kill lands in either phase, chosen by watching the database directly (not through
the busy server): while checking, the job's progress is under way; while writing, the import holds the
write lock (SQLite) or its project's advisory lock (PostgreSQL). So it always lands where it is meant to,
whatever the machine's speed."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa

from labelport.model.media import MediaType
from labelport.service import Hub, auth, datasets, ontologies, projects
from labelport.service.synthetic import write_image
from labelport.store import Database
from labelport.store.schema import annotation_rows, import_status_pages, jobs, labels
from tests.api.server import free_port, spawn_server, wait_ready

ANNOTATIONS = 100_000
ROWS = 40  # at most 5000 annotations of one feature per data row


def _workspace(home: Path, database_url: str) -> tuple[str, str, bytes]:
    """An image project with ROWS batched data rows; returns (project id, admin key, the NDJSON)."""
    hub = Hub.open(home=home, database_url=database_url, actor=auth.DEFAULT_ADMIN)
    try:
        image = write_image(home.parent / "media" / "img.png", 64, 48)  # users' files are never in the home
        ds = datasets.create_dataset(hub, "bulk")
        created = datasets.create_data_rows(
            hub, ds.id, [{"row_data": str(image), "global_key": f"img-{i}"} for i in range(ROWS)]
        )
        assert not created.failures
        onto = ontologies.create_ontology(hub, "boxes", {"tools": [{"tool": "rectangle", "name": "box"}]})
        project = projects.create_project(hub, "bulk", MediaType.IMAGE)
        projects.connect_ontology(hub, project.id, onto.id)
        projects.create_batch(hub, project.id, "all", global_keys=[f"img-{i}" for i in range(ROWS)])
        key = auth.create_api_key(hub.db, name="tests", is_admin=True).secret
    finally:
        hub.db.dispose()
    lines = (
        orjson.dumps(
            {
                "uuid": str(uuid.UUID(int=i + 1)),
                "name": "box",
                "dataRow": {"globalKey": f"img-{i % ROWS}"},
                "bbox": {"top": i % 40, "left": i % 50, "height": 4, "width": 6},
            }
        )
        for i in range(ANNOTATIONS)
    )
    return project.id, key, b"\n".join(lines)


def _counts(database_url: str) -> tuple[int, int, str | None, str | None]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        count = lambda t: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())  # noqa: E731
        job = conn.execute(sa.select(jobs.c.state, jobs.c.error)).one()
        result = count(labels), count(annotation_rows), job.state, job.error
    engine.dispose()
    return result


def _sqlite_write_locked(database_url: str) -> bool:
    """Whether another connection holds SQLite's write lock (a write transaction is open)."""
    path = sa.make_url(database_url).database
    probe = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _pg_import_writing(conn: sa.Connection) -> bool:
    """Whether an import holds its project's advisory lock (its write transaction is open)."""
    held = conn.execute(sa.text("select count(*) from pg_locks where locktype = 'advisory' and granted")).scalar_one()
    return bool(held)


def _writing(conn: sa.Connection, database_url: str, sqlite: bool) -> bool:
    """Whether the import's write transaction is open: on SQLite the write lock is held (and still is a
    moment later: writing a progress count holds it for a millisecond); on PostgreSQL the project's lock."""
    if not sqlite:
        held = _pg_import_writing(conn)
        conn.rollback()
        return held
    if not _sqlite_write_locked(database_url):
        return False
    time.sleep(0.05)
    return _sqlite_write_locked(database_url)


def _wait_until_importing(database_url: str, job_id: str, phase: str, timeout: float = 60.0) -> str:
    """Poll until the job is RUNNING in ``phase`` (checking its lines, or writing them); returns the state
    then seen."""
    engine = sa.create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                row = conn.execute(sa.select(jobs.c.state, jobs.c.progress_done).where(jobs.c.id == job_id)).one()
                conn.rollback()  # a fresh snapshot on the next read
                if row.state not in ("QUEUED", "RUNNING"):
                    return str(row.state)
                if row.state != "RUNNING":
                    continue
                if phase == "checking" and 0 < row.progress_done < ANNOTATIONS:
                    return "RUNNING"
                if phase == "writing" and _writing(conn, database_url, sqlite):
                    return "RUNNING"
                time.sleep(0.002)
    finally:
        engine.dispose()
    raise TimeoutError(f"job {job_id} did not reach its {phase} phase within {timeout} s")


def _job_state(client: httpx.Client, job_id: str) -> dict[str, object]:
    response = client.get(f"/api/v1/imports/{job_id}")
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize("phase", ["checking", "writing"])
def test_sigkill_during_a_large_import(database_url: str, tmp_path: Path, phase: str) -> None:
    home = tmp_path / "home"
    project, key, payload = _workspace(home, database_url)
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = spawn_server(home, database_url, port)
    try:
        wait_ready(url, process=server)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            started = time.monotonic()
            response = client.post(
                f"/api/v1/projects/{project}/imports",
                params={"name": "bulk", "kind": "prediction"},
                content=payload,
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
        assert _wait_until_importing(database_url, job_id, phase) == "RUNNING"
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        print(f"killed {time.monotonic() - started:.1f} s after the upload")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    # Killed mid-run: the job is unfinished and not one label or annotation of it is visible.
    assert _counts(database_url) == (0, 0, "RUNNING", None)

    server = spawn_server(home, database_url, port)
    try:
        wait_ready(url, process=server)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            deadline = time.monotonic() + 120
            while (state := _job_state(client, job_id))["state"] not in ("FINISHED", "FAILED"):
                assert time.monotonic() < deadline, state
                # Whatever moment a reader looks, it sees all of the import or none of it.
                assert _counts(database_url)[1] in (0, ANNOTATIONS)
                time.sleep(0.2)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    n_labels, n_annotations, final, error = _counts(database_url)
    if final == "FINISHED":
        assert (n_labels, n_annotations) == (ROWS, ANNOTATIONS), output
        assert state["succeeded"] == ANNOTATIONS and state["failed"] == 0
    else:
        assert error, "a failed job names its reason"
        assert (n_labels, n_annotations) == (0, 0)
    db = Database(database_url, migrate=False)
    try:
        assert db.integrity_check() == []
        with db.read() as conn:
            pages = conn.execute(sa.select(import_status_pages.c.statuses)).scalars()
            statuses = sum(len(page) for page in pages)
        assert statuses == (ANNOTATIONS if final == "FINISHED" else 0)
    finally:
        db.dispose()
