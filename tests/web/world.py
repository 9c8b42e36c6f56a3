"""The workspace the viewer's tests look at: ``labelport demo`` plus the README's polyline, a mask drawn on
sagittal frame 5, a pre-label, a failing annotation and a second series, imported over HTTP as users do."""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from PIL import Image

from labelport.service import auth, datasets, projects
from labelport.service.demo import run_demo
from labelport.service.hub import Hub
from labelport.service.synthetic import write_series
from tests.api.server import LiveServer

POLYLINE_UUID = "78a8a027-9089-420c-8348-6099eb77e4aa"
MASK_UUID = "1b0e5a9c-3d62-4c1e-9f0a-5a2f3e7d8c11"
PRELABEL_UUID = "5f0b8d7e-2c4a-4e59-9a1b-0c7d3e2f1a66"
OUT_OF_RANGE_UUID = "0d9c7f3e-1111-4a2b-8c3d-4e5f60718293"
BAD_FRAME_UUID = "0d9c7f3e-2222-4a2b-8c3d-4e5f60718293"
SERIES_KEY = "demo/phantom-series"
SECOND_KEY = "demo/second-series"

# The README example's polyline: axial frames 1 and 8 (Labelbox counts from 1).
README_POLYLINE: dict[str, Any] = {
    "uuid": POLYLINE_UUID,
    "dataRow": {"globalKey": SERIES_KEY},
    "name": "line_dicom",
    "groupKey": "axial",
    "segments": [
        {
            "keyframes": [
                {"frame": 1, "line": [{"x": 10, "y": 10}, {"x": 50, "y": 20}]},
                {"frame": 8, "line": [{"x": 10, "y": 30}, {"x": 50, "y": 40}]},
            ]
        }
    ],
}
# The sagittal plane of the 64 x 64 x 16 phantom is 64 px wide (posterior) and 16 px high (inferior).
SAGITTAL_MASK = np.zeros((16, 64), dtype=bool)
SAGITTAL_MASK[4:9, 20:40] = True
MASK_FRAME = 5  # Labelbox frame (from 1): labelport frame 4, the voxels of column i = 4


def png(mask: np.ndarray[Any, Any], color: tuple[int, int, int]) -> bytes:
    rgb = np.zeros((*mask.shape, 3), dtype=np.uint8)
    rgb[mask] = color
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class World:
    server: LiveServer
    project_id: str
    series_id: str
    second_id: str
    import_job: str
    keys: dict[str, str]
    video_project_id: str = ""
    video_id: str = ""


VIDEO_KEY = "demo/clip.mp4"
VIDEO_LINE_UUID = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"


