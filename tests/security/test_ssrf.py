"""Probes: with http fetching on (``LABELPORT_ALLOW_HTTP=1``), a user can make the server fetch only public
addresses, no redirect is followed, size and time are bounded, and no fetched byte comes back."""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from labelport.errors import ValidationError
from labelport.service import fetch
from labelport.service.hub import Settings
from labelport.service.masks import FileResolver
from tests.api.server import thread_server
from tests.security.workspace import box, ndjson, png, run_import, seg, workspace

PNG = png(np.zeros((10, 20, 3), np.uint8))


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/secret")
            self.end_headers()
        elif self.path == "/to-self":
            self.send_response(301)
            self.send_header("Location", "/mask.png")
            self.end_headers()
        elif self.path == "/missing":
            self.send_error(404)
        elif self.path == "/big":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"\x00" * (2 * 1024 * 1024))
        elif self.path == "/slow":
            self.send_response(200)
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/secret":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"SECRET-CONTENT-1234")
        else:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def local_http() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_Handler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


NOT_PUBLIC = [
    "http://127.0.0.1:{port}/mask.png",
    "http://localhost:{port}/mask.png",
    "http://2130706433:{port}/mask.png",  # 127.0.0.1 as one number
    "http://0x7f000001:{port}/mask.png",
    "http://0.0.0.0:{port}/mask.png",
    "http://[::1]:{port}/mask.png",
    "http://[::ffff:127.0.0.1]:{port}/mask.png",
    "http://10.0.0.1:{port}/mask.png",
    "http://192.168.1.1:{port}/mask.png",
    "http://172.16.0.1:{port}/mask.png",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://224.0.0.1/",
]


@pytest.mark.parametrize("template", NOT_PUBLIC)
def test_non_public_addresses_are_refused_without_a_connection(template: str) -> None:
    with local_http() as (base, hits):
        url = template.format(port=base.rsplit(":", 1)[1])
        resolver = FileResolver(Settings(allow_http=True, serving=True))
        with pytest.raises(ValidationError, match="not a public address"):
            resolver.read_bytes(url, "mask file")
        assert hits == []


def test_redirects_sizes_times_and_statuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the test's own network allowed (as an administrator allows an internal server): a redirect is
    refused whatever its target, a 404 or a too large or too slow answer fails, and a good one is read."""
    with local_http() as (base, hits):
        resolver = FileResolver(Settings(allow_http=True, serving=True, http_networks=("127.0.0.0/8",)))
        assert resolver.read_bytes(f"{base}/mask.png", "mask file") == PNG
        for path, reason in (
            ("/redirect", "answered HTTP 302 (a redirect); redirects are not followed"),
            ("/to-self", "answered HTTP 301 (a redirect)"),
            ("/missing", "answered HTTP 404"),
        ):
            with pytest.raises(ValidationError, match=re.escape(reason)):
                resolver.read_bytes(base + path, "mask file")
        assert "/secret" not in hits  # the redirect's target was never asked for
        with pytest.raises(ValidationError, match="is larger than 1048576 bytes"):
            fetch.fetch(f"{base}/big", "mask file", max_bytes=1024 * 1024, networks=("127.0.0.0/8",))
        started = time.monotonic()
        with pytest.raises(ValidationError, match="took longer than 1 s"):
            fetch.fetch(f"{base}/slow", "mask file", max_bytes=1024, networks=("127.0.0.0/8",), timeout=1)
        assert time.monotonic() - started < 3
        with pytest.raises(ValidationError, match="only http and https"):
            fetch.fetch("gopher://127.0.0.1/", "mask file", max_bytes=1)


def test_an_import_never_shows_fetched_bytes(database_url: str, tmp_path: Path) -> None:
    with local_http() as (base, hits):
        settings = Settings(file_roots=(tmp_path,), allow_http=True, http_networks=("127.0.0.0/8",))
        with thread_server(tmp_path / "home", database_url, settings=settings) as server:
            ws = workspace(server, tmp_path / "media")
            lines = [
                seg(instanceURI=f"{base}/secret", colorRGB=[255, 0, 0]),  # not a PNG: its bytes stay unsaid
                seg(instanceURI=f"{base}/mask.png", colorRGB=[255, 0, 0]),  # allowed network, a good mask?
                seg(instanceURI="http://169.254.169.254/latest/meta-data/", colorRGB=[255, 0, 0]),
                box(),
            ]
            job = run_import(ws, ndjson(lines))
    assert job["state"] == "FINISHED", job
    text = str(job["statuses"])
    assert "SECRET" not in text
    assert "not a PNG image" in job["statuses"][0]["errors"][0]["message"]
    assert "colour [255, 0, 0] does not occur" in job["statuses"][1]["errors"][0]["message"]  # it is all black
    assert "not a public address" in job["statuses"][2]["errors"][0]["message"]
    assert job["statuses"][3]["errors"] == []
    assert "/latest/meta-data/" not in hits
