"""Probes: what local files a user can make the server read (data rows, mask files), and how bad paths fail.

A server reads local files only under its roots (none by default), never its own home (database, blobs,
exports, the URL-signing secret), resolves symlinks before checking, opens regular files only, and fails a
bad path on its own row or line with a reason that names no server path.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from labelport.model.media import MediaType
from labelport.service import Hub, datasets
from labelport.service.files import FilePolicy
from labelport.service.hub import Settings
from labelport.service.synthetic import write_image, write_series
from labelport.store import Database, open_blob_store
from tests.api.server import LiveServer, thread_server
from tests.security.workspace import box, ndjson, ok, run_import, seg, workspace


def _rows(server: LiveServer, http: httpx.Client, dataset: str, specs: list[object]) -> dict[str, object]:
    response = http.post(f"/datasets/{dataset}/data-rows", json={"data_rows": specs})
    assert response.status_code == 201, response.text  # never a 500: each bad row fails on its own
    body: dict[str, object] = response.json()
    return body


def _messages(failures: object) -> list[str]:
    assert isinstance(failures, list)
    return [str(f["message"]) for f in failures]


def test_a_server_without_roots_reads_no_local_file(database_url: str, tmp_path: Path) -> None:
    image = write_image(tmp_path / "img.png", 20, 10)
    with thread_server(tmp_path / "home", database_url) as server:  # LABELPORT_FILE_ROOTS unset
        http = httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {server.admin_key}"})
        dataset = ok(http.post("/datasets", json={"name": "d"}))["id"]
        result = _rows(
            server,
            http,
            dataset,
            [
                {"row_data": str(image), "global_key": "local"},
                {"row_data": str(tmp_path), "global_key": "folder"},
                {"row_data": "img.png", "global_key": "relative"},  # the working folder is not readable either
                {"row_data": "https://example.org/a.png", "media_type": "image", "global_key": "remote"},
            ],
        )
        messages = _messages(result["failures"])
        assert len(messages) == 3 and all("this server reads none" in m for m in messages), messages
        assert [r["global_key"] for r in result["created"]] == ["remote"]  # type: ignore[index]
        tools = [{"tool": "raster-segmentation", "name": "seg"}]
        ontology = ok(http.post("/ontologies", json={"name": "o", "normalized": {"tools": tools}}))["id"]
        project = ok(http.post("/projects", json={"name": "p", "media_type": "image"}))["id"]
        ok(http.put(f"/projects/{project}/ontology", json={"ontology_id": ontology}))
        ok(http.post(f"/projects/{project}/batches", json={"name": "b", "global_keys": ["remote"]}))
        job = ok(
            http.post(
                f"/projects/{project}/imports",
                params={"name": "i", "kind": "prediction"},
                content=ndjson([seg("remote", instanceURI=str(image), colorRGB=[255, 0, 0])]),
            )
        )
        while job["state"] not in ("FINISHED", "FAILED"):
            time.sleep(0.05)
            job = ok(http.get(f"/imports/{job['id']}"))
        [status] = ok(http.get(f"/imports/{job['id']}/statuses"))["items"]
        assert "this server reads none" in status["errors"][0]["message"]
        http.close()


def test_the_store_is_never_readable_even_inside_a_root(live_server: LiveServer, tmp_path: Path) -> None:
    """The live server's roots include ``tmp_path``, which holds its home: the home stays out of reach."""
    home = live_server.home
    secret = (home / "secret").read_bytes()
    ws = workspace(live_server, tmp_path / "media")
    result = _rows(
        live_server,
        ws.http,
        ws.dataset,
        [
            {"row_data": str(home / "secret"), "global_key": "secret"},
            {"row_data": str(home), "global_key": "home"},
            {"row_data": str(tmp_path / "media" / ".." / "server-home" / "secret"), "global_key": "dotdot"},
        ],
    )
    messages = _messages(result["failures"])
    assert len(messages) == 3 and all("is outside the folders labelport may read" in m for m in messages)
    job = run_import(
        ws,
        ndjson(
            [
                seg(instanceURI=str(home / "secret"), colorRGB=[255, 0, 0]),
                seg(instanceURI=(home / "secret").as_uri(), colorRGB=[255, 0, 0]),
                seg(instanceURI="secret", colorRGB=[255, 0, 0]),  # relative: the working folder is no root
                box(),
            ]
        ),
    )
    assert job["state"] == "FINISHED" and job["succeeded"] == 1, job
    text = str(job["statuses"])
    assert secret[:8].decode() not in text
    assert str(Path.cwd()) not in text and str(home) not in text.replace(repr(str(home / "secret"))[1:-1], "")


def test_symlinks_are_resolved_before_the_root_check(live_server: LiveServer, tmp_path: Path) -> None:
    outside = Path(tmp_path.parent / f"{tmp_path.name}-outside")
    outside.mkdir()
    try:
        elsewhere = write_image(outside / "elsewhere.png", 20, 10)
        ws = workspace(live_server, tmp_path / "media")
        series = tmp_path / "series"
        write_series(series, rows=8, columns=8, slices=3)
        (series / "zz-evil").symlink_to(elsewhere)
        (tmp_path / "link.png").symlink_to(elsewhere)
        (tmp_path / "link-folder").symlink_to(outside, target_is_directory=True)
        good_series = tmp_path / "good-series"
        write_series(good_series, rows=8, columns=8, slices=3)
        result = _rows(
            live_server,
            ws.http,
            ws.dataset,
            [
                {"row_data": str(series), "global_key": "series"},
                {"row_data": str(tmp_path / "link.png"), "global_key": "link"},
                {"row_data": str(tmp_path / "link-folder" / "elsewhere.png"), "global_key": "via-folder"},
                {"row_data": str(good_series), "global_key": "good"},
            ],
        )
        messages = _messages(result["failures"])
        assert len(messages) == 3, messages
        assert "zz-evil" in messages[0] and "is outside the folders labelport may read" in messages[0]
        assert all("is outside the folders labelport may read" in m for m in messages[1:])
        assert all(str(outside) not in m for m in messages)  # where the links lead is not told
        assert [r["global_key"] for r in result["created"]] == ["good"]  # type: ignore[index]
        job = run_import(ws, ndjson([seg(instanceURI=str(tmp_path / "link.png"), colorRGB=[255, 0, 0])]))
        assert "is outside the folders labelport may read" in job["statuses"][0]["errors"][0]["message"]
    finally:
        shutil.rmtree(outside)


