"""Real uvicorn servers for the tests: in a thread (fast, per test) or as a subprocess (to SIGKILL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from labelport.api import ServerConfig, create_app
from labelport.sdk import Client
from labelport.sdk.http import HttpBackend
from labelport.service import Hub, auth
from labelport.service.hub import Settings
from labelport.store import Database, open_blob_store

REPO = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    url: str
    admin_key: str
    home: Path
    database_url: str

    def key(self, email: str, *, project: str | None = None, role: str | None = None, admin: bool = False) -> str:
        """A new API key for ``email``, with ``role`` in ``project`` when given."""
        db = Database(self.database_url, migrate=False)
        try:
            if project is not None and role is not None:
                org_id, _ = auth.ensure_user(db, "default", email)
                hub = Hub(db=db, blobs=open_blob_store(self.home), organization_id=org_id, actor="tests")
                auth.set_member(hub, project, email, role)
            return auth.create_api_key(db, email=email, name="test", is_admin=admin).secret
        finally:
            db.dispose()


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def wait_ready(url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"no server at {url} after {timeout} s")


@contextmanager
def thread_server(
    home: Path, database_url: str, file_roots: tuple[Path, ...] = (), **config: Any
) -> Iterator[LiveServer]:
    """uvicorn serving the app on 127.0.0.1 in a thread of this process, with an admin key. ``config``: more
    ``ServerConfig`` fields (body caps, a public URL) or ``settings`` replacing the default ones."""
    db = Database(database_url, home=home)
    admin_key = auth.create_api_key(db, name="tests admin", is_admin=True).secret
    db.dispose()
    settings = config.pop("settings", Settings(file_roots=file_roots))
    server_config = ServerConfig(home=home, database_url=database_url, settings=settings, **config)
    # Binding by port, not handing uvicorn a pre-bound socket: the latter stalls each response ~40 ms.
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(server_config), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield LiveServer(url=url, admin_key=admin_key, home=home, database_url=database_url)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def remote_client(server: LiveServer, key: str | None = None) -> Client:
    """A Client over HTTP; ``client.hub`` opens the server's store directly, for the tests to inspect."""
    client = Client.__new__(Client)
    client.backend = HttpBackend(server.url, key or server.admin_key)
    db = Database(server.database_url, migrate=False)
    org_id = auth.ensure_user(db, "default", auth.DEFAULT_ADMIN)[0]
    client.hub = Hub(db=db, blobs=open_blob_store(server.home), organization_id=org_id, actor=auth.DEFAULT_ADMIN)
    return client


@contextmanager
def connected(server: LiveServer, key: str | None = None) -> Iterator[Client]:
    """``remote_client`` for a ``with`` block: closed, and its store connection let go, when it ends."""
    client = remote_client(server, key)
    try:
        yield client
    finally:
        client.close()
        client.hub.db.dispose()


def spawn_server(
    home: Path, database_url: str, port: int, *extra: str, file_roots: tuple[Path, ...] = ()
) -> subprocess.Popen[bytes]:
    """``python -m labelport.api`` as a subprocess (its own process group, so it can be killed alone), reading
    local files under ``file_roots`` (``LABELPORT_FILE_ROOTS``; none by default, as a server does)."""
    env = {**os.environ, "LABELPORT_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("LABELPORT_FILE_ROOTS", None)
    if file_roots:
        env["LABELPORT_FILE_ROOTS"] = os.pathsep.join(str(r) for r in file_roots)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labelport.api",
            "--home",
            str(home),
            "--database-url",
            database_url,
            "--port",
            str(port),
            *extra,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def free_port() -> int:
    sock = free_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port
