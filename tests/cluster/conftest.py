"""The cluster the cluster tests share: a fresh PostgreSQL database on the machine's server, a private
Redis (the faults stop it; the machine's is shared), SeaweedFS, two API replicas and two workers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelport.cluster import ClusterError, LocalCluster
from tests.conftest import PG_ADMIN_URL, need

LEASE_SECONDS = 6


@pytest.fixture(scope="session")
def cluster_database() -> Iterator[str]:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("select 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        need("PostgreSQL", f"not reachable at {PG_ADMIN_URL}: {exc}")
    name = f"labelport_cluster_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def cluster(cluster_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    if shutil.which("redis-server") is None:
        need("redis-server", "the cluster tests start a private Redis (Debian package redis-server)")
    folder = tmp_path_factory.mktemp("cluster")
    env = {"LABELPORT_FILE_ROOTS": str(folder), "LABELPORT_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}
    try:
        running = LocalCluster(folder, cluster_database, replicas=2, workers=2, env=env)
    except ClusterError as exc:
        need("the local cluster", str(exc))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "labelport")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "labelport")
    with running:
        yield running


@pytest.fixture(scope="session")
def cluster_folder(cluster: LocalCluster) -> Path:
    return cluster.folder