def write_video(path: Path, frames: int = 12) -> Path:
    """A 64 x 48 mp4 whose frame i is a flat grey of 20 * i."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 20 * i, dtype=np.uint8))
    writer.release()
    return path


def build(server: LiveServer, media: Path) -> World:
    hub = Hub.open(home=server.home, database_url=server.database_url, actor=auth.DEFAULT_ADMIN)
    try:
        demo = run_demo(hub, media)
        project_id = demo.project.id
        second = write_series(media / "second-series", rows=32, columns=40, slices=8, spacing=(1.0, 1.0, 3.0))
        assert demo.dataset is not None
        created = datasets.create_data_rows(
            hub, demo.dataset.id, [{"row_data": str(second[0].parent), "global_key": SECOND_KEY, "media_type": "dicom"}]
        )
        assert not created.failures, created.failures
        projects.create_batch(hub, project_id, "second-batch", global_keys=[SECOND_KEY], priority=5)
        series_id, second_id = datasets.data_row_ids_for_global_keys(hub, [SERIES_KEY, SECOND_KEY])[0]
    finally:
        hub.db.dispose()
    assert series_id is not None and second_id is not None
    mask = {
        "uuid": MASK_UUID,
        "dataRow": {"globalKey": SERIES_KEY},
        "groupKey": "sagittal",
        "masks": {
            "frames": [{"index": MASK_FRAME, "imBytes": base64.b64encode(png(SAGITTAL_MASK, (255, 0, 0))).decode()}],
            "instances": [{"colorRGB": [255, 0, 0], "name": "segmentation_mask_dicom"}],
        },
    }
    out_of_range = {**README_POLYLINE, "uuid": OUT_OF_RANGE_UUID}
    out_of_range["segments"] = [{"keyframes": [{"frame": 99, "line": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}]}]
    not_a_frame = {**README_POLYLINE, "uuid": BAD_FRAME_UUID}
    not_a_frame["segments"] = [{"keyframes": [{"frame": "eight", "line": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}]}]
    second_line = {
        **README_POLYLINE,
        "uuid": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
        "dataRow": {"globalKey": SECOND_KEY},
    }
    second_line["segments"] = [{"keyframes": [{"frame": 2, "line": [{"x": 5, "y": 5}, {"x": 30, "y": 20}]}]}]
    prelabel = {**README_POLYLINE, "uuid": PRELABEL_UUID}
    prelabel["segments"] = [{"keyframes": [{"frame": 8, "line": [{"x": 10, "y": 50}, {"x": 50, "y": 58}]}]}]
    admin = httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {server.admin_key}"})
    with admin:
        truth = b"\n".join(orjson.dumps(a) for a in (README_POLYLINE, mask, out_of_range, second_line, not_a_frame))
        import_job = _import(admin, project_id, "readme-example", "ground_truth", truth, "readme.ndjson")
        _import(admin, project_id, "model-v1", "prediction", orjson.dumps(prelabel), "predictions.ndjson")
    video_project, video_id = _video(server, media)
    keys = {
        "admin": server.admin_key,
        "reviewer": server.key("reviewer@example.org", project=project_id, role="reviewer"),
        "labeler": server.key("labeler@example.org", project=project_id, role="labeler"),
    }
    return World(server, project_id, series_id, second_id, import_job, keys, video_project, video_id)


def _video(server: LiveServer, media: Path) -> tuple[str, str]:
    """A video project whose clip has a line tracked on frames 4 and 7 (Labelbox counts from 1)."""
    clip = write_video(media / "clip.mp4")
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    with httpx.Client(base_url=server.url + "/api/v1", headers=headers) as admin:
        tools = {"tools": [{"tool": "line", "name": "track", "color": "#ffa500"}]}
        ontology = admin.post("/ontologies", json={"name": "video", "normalized": tools, "media_type": "video"}).json()
        project = admin.post("/projects", json={"name": "demo: video", "media_type": "video"}).json()["id"]
        admin.put(f"/projects/{project}/ontology", json={"ontology_id": ontology["id"]}).raise_for_status()
        dataset = admin.post("/datasets", json={"name": "videos"}).json()["id"]
        row = admin.post(
            f"/datasets/{dataset}/data-rows", json={"data_rows": [{"row_data": str(clip), "global_key": VIDEO_KEY}]}
        ).json()["created"][0]["id"]
        admin.post(
            f"/projects/{project}/batches", json={"name": "clips", "global_keys": [VIDEO_KEY]}
        ).raise_for_status()
        line = {
            "uuid": VIDEO_LINE_UUID,
            "name": "track",
            "dataRow": {"globalKey": VIDEO_KEY},
            "segments": [
                {
                    "keyframes": [
                        {"frame": 4, "line": [{"x": 5, "y": 5}, {"x": 40, "y": 30}]},
                        {"frame": 7, "line": [{"x": 10, "y": 10}, {"x": 50, "y": 40}]},
                    ]
                }
            ],
        }
        _import(admin, project, "tracks", "ground_truth", orjson.dumps(line), "tracks.ndjson")
    return project, str(row)


def _import(client: httpx.Client, project_id: str, name: str, kind: str, body: bytes, file_name: str) -> str:
    job = client.post(
        f"/projects/{project_id}/imports", params={"name": name, "kind": kind, "file_name": file_name}, content=body
    ).json()
    deadline = time.monotonic() + 30
    while job["state"] not in ("FINISHED", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/imports/{job['id']}").json()
    assert job["state"] == "FINISHED", job
    return str(job["id"])
