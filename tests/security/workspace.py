"""A small image project on a live server, made through the HTTP API, for the security probes."""

from __future__ import annotations

import base64
import io
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from PIL import Image

from labelport.service.synthetic import write_image
from tests.api.server import LiveServer

WIDTH, HEIGHT = 20, 10


@dataclass
class Workspace:
    """Project ``project`` (image, tools ``box`` and ``seg``) with rows ``img-0`` .. ``img-{n-1}`` batched."""

    http: httpx.Client
    project: str
    dataset: str
    rows: list[str]


def workspace(server: LiveServer, media: Path, rows: int = 3) -> Workspace:
    http = httpx.Client(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=60
    )
    images = [write_image(media / f"img{i}.png", WIDTH, HEIGHT) for i in range(rows)]
    dataset = ok(http.post("/datasets", json={"name": "d"}))["id"]
    created = ok(
        http.post(
            f"/datasets/{dataset}/data-rows",
            json={"data_rows": [{"row_data": str(p), "global_key": f"img-{i}"} for i, p in enumerate(images)]},
        )
    )
    assert created["failures"] == [], created["failures"]
    tools = [{"tool": "rectangle", "name": "box"}, {"tool": "raster-segmentation", "name": "seg"}]
    ontology = ok(http.post("/ontologies", json={"name": "o", "normalized": {"tools": tools}}))["id"]
    project = ok(http.post("/projects", json={"name": "p", "media_type": "image"}))["id"]
    ok(http.put(f"/projects/{project}/ontology", json={"ontology_id": ontology}))
    ids = [r["id"] for r in created["created"]]
    ok(http.post(f"/projects/{project}/batches", json={"name": "all", "data_row_ids": ids}))
    return Workspace(http, project, dataset, ids)


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def box(key: str = "img-0", uid: str | None = None) -> dict[str, Any]:
    return {
        "uuid": uid or str(uuid.uuid4()),
        "name": "box",
        "dataRow": {"globalKey": key},
        "bbox": {"top": 1, "left": 1, "height": 3, "width": 3},
    }


def png(rgb: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def mask_rgb() -> np.ndarray[Any, Any]:
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    rgb[2:5, 3:9] = (255, 0, 0)
    return rgb


def seg(key: str = "img-0", **mask: Any) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "name": "seg", "dataRow": {"globalKey": key}, "mask": mask}


def inline_seg(key: str = "img-0") -> dict[str, Any]:
    return seg(key, imBytes=base64.b64encode(png(mask_rgb())).decode(), colorRGB=[255, 0, 0])


def ndjson(lines: list[Any]) -> bytes:
    return b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines)


def run_import(ws: Workspace, body: bytes, kind: str = "prediction", timeout: float = 120) -> dict[str, Any]:
    """Upload ``body`` as an import and wait for its end; returns the job with its ``statuses``."""
    job = ok(ws.http.post(f"/projects/{ws.project}/imports", params={"name": "i", "kind": kind}, content=body))
    return wait_import(ws.http, job["id"], timeout)


def wait_import(http: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = ok(http.get(f"/imports/{job_id}"))
        if job["state"] in ("FINISHED", "FAILED"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    job["statuses"] = ok(http.get(f"/imports/{job_id}/statuses", params={"limit": 1000}))["items"]
    return job
