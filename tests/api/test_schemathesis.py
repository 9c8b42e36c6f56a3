"""Property tests from our OpenAPI document (schemathesis): no input makes any endpoint answer 5xx.

Each operation gets a bounded number of generated requests (valid and invalid bodies, parameters,
paths) sent with the admin key to a live server; the check is schemathesis' ``not_a_server_error``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.api.server import LiveServer, thread_server

schemathesis.serializer.alias("application/x-ndjson", "application/octet-stream")

EXAMPLES = 15


@pytest.fixture
def empty_roots_server(database_url: str, tmp_path: Path) -> LiveServer:
    # Random row_data must not make the server read around its filesystem: one empty permitted folder.
    (tmp_path / "roots").mkdir()
    with thread_server(tmp_path / "home", database_url, file_roots=(tmp_path / "roots",)) as server:
        yield server  # type: ignore[misc]


def test_no_input_makes_a_server_error(empty_roots_server: LiveServer) -> None:
    server = empty_roots_server
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=30)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
