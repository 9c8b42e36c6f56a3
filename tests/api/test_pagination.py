"""Pages are cut in SQL: following ``next_cursor`` gives every item once, in order, whatever the page size;
import statuses (stored in pages of 1000) are cut across stored pages, with and without ``failures_only``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from labelport.model.media import MediaType
from labelport.service import datasets, ontologies, projects
from labelport.service.synthetic import write_image
from tests.api.server import LiveServer, remote_client

ROWS = 3


def _all(h: httpx.Client, path: str, limit: int, **params: Any) -> tuple[list[Any], int]:
    """Every item of a list, page by page; and how many pages it took."""
    items: list[Any] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = h.get(path, params=query).json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_lists_and_statuses_page_in_sql(live_server: LiveServer, tmp_path: Path) -> None:
    client = remote_client(live_server)
    hub = client.hub
    try:
        for i in range(5):
            datasets.create_dataset(hub, f"d{i}")
        image = write_image(tmp_path / "img.png", 32, 24)
        ds = datasets.list_datasets(hub)[0]
        assert not datasets.create_data_rows(
            hub, ds.id, [{"row_data": str(image), "global_key": f"k{i}"} for i in range(ROWS)]
        ).failures
        onto = ontologies.create_ontology(hub, "o", {"tools": [{"tool": "rectangle", "name": "box"}]})
        project = projects.create_project(hub, "p", MediaType.IMAGE)
        projects.connect_ontology(hub, project.id, onto.id)
        projects.create_batch(hub, project.id, "all", global_keys=[f"k{i}" for i in range(ROWS)])
    finally:
        hub.db.dispose()
        client.close()
    # 2,500 annotations; every 7th names a feature the ontology lacks, so failures sit in all three pages.
    lines = [
        {
            "uuid": str(uuid.UUID(int=i + 1)),
            "name": "nope" if i % 7 == 0 else "box",
            "dataRow": {"globalKey": f"k{i % ROWS}"},
            "bbox": {"top": 1, "left": 1, "height": 2, "width": 2},
        }
        for i in range(2500)
    ]
    headers = {"Authorization": f"Bearer {live_server.admin_key}"}
    with httpx.Client(base_url=live_server.url + "/api/v1", headers=headers, timeout=60) as h:
        names, pages = _all(h, "/datasets", 2)
        assert [d["name"] for d in names] == [f"d{i}" for i in range(5)] and pages == 3
        assert h.get("/datasets", params={"limit": 5}).json()["next_cursor"] is None

        started = h.post(
            f"/projects/{project.id}/imports",
            params={"name": "mixed", "kind": "prediction"},
            content=b"\n".join(orjson.dumps(x) for x in lines),
        ).json()
        job = started
        while job["state"] not in ("FINISHED", "FAILED"):
            job = h.get(f"/imports/{started['id']}").json()
        assert (job["state"], job["failed"]) == ("FINISHED", 358)
        path = f"/imports/{job['id']}/statuses"
        every, _ = _all(h, path, 1000)
        assert [s["uuid"] for s in every] == [x["uuid"] for x in lines]
        for limit in (333, 700, 999):
            paged, pages = _all(h, path, limit)
            assert paged == every and pages == -(-2500 // limit)
        failures = [s for s in every if s["errors"]]
        assert len(failures) == 358
        for limit in (7, 50, 200):
            paged, _ = _all(h, path, limit, failures_only="true")
            assert paged == failures
        # A cursor past the end is an empty last page.
        assert h.get(path, params={"limit": 10, "cursor": "5000"}).json() == {"items": [], "next_cursor": None}
