"""Fixtures: a live uvicorn server per test on each database backend, and SDK clients over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labelport.sdk import Client
from tests.api.server import LiveServer, remote_client


@pytest.fixture
def http_client(live_server: LiveServer) -> Iterator[Client]:
    client = remote_client(live_server)
    try:
        yield client
    finally:
        client.close()
        client.hub.db.dispose()
