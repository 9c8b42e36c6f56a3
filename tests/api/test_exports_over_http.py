"""Exports, masks and the review workflow over HTTP: the same rows as embedded, signed mask URLs that open
without a key (and only while valid), and the legacy export."""

from __future__ import annotations

import base64
import io
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import numpy as np
import orjson
import pytest
from PIL import Image

from labelport.errors import ValidationError
from labelport.jobs import ThreadRunner, recover_jobs
from labelport.jobs.runner import JobContext
from labelport.sdk import Client
from labelport.sdk.embedded import EmbeddedBackend
from labelport.sdk.exports import ExportTask
from labelport.sdk.imports import LabelImport
from labelport.service import auth, export_jobs
from labelport.service.synthetic import write_image, write_series
from labelport.store import Database
from tests.api.server import LiveServer

PARAMS = {
    "attachments": True,
    "metadata_fields": True,
    "data_row_details": True,
    "project_details": True,
    "label_details": True,
    "performance_details": True,
}


def png(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def urls_dropped(value: Any) -> Any:
    """``value`` without mask URLs (they differ by design: files embedded, signed links from a server)."""
    if isinstance(value, dict):
        return {k: ("<url>" if k in ("url", "instanceURI") else urls_dropped(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [urls_dropped(v) for v in value]
    return value


def build(client: Client, tmp_path: Path) -> tuple[Any, list[str], np.ndarray[Any, Any], str]:
    """An image project: three rows with a box, a composite mask and a radio answer as ground truth."""
    images = [write_image(tmp_path / f"img{i}.png", 40, 30) for i in range(3)]
    dataset = client.create_dataset("images")
    specs = [
        {"row_data": str(p), "global_key": f"img-{i}", "metadata_fields": [{"name": "site", "value": f"s{i}"}]}
        for i, p in enumerate(images)
    ]
    assert dataset.create_data_rows(specs).errors is None
    ids = [i for i in client.get_data_row_ids_for_global_keys([f"img-{i}" for i in range(3)])["results"] if i]
    ontology = client.create_ontology(
        "o",
        {
            "tools": [{"tool": "rectangle", "name": "box"}, {"tool": "raster-segmentation", "name": "seg"}],
            "classifications": [{"type": "radio", "name": "quality", "options": [{"label": "good"}, {"label": "bad"}]}],
        },
        media_type="image",
    )
    project = client.create_project("exports", media_type="image")
    project.connect_ontology(ontology)
    project.create_batch("all", global_keys=[f"img-{i}" for i in range(3)])
    composite = np.zeros((30, 40, 3), np.uint8)
    composite[5:12, 6:20] = (255, 0, 0)
    mask_uuid = str(uuid.uuid4())
    items: list[dict[str, Any]] = []
    for i in range(3):
        key = {"globalKey": f"img-{i}"}
        items.append(
            {
                "uuid": str(uuid.uuid4()),
                "dataRow": key,
                "name": "box",
                "bbox": {"top": 1, "left": 2, "height": 5, "width": 6},
            }
        )
        items.append({"uuid": str(uuid.uuid4()), "dataRow": key, "name": "quality", "answer": {"name": "good"}})
    items.append(
        {
            "uuid": mask_uuid,
            "dataRow": {"globalKey": "img-0"},
            "name": "seg",
            "mask": {"imBytes": base64.b64encode(png(composite)).decode(), "colorRGB": [255, 0, 0]},
        }
    )
    assert LabelImport.create_from_objects(client, project.uid, "gt", items).errors == []
    project.approve([ids[0]], seconds_to_review=4)
    project.reject([ids[1]])
    project.set_label_performance(ids[2], seconds_to_create=9, skipped=False)
    return project, ids, composite, mask_uuid


def test_export_over_http_equals_the_embedded_export(http_client: Client, tmp_path: Path) -> None:
    project, ids, composite, mask_uuid = build(http_client, tmp_path)
    remote = project.export_v2(params=PARAMS)
    remote.wait_till_done()
    assert remote.status == "COMPLETE" and remote.errors is None
    assert remote.path is not None and remote.path.is_file()
    embedded = ExportTask(http_client, EmbeddedBackend(http_client.hub).export_v2(project.uid, PARAMS, None))
    assert [r.json for r in remote.get_buffered_stream()] == remote.result
    assert len(remote.result) == 3 and remote.get_total_lines() == 3
    assert urls_dropped(remote.result) == urls_dropped(embedded.result)

    # The mask URL is absolute and signed: plain httpx, no header, gets the imported mask.
    [row0] = [r for r in remote.result if r["data_row"]["id"] == ids[0]]
    [mask] = [o for o in row0["projects"][project.uid]["labels"][0]["annotations"]["objects"] if "composite_mask" in o]
    url = mask["composite_mask"]["url"]
    assert url.startswith("http://127.0.0.1:") and "signature=" in url and mask_uuid in url
    response = httpx.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")), composite)

    # Filters travel; bad ones fail before any job starts, as embedded.
    done = project.export_v2(params={}, filters={"workflow_status": "Done"}).result
    assert [r["data_row"]["id"] for r in done] == [ids[0]]
    with pytest.raises(ValidationError) as bad:
        project.export_v2(filters={"workflow_status": "Finished"})
    assert bad.value.field == "workflow_status"

    # Workflow over HTTP: status, history, review seconds.
    assert project.workflow_status(ids[1]).status == "InRework"
    assert [h.action.value for h in project.workflow_history(ids[0])] == ["APPROVE", "MOVE", "MOVE"]
    project.rework([ids[1]])
    assert project.workflow_status(ids[1]).status == "InReview"


def test_signed_mask_urls_expire_and_resist_tampering(
    http_client: Client, live_server: LiveServer, tmp_path: Path
) -> None:
    project, _ids, _, mask_uuid = build(http_client, tmp_path)
    path = f"/api/v1/projects/{project.uid}/annotations/{mask_uuid}/index/1/mask"
    secret = (live_server.home / "secret").read_bytes().strip()
    base = live_server.url + path
    key = key_id(live_server, live_server.admin_key)
    good = httpx.get(f"{base}?{auth.signed_query(secret, path, 60, key)}")
    assert good.status_code == 200 and good.content.startswith(b"\x89PNG")

    past = int(time.time()) - 10
    expired = httpx.get(base, params={"expires": past, "by": key, "signature": auth.sign(secret, path, past, key)})
    later = int(time.time()) + 60
    signed = auth.sign(secret, path, later, key)
    tampered = httpx.get(base, params={"expires": later, "by": key, "signature": "0" * 64})
    stretched = httpx.get(base, params={"expires": later + 1, "by": key, "signature": signed})
    other_frame = httpx.get(
        base.replace("/index/1/", "/index/2/"), params={"expires": later, "by": key, "signature": signed}
    )
    other_key = httpx.get(base, params={"expires": later, "by": "someone-else", "signature": signed})
    bare = httpx.get(base)
    for response in (expired, tampered, stretched, other_frame, other_key, bare):
        assert response.status_code in (401, 403), response.text
        assert response.json()["error"]["type"] == "AuthenticationError"
    assert "expired" in expired.json()["error"]["message"]

    # With a key instead: a viewer of the project reads it, an admin of another project does not.
    viewer = live_server.key("viewer@x.org", project=project.uid, role="viewer")
    assert httpx.get(base, headers={"Authorization": f"Bearer {viewer}"}).status_code == 200
    other = http_client.create_project("other", media_type="image")
    stranger = live_server.key("stranger@x.org", project=other.uid, role="admin")
    assert httpx.get(base, headers={"Authorization": f"Bearer {stranger}"}).status_code == 403

    # The export's own download URL opens without a key too, and signs the links it serves.
    headers = {"Authorization": f"Bearer {live_server.admin_key}"}
    with httpx.Client(base_url=live_server.url + "/api/v1", headers=headers) as admin:
        job = admin.post(f"/projects/{project.uid}/exports", json={"params": {}}).json()
        while job["state"] not in ("FINISHED", "FAILED"):
            time.sleep(0.05)
            job = admin.get(f"/exports/{job['id']}").json()
        assert job["state"] == "FINISHED" and job["rows"] == 3
        assert admin.get(f"/exports/{job['id']}/files/../../secret").status_code == 404
    download = httpx.get(job["download_url"])
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/x-ndjson")
    linked = [line for line in download.text.splitlines() if mask_uuid in line]
    assert len(linked) == 1 and '"url":"http://127.0.0.1:' in linked[0]
    expires = parse_qs(urlparse(job["download_url"]).query)["expires"][0]
    assert (
        httpx.get(job["download_url"].replace(f"expires={expires}", f"expires={int(expires) + 1}")).status_code == 401
    )


def key_id(server: LiveServer, secret: str) -> str:
    """The id of an API key, as signed URLs name it."""
    db = Database(server.database_url, migrate=False)
    try:
        return next(k.id for k in auth.list_api_keys(db) if k.prefix == secret[: auth.SHOWN_PREFIX_LENGTH])
    finally:
        db.dispose()


def test_legacy_export_labels_over_http(http_client: Client, tmp_path: Path) -> None:
    project, ids, composite, _mask = build(http_client, tmp_path)
    remote = project.export_labels(download=True)
    assert isinstance(remote, list)
    local = EmbeddedBackend(http_client.hub).export_labels(project.uid, None, None)
    assert urls_dropped(remote) == urls_dropped(orjson.loads(local.read_bytes()))
    [row0] = [r for r in remote if r["DataRow ID"] == ids[0]]
    [seg] = [o for o in row0["Label"]["objects"] if "instanceURI" in o]
    fetched = httpx.get(seg["instanceURI"])
    assert fetched.status_code == 200
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(fetched.content)).convert("RGB")), composite)
    assert project.export_labels(start="2000-01-01", end="2000-01-02", download=True) == []
    with pytest.raises(ValidationError):
        project.export_labels(start="yesterday")


def test_legacy_dicom_frames_files_open_from_their_signed_links(http_client: Client, tmp_path: Path) -> None:
    write_series(tmp_path / "series", rows=32, columns=32, slices=4)
    dataset = http_client.create_dataset("dicom")
    assert dataset.create_data_rows([{"row_data": str(tmp_path / "series"), "global_key": "ct"}]).errors is None
    ontology = http_client.create_ontology(
        "d", {"tools": [{"tool": "raster-segmentation", "name": "seg"}]}, media_type="dicom"
    )
    project = http_client.create_project("dicom", media_type="dicom")
    project.connect_ontology(ontology)
    project.create_batch("b", global_keys=["ct"])
    mask = np.zeros((32, 32), np.uint8)
    mask[4:9, 10:20] = 255
    item = {
        "uuid": str(uuid.uuid4()),
        "dataRow": {"globalKey": "ct"},
        "groupKey": "axial",
        "masks": {
            "frames": [{"index": 2, "imBytes": base64.b64encode(png(mask)).decode()}],
            "instances": [{"colorRGB": [255, 255, 255], "name": "seg"}],
        },
    }
    assert LabelImport.create_from_objects(http_client, project.uid, "gt", [item]).errors == []
    rows = project.export_labels(download=True)
    assert isinstance(rows, list)
    [row] = rows
    [group] = [g for g in row["Label"]["groups"] if g["name"] == "axial"]
    frames = httpx.get(group["frames"])  # a signed link to the per-frame NDJSON, no key
    assert frames.status_code == 200, frames.text
    [frame] = [orjson.loads(line) for line in frames.text.splitlines()]
    assert frame["frameNumber"] == 2
    png_url = frame["objects"][0]["instanceURI"]
    assert "signature=" in png_url
    cut = np.asarray(Image.open(io.BytesIO(httpx.get(png_url).content)))
    assert np.array_equal(cut > 0, mask > 0)


def test_an_unfinished_export_runs_again_after_a_restart(http_client: Client, tmp_path: Path) -> None:
    project, _ids, _, _mask = build(http_client, tmp_path)
    hub = http_client.hub
    job_id = export_jobs.start_export(hub, project.uid, {"label_details": True}, None)
    runner = ThreadRunner(JobContext(hub.db, hub.blobs, hub.settings), workers=1)
    try:
        resumed, failed = recover_jobs(JobContext(hub.db, hub.blobs, hub.settings), runner)
        assert job_id in resumed and failed == []
        runner.wait(job_id, timeout=60)
    finally:
        runner.shutdown()
    job = export_jobs.get_export_job(hub, job_id)
    assert (job.state, job.rows, job.errors) == ("FINISHED", 3, [])
    assert len(export_jobs.output_path(hub, job).read_text().splitlines()) == 3
