"""Probes: signed URLs end with the access of whoever asked for them, links signed from a signed URL live no
longer than it, absolute URLs never come from the request's ``Host``; files the server writes are private;
a row outside a project has no history there."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest

from labelport.service import auth
from labelport.store import Database
from tests.api.server import LiveServer, thread_server
from tests.security.workspace import inline_seg, ndjson, ok, run_import, workspace


def _export(http: httpx.Client, project: str) -> dict[str, object]:
    job = ok(http.post(f"/projects/{project}/exports", json={"params": {}}))
    while job["state"] not in ("FINISHED", "FAILED"):
        time.sleep(0.05)
        job = ok(http.get(f"/exports/{job['id']}"))
    assert job["state"] == "FINISHED", job
    return job  # type: ignore[no-any-return]


def _mask_urls(text: str) -> list[str]:
    return [u for line in text.splitlines() for u in _urls(orjson.loads(line)) if "/mask?" in u]


def _urls(value: object) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in _urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _urls(v)]
    return [value] if isinstance(value, str) and value.startswith("http") else []


def _expires(url: str) -> int:
    return int(parse_qs(urlparse(url).query)["expires"][0])


def test_signed_urls_end_with_the_membership_or_the_key(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    assert run_import(ws, ndjson([inline_seg()]), kind="ground_truth")["succeeded"] == 1
    member = live_server.key("member@x.org", project=ws.project, role="viewer")
    with httpx.Client(base_url=live_server.url + "/api/v1", headers={"Authorization": f"Bearer {member}"}) as http:
        job = _export(http, ws.project)
    download = str(job["download_url"])
    [mask] = _mask_urls(httpx.get(download).text)
    assert httpx.get(mask).status_code == 200
    # The member leaves the project: every URL it was given stops working at once.
    ws.http.delete(f"/projects/{ws.project}/members/member@x.org").raise_for_status()
    assert httpx.get(mask).status_code == 403
    assert httpx.get(download).status_code == 404  # a job of a project it has no role in
    # An admin's URLs end when its key is revoked.
    admin_job = _export(ws.http, ws.project)
    [admin_mask] = _mask_urls(httpx.get(str(admin_job["download_url"])).text)
    assert httpx.get(admin_mask).status_code == 200
    db = Database(live_server.database_url, migrate=False)
    auth.revoke_api_key(db, live_server.admin_key[: auth.SHOWN_PREFIX_LENGTH])
    db.dispose()
    revoked = httpx.get(admin_mask)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]


def test_links_live_no_longer_than_the_signed_url_that_served_them(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    run_import(ws, ndjson([inline_seg()]), kind="ground_truth")
    job = _export(ws.http, ws.project)
    download = str(job["download_url"])  # signed for a day
    stretched = httpx.get(download + "&url_ttl=604800")
    assert stretched.status_code == 200, stretched.text
    [mask] = _mask_urls(stretched.text)
    assert _expires(mask) <= _expires(download)
    with_key = ws.http.get(f"/exports/{job['id']}/download", params={"url_ttl": 7 * 24 * 3600})
    assert with_key.status_code == 200, with_key.text
    [long_mask] = _mask_urls(with_key.text)
    assert _expires(long_mask) > _expires(download)  # a key may ask for up to 7 days


@pytest.mark.parametrize("public", [None, "https://labels.example.org"])
def test_absolute_urls_ignore_the_host_header(database_url: str, tmp_path: Path, public: str | None) -> None:
    with thread_server(tmp_path / "home", database_url, (tmp_path,), public_url=public) as server:
        ws = workspace(server, tmp_path / "media")
        run_import(ws, ndjson([inline_seg()]), kind="ground_truth")
        evil = {"Host": "evil.test"}
        job = ok(ws.http.post(f"/projects/{ws.project}/exports", json={"params": {}}, headers=evil))
        while job["state"] != "FINISHED":
            time.sleep(0.05)
            job = ok(ws.http.get(f"/exports/{job['id']}", headers=evil))
        served = ws.http.get(f"/exports/{job['id']}/download", headers=evil).text
        urls = [str(job["download_url"]), *_mask_urls(served)]
        expected = public or server.url
        assert len(urls) == 2 and all(u.startswith(expected + "/api/v1/") for u in urls), urls


def test_files_the_server_writes_are_private(live_server: LiveServer, tmp_path: Path) -> None:
    ws = workspace(live_server, tmp_path / "media")
    run_import(ws, ndjson([inline_seg()]), kind="ground_truth")
    job = _export(ws.http, ws.project)
    home = live_server.home
    private = [home / "secret", home / "exports", home / "exports" / str(job["id"])]
    private += [p for p in (home / "exports").rglob("*") if p.is_file()]
    if live_server.database_url.startswith("sqlite"):
        private.append(Path(live_server.database_url.removeprefix("sqlite:///")))
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"


@pytest.mark.parametrize("route", ["workflow", "workflow/history"])
def test_a_row_outside_the_project_has_no_workflow_there(live_server: LiveServer, tmp_path: Path, route: str) -> None:
    ws = workspace(live_server, tmp_path / "media")
    other = ok(ws.http.post("/datasets", json={"name": "other"}))["id"]
    image = tmp_path / "media" / "img0.png"
    [row] = ok(ws.http.post(f"/datasets/{other}/data-rows", json={"data_rows": [{"row_data": str(image)}]}))["created"]
    answer = ws.http.get(f"/projects/{ws.project}/data-rows/{row['id']}/{route}")
    assert answer.status_code == 404, answer.text
    assert ws.http.get(f"/projects/{ws.project}/data-rows/{ws.rows[0]}/{route}").status_code == 200
