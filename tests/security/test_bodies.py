"""Probes: request bodies. The key is checked before a body is read; declared and actual sizes are capped,
``Transfer-Encoding: chunked`` included; uploads stream to a file and leave nothing behind."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import orjson
import sqlalchemy as sa

from labelport.store.schema import jobs
from tests.api.server import LiveServer, thread_server
from tests.security.workspace import box, ndjson, ok, wait_import, workspace


def raw_request(server: LiveServer, head: str, body: bytes = b"", wait: float = 5.0) -> tuple[int, float]:
    """Send a request's head (and ``body``, possibly less than it declares) on a plain socket; the status
    of the answer and the seconds it took. The body the head announces is mostly never sent."""
    url = urlparse(server.url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=wait) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), time.monotonic() - started


def head(method: str, path: str, length: int, key: str | None = None, kind: str = "application/json") -> str:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\n{auth}"


def test_no_key_gets_401_before_its_body_is_read(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    for path in ("/api/v1/datasets", f"/api/v1/projects/{ws.project}/imports?name=x&kind=prediction"):
        # 80 MB announced, 10 bytes sent: an answer now means the body was never waited for.
        status, seconds = raw_request(live_server, head("POST", path, 80_000_000), b'{"name": 1')
        assert status == 401 and seconds < 3
        status, _ = raw_request(live_server, head("POST", path, 80_000_000, "lp_" + "x" * 43), b"{")
        assert status == 401


def test_declared_lengths_over_the_caps_are_refused_at_once(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    key = live_server.admin_key
    status, seconds = raw_request(live_server, head("POST", "/api/v1/datasets", 3_000_000_000, key))
    assert status == 413 and seconds < 3
    upload = f"/api/v1/projects/{ws.project}/imports?name=x&kind=prediction"
    status, seconds = raw_request(live_server, head("POST", upload, 3_000_000_000, key, "application/x-ndjson"))
    assert status == 413 and seconds < 3
    status, _ = raw_request(live_server, head("POST", "/api/v1/datasets", 17 * 1024 * 1024, key))
    assert status == 413  # JSON bodies: 16 MiB by default


def test_chunked_bodies_are_counted_as_they_arrive(database_url: str, tmp_path: Path) -> None:
    caps = {"max_body_bytes": 64 * 1024, "max_upload_bytes": 256 * 1024}
    with thread_server(tmp_path / "home", database_url, (tmp_path,), **caps) as server:
        ws = workspace(server, tmp_path / "media")

        def chunks(total: int) -> Iterator[bytes]:
            line = orjson.dumps(box()) + b"\n"
            for _ in range(total // len(line) + 1):
                yield line

        upload = ws.http.post(
            f"/projects/{ws.project}/imports", params={"name": "big", "kind": "prediction"}, content=chunks(1024 * 1024)
        )
        assert upload.status_code == 413, upload.text
        assert upload.json()["error"]["type"] == "PayloadTooLarge"
        names = [{"name": "x" * 500}] * 200
        big_json = ws.http.post("/datasets", content=(orjson.dumps(n) for n in names))  # chunked, no length
        assert big_json.status_code == 413
        # Under the cap, chunked or not, an upload works; nothing of either stays in the uploads folder.
        small = ws.http.post(
            f"/projects/{ws.project}/imports", params={"name": "ok", "kind": "prediction"}, content=chunks(10_000)
        )
        assert small.status_code == 202, small.text
        assert wait_import(ws.http, small.json()["id"])["state"] == "FINISHED"
        assert list((server.home / "tmp").iterdir()) == []
        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            assert [r.name for r in conn.execute(sa.select(jobs.c.name))] == ["ok"]  # the refused one left no job
        engine.dispose()


def test_an_upload_is_kept_whole_and_its_name_shown(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    body = ndjson([box() for _ in range(50)])
    job = ok(
        ws.http.post(
            f"/projects/{ws.project}/imports",
            params={"name": "named", "kind": "prediction", "file_name": "mine.ndjson"},
            content=body,
        )
    )
    done = wait_import(ws.http, job["id"])
    assert done["succeeded"] == 50
    empty = ws.http.post(f"/projects/{ws.project}/imports", params={"name": "e", "kind": "prediction"}, content=b" \n")
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    assert list((live_server.home / "tmp").iterdir()) == []
    assert httpx.get(f"{live_server.url}/health").status_code == 200
