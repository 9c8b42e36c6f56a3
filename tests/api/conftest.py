"""Fixtures: a live uvicorn server per test on each database backend, and SDK clients over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelport.sdk import Client
from tests.api.server import LiveServer, remote_client, thread_server
from tests.fixtures import FIXTURES


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with thread_server(tmp_path / "server-home", database_url, file_roots=(tmp_path, FIXTURES)) as server:
        yield server


@pytest.fixture
def http_client(live_server: LiveServer) -> Iterator[Client]:
    client = remote_client(live_server)
    try:
        yield client
    finally:
        client.close()
        client.hub.db.dispose()