def test_a_fifo_fails_at_once_and_the_server_stays_responsive(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    answers: list[int] = []

    def create() -> None:
        with httpx.Client(headers=ws.http.headers, timeout=30) as http:
            response = http.post(
                f"{live_server.url}/api/v1/datasets/{ws.dataset}/data-rows",
                json={"data_rows": [{"row_data": str(fifo)}]},
            )
            answers.append(response.status_code)
            assert "is not a regular file" in response.json()["failures"][0]["message"]

    threads = [threading.Thread(target=create) for _ in range(42)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    health = httpx.get(f"{live_server.url}/health", timeout=10)
    for thread in threads:
        thread.join(timeout=60)
    assert health.status_code == 200
    assert answers == [201] * 42
    assert time.monotonic() - started < 30
    job = run_import(ws, ndjson([seg(instanceURI=str(fifo), colorRGB=[255, 0, 0]), box()]))
    assert "is not a regular file" in job["statuses"][0]["errors"][0]["message"] and job["succeeded"] == 1


BAD_PATHS = {
    "long": "/" + "a" * 5000,
    "nul": "/tmp/a\x00b.png",
    "nosuchuser": "~nosuchuser/x.png",
    "proc": "/proc/self/mem",
    "dangling": "/nonexistent/folder/x.png",
    "malformed_url": "http://[::1/x.png",  # urlparse raises ValueError on it
}


def test_bad_row_data_fails_its_own_row(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    good = write_image(tmp_path / "good.png", 20, 10)
    specs: list[object] = [{"row_data": path, "global_key": name} for name, path in BAD_PATHS.items()]
    specs.append({"row_data": str(good), "global_key": "good"})
    result = _rows(live_server, ws.http, ws.dataset, specs)
    assert [r["global_key"] for r in result["created"]] == ["good"]  # type: ignore[index]
    messages = _messages(result["failures"])
    assert len(messages) == len(BAD_PATHS)
    assert all(str(Path.cwd()) not in m for m in messages)


def test_bad_paths_fail_their_own_row_embedded_too(tmp_path: Path) -> None:
    """Embedded, a data row may name any file (the user reads their own): unreadable ones still fail alone."""
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    hub = Hub(db=db, blobs=open_blob_store(tmp_path), organization_id="", actor="t", settings=Settings())
    from labelport.service.hub import ensure_organization

    hub.organization_id = ensure_organization(db, "default", "t@x")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    good = write_image(tmp_path / "good.png", 20, 10)
    dataset = datasets.create_dataset(hub, "d")
    specs = [{"row_data": path} for path in [*BAD_PATHS.values(), str(fifo)]]
    result = datasets.create_data_rows(hub, dataset.id, [*specs, {"row_data": str(good)}])
    assert [r.row_data for r in result.created] == [str(good.resolve())]
    assert len(result.failures) == len(specs)
    reasons = {f.index: f.message for f in result.failures}
    assert "cannot be read" in reasons[3] or "is not a regular file" in reasons[3]  # /proc/self/mem
    assert "row_data 'http://[::1/x.png' is not a valid path or URL" in reasons[5]
    assert "is not a regular file" in reasons[len(BAD_PATHS)]
    db.dispose()


def test_bad_mask_references_fail_their_own_line(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    lines = [
        b'{"uuid":"%s","name":"seg","dataRow":{"globalKey":"img-0"},"mask":{"instanceURI":"/tmp/a\\u0000b.png",'
        b'"colorRGB":[255,0,0]}}' % str(__import__("uuid").uuid4()).encode(),
        seg(instanceURI="/" + "m" * 6000, colorRGB=[255, 0, 0]),
        seg(instanceURI="~nosuchuser/mask.png", colorRGB=[255, 0, 0]),
        seg(instanceURI="ftp://example.org/mask.png", colorRGB=[255, 0, 0]),
        seg(instanceURI="http://[::1", colorRGB=[255, 0, 0]),
        box(),
    ]
    job = run_import(ws, ndjson(lines))
    assert job["state"] == "FINISHED" and job["succeeded"] == 1 and job["failed"] == 5, job
    messages = [s["errors"][0]["message"] for s in job["statuses"][:5]]
    assert "NUL character" in messages[0]
    assert all(str(Path.cwd()) not in m for m in messages), messages


@pytest.mark.parametrize("serving", [True, False])
def test_policy_roots_follow_the_process(serving: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Serving, only the configured roots; embedded, also the working folder (imports) or anywhere (rows)."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(serving=serving)
    imports = FilePolicy.for_imports(settings)
    rows = FilePolicy.for_rows(settings)
    if serving:
        assert imports.roots == () and rows.roots == ()
    else:
        assert imports.roots == (tmp_path.resolve(),) and rows.roots is None
    assert MediaType.IMAGE  # the media module is importable without a server
