"""Fixtures: a live uvicorn server per test on each database backend, and SDK clients over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labelport.sdk import Client
from tests.api.server import LiveServer, connected


@pytest.fixture
def http_client(live_server: LiveServer) -> Iterator[Client]:
    with connected(live_server) as client:
        yield client
