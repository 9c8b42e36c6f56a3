"""``labelport keys create|list|revoke`` and ``serve --demo`` (URL and a working admin key printed once)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from labelport.cli.server_commands import register
from tests.api.server import free_port, spawn_server, wait_ready

runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_keys_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path))
    monkeypatch.delenv("LABELPORT_DATABASE_URL", raising=False)
    created = runner.invoke(cli(), ["keys", "create", "--name", "ci", "--admin"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"lp_[A-Za-z0-9_-]{43}", secret)
    listed = runner.invoke(cli(), ["keys", "list"])
    assert listed.exit_code == 0 and secret[:10] in listed.stdout and secret not in listed.stdout
    assert (tmp_path / "labelport.db").read_bytes().find(secret.encode()) == -1  # only its hash is stored
    revoked = runner.invoke(cli(), ["keys", "revoke", secret[:10]])
    assert revoked.exit_code == 0 and "revoked API key" in revoked.stdout
    assert secret[:10] not in runner.invoke(cli(), ["keys", "list"]).stdout
    assert secret[:10] in runner.invoke(cli(), ["keys", "list", "--all"]).stdout
    unknown = runner.invoke(cli(), ["keys", "revoke", "lp_nothing"])
    assert unknown.exit_code == 1 and "no API key with id or prefix 'lp_nothing'" in unknown.output


def test_keys_create_with_a_project_role_rejects_an_unknown_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path))
    monkeypatch.delenv("LABELPORT_DATABASE_URL", raising=False)
    result = runner.invoke(cli(), ["keys", "create", "--email", "l@x.org", "--project", "nope", "--role", "labeler"])
    assert result.exit_code == 1 and "no project with id 'nope'" in result.output


def test_serve_demo_prints_the_url_and_a_working_admin_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    server = spawn_server(home, f"sqlite:///{home / 'labelport.db'}", port, "--demo")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process=server)
        assert server.stdout is not None
        lines = [server.stdout.readline().decode() for _ in range(4)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert lines[0].startswith(f"labelport server: {url}")
    key = re.search(r"admin API key \(shown once, store it\): (lp_\S+)", lines[2])
    assert key is not None, lines
    # The server is gone; a new one on the same store accepts the key and shows the demo project.
    server = spawn_server(home, f"sqlite:///{home / 'labelport.db'}", port)
    try:
        wait_ready(url, process=server)
        projects = httpx.get(f"{url}/api/v1/projects", headers={"Authorization": f"Bearer {key.group(1)}"}).json()
        assert [p["name"] for p in projects["items"]] == ["demo: DICOM segmentation"]
    finally:
        server.terminate()
        server.wait(timeout=30)
