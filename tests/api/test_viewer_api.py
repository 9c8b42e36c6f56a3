"""The viewer's routes over HTTP: rows filtered and paginated in SQL, plane images that agree pixel for pixel
with the volume (checked against voxel positions in the patient, not against PlaneView), masks cut on every
plane, image and video frames, the review queue, jobs, reject reasons, and bad input as 422."""

from __future__ import annotations

import base64
import io
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import nibabel as nib
import numpy as np
import orjson
import pytest
from PIL import Image

from labelport.imaging import load_series
from tests.api.server import LiveServer
from tests.imaging.conftest import GEOMETRIES, write_series
from tests.web.world import MASK_UUID, SAGITTAL_MASK, build, png

IDENTITY = {"center": 128, "width": 256}  # stored values 0..255 show as themselves


def client(server: LiveServer, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {key or server.admin_key}"})


def decode(response: httpx.Response) -> np.ndarray[Any, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def wait(c: httpx.Client, path: str) -> dict[str, Any]:
    job: dict[str, Any] = c.get(path).json()
    deadline = time.monotonic() + 30
    while job["state"] not in ("FINISHED", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = c.get(path).json()
    return job


def oracle_planes(array: np.ndarray[Any, Any], affine: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
    """Plane stacks [frame, y, x] made by ranking voxel centres along the patient axes (an axis-aligned grid):
    axial x = L, y = P, frames inferior to superior; coronal x = L, y = inferior, frames A to P; sagittal
    x = P, y = inferior, frames R to L. Nothing of PlaneView is used."""
    ijk = np.indices(array.shape).reshape(3, -1)
    lps = affine[:3, :3] @ ijk + affine[:3, 3:4]
    ranks = [np.unique(np.round(lps[d], 3), return_inverse=True)[1].reshape(-1) for d in range(3)]
    sizes = [int(r.max()) + 1 for r in ranks]
    values = array.reshape(-1)
    out = {}
    for plane, (x_axis, y_axis, frame_axis, y_down_is_inferior) in {
        "axial": (0, 1, 2, False),
        "coronal": (0, 2, 1, True),
        "sagittal": (1, 2, 0, True),
    }.items():
        stack = np.zeros((sizes[frame_axis], sizes[y_axis], sizes[x_axis]), dtype=array.dtype)
        y = (sizes[y_axis] - 1 - ranks[y_axis]) if y_down_is_inferior else ranks[y_axis]
        stack[ranks[frame_axis], y, ranks[x_axis]] = values
        out[plane] = stack
    return out


def image_project(c: httpx.Client, tmp_path: Path, n: int, media: str = "dicom") -> tuple[str, str]:
    ontology = c.post(
        "/ontologies",
        json={"name": f"o-{uuid.uuid4().hex[:6]}", "normalized": {"tools": [{"tool": "line", "name": "line"}]}},
    ).json()
    project = c.post("/projects", json={"name": f"p-{uuid.uuid4().hex[:6]}", "media_type": media}).json()["id"]
    assert c.put(f"/projects/{project}/ontology", json={"ontology_id": ontology["id"]}).status_code == 200
    dataset = c.post("/datasets", json={"name": "d"}).json()["id"]
    return project, dataset


# --- pixels -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_plane_images_agree_pixel_for_pixel_with_the_volume(live_server: LiveServer, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    geometries = {
        "axial": {"rows": 9, "columns": 11, "slices": 6, "seed": 1},
        "flipped": dict(GEOMETRIES["flipped"].arguments),
        "non_square": {**GEOMETRIES["non_square"].arguments, "rows": 12, "columns": 14},
    }
    # Stored values 0..255, so the identity window shows each voxel as it is.
    series = {
        name: write_series(
            tmp_path / name,
            **arguments,
            pixels=rng.integers(
                0,
                256,
                size=(arguments["slices"], arguments.get("rows", 7), arguments.get("columns", 9)),
                dtype=np.uint16,
            ),
        )
        for name, arguments in geometries.items()
    }
    nifti_path = tmp_path / "volume.nii.gz"
    nifti_array = rng.integers(0, 256, size=(7, 5, 4)).astype(np.int16)
    nifti_affine = np.array(
        [[-1.5, 0, 0, 10], [0, 0, 2.0, -4], [0, -1.2, 0, 7], [0, 0, 0, 1]]
    )  # RAS: a coronal-ish grid
    nib.save(nib.Nifti1Image(nifti_array, nifti_affine), nifti_path)

    with client(live_server) as c:
        project, dataset = image_project(c, tmp_path, 0)
        specs = [
            {"row_data": str(s.directory), "global_key": name, "media_type": "dicom"} for name, s in series.items()
        ]
        created = c.post(f"/datasets/{dataset}/data-rows", json={"data_rows": specs}).json()
        assert created["failures"] == []
        c.post(f"/projects/{project}/batches", json={"name": "b", "global_keys": list(series)}).raise_for_status()
        nifti_project = c.post("/projects", json={"name": "n", "media_type": "nifti"}).json()["id"]
        nifti_row = c.post(
            f"/datasets/{dataset}/data-rows", json={"data_rows": [{"row_data": str(nifti_path), "global_key": "nii"}]}
        ).json()["created"][0]["id"]
        c.post(f"/projects/{nifti_project}/batches", json={"name": "b", "global_keys": ["nii"]}).raise_for_status()
        ids = dict(
            zip(series, c.post("/data-rows/lookup", json={"global_keys": list(series)}).json()["ids"], strict=True)
        )

        cases = [(project, ids[name], s.expected, s.affine_lps) for name, s in series.items()]
        ras_to_lps = np.diag([-1.0, -1.0, 1.0, 1.0])
        cases.append((nifti_project, nifti_row, nifti_array, ras_to_lps @ nifti_affine))
        for project_id, row_id, voxels, affine in cases:
            detail = c.get(f"/projects/{project_id}/viewer/rows/{row_id}").json()
            planes = {p["plane"]: p for p in detail["planes"]}
            for plane, stack in oracle_planes(np.asarray(voxels), np.asarray(affine)).items():
                assert (planes[plane]["frames"], planes[plane]["height"], planes[plane]["width"]) == stack.shape
                for frame in range(stack.shape[0]):
                    got = decode(
                        c.get(f"/projects/{project_id}/viewer/rows/{row_id}/slices/{plane}/{frame}", params=IDENTITY)
                    )
                    assert np.array_equal(got, stack[frame]), (row_id, plane, frame)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_real_series_planes_match_its_voxels_in_a_ct_window(live_server: LiveServer, tmp_path: Path) -> None:
    from tests.fixtures import HFS_SERIES

    volume = load_series(HFS_SERIES)
    window = {"center": 300.5, "width": 601}
    c_, w_ = window["center"], window["width"]
    expected_values = np.floor(
        np.clip(((volume.array.astype(np.float64) - (c_ - 0.5)) / (w_ - 1) + 0.5) * 255.0, 0, 255) + 0.5
    )
    with client(live_server) as c:
        project, dataset = image_project(c, tmp_path, 0)
        created = c.post(
            f"/datasets/{dataset}/data-rows", json={"data_rows": [{"row_data": str(HFS_SERIES), "global_key": "hfs"}]}
        ).json()
        row = created["created"][0]["id"]
        c.post(f"/projects/{project}/batches", json={"name": "b", "global_keys": ["hfs"]}).raise_for_status()
        detail = c.get(f"/projects/{project}/viewer/rows/{row}").json()
        assert {p["plane"]: p["letters"] for p in detail["planes"]}["sagittal"] == {
            "left": "A",
            "right": "P",
            "top": "S",
            "bottom": "I",
        }
        for plane, stack in oracle_planes(expected_values.astype(np.uint8), volume.affine_lps).items():
            for frame in sorted({0, stack.shape[0] // 2, stack.shape[0] - 1}):
                got = decode(c.get(f"/projects/{project}/viewer/rows/{row}/slices/{plane}/{frame}", params=window))
                assert np.array_equal(got, stack[frame]), (plane, frame)


# --- the viewer's world: masks, annotations, review -----------------------------------------------------------


def test_masks_are_cut_on_every_plane_and_annotations_name_their_import(
    live_server: LiveServer, tmp_path: Path
) -> None:
    world = build(live_server, tmp_path / "media")
    base = f"/projects/{world.project_id}/viewer/rows/{world.series_id}"
    with client(live_server) as c:
        items = {a["uuid"]: a for a in c.get(f"{base}/annotations").json()["items"]}
        mask = items[MASK_UUID]
        # Drawn on sagittal frame 5 (Labelbox), rows 4..8 (inferior) and columns 20..39 (posterior) of it.
        assert mask["mask"] == {
            "drawn_on": "sagittal",
            "frames": {"axial": [7, 8, 9, 10, 11], "sagittal": [4], "coronal": list(range(20, 40))},
        }
        assert mask["color"] == "#ff0000" and mask["feature"] == "segmentation_mask_dicom"
        assert mask["source"]["job_name"] == "readme-example" and mask["source"]["file"] == "readme.ndjson"
        sagittal = decode(c.get(f"{base}/masks/ground_truth/{MASK_UUID}/slices/sagittal/4"))
        assert sagittal.shape == (16, 64, 4)
        assert np.array_equal(sagittal[..., 3] > 0, SAGITTAL_MASK)
        assert (sagittal[SAGITTAL_MASK][:, :3] == (255, 0, 0)).all()
        axial = decode(c.get(f"{base}/masks/ground_truth/{MASK_UUID}/slices/axial/10"))
        expected = np.zeros((64, 64), dtype=bool)
        expected[20:40, 4] = True  # sagittal row 5 from the top is slice 15 - 5; its columns are axial rows
        assert np.array_equal(axial[..., 3] > 0, expected)
        assert c.get(f"{base}/masks/ground_truth/{MASK_UUID}/frames/0").status_code == 422
        assert c.get(f"{base}/masks/prediction/{MASK_UUID}/slices/axial/10").status_code == 404
        line = next(a for a in items.values() if a["feature"] == "line_dicom" and a["kind"] == "ground_truth")
        assert line["tool"] == "line" and line["color"] == "#00ff00"
        assert line["shapes"] == [
            {
                "type": "polyline",
                "points": [[10.0, 10.0], [50.0, 20.0]],
                "plane": "axial",
                "frame": 0,
                "radii": None,
                "angle": None,
                "edges": [],
            },
            {
                "type": "polyline",
                "points": [[10.0, 30.0], [50.0, 40.0]],
                "plane": "axial",
                "frame": 7,
                "radii": None,
                "angle": None,
                "edges": [],
            },
        ]
        kinds = sorted(a["kind"] for a in items.values())
        assert kinds == ["ground_truth", "ground_truth", "prediction"]
        prediction = next(a for a in items.values() if a["kind"] == "prediction")
        assert prediction["source"]["job_name"] == "model-v1"


def test_rows_are_filtered_and_paginated_in_sql(live_server: LiveServer, tmp_path: Path) -> None:
    world = build(live_server, tmp_path / "media")
    rows_path = f"/projects/{world.project_id}/viewer/rows"
    with client(live_server) as c:
        everything = c.get(rows_path).json()
        assert everything["total"] == 2 and everything["next_cursor"] is None
        first = everything["items"][0]
        assert first["global_key"] == "demo/phantom-series"
        assert first["annotations"] == {"ground_truth": 2, "prediction": 1}  # the polyline and the mask
        page = c.get(rows_path, params={"limit": 1}).json()
        assert [r["global_key"] for r in page["items"]] == ["demo/phantom-series"] and page["next_cursor"] == "1"
        page = c.get(rows_path, params={"limit": 1, "cursor": page["next_cursor"]}).json()
        assert [r["global_key"] for r in page["items"]] == ["demo/second-series"] and page["next_cursor"] is None
        assert c.get(rows_path, params={"search": "SECOND"}).json()["total"] == 1
        assert c.get(rows_path, params={"search": "%"}).json()["total"] == 0  # a wildcard is taken literally
        assert c.get(rows_path, params={"search": "demo_"}).json()["total"] == 0
        assert c.get(rows_path, params={"search": world.second_id}).json()["items"][0]["id"] == world.second_id
        batches = c.get(f"/projects/{world.project_id}/viewer").json()["batches"]
        second_batch = next(b["id"] for b in batches if b["name"] == "second-batch")
        assert [r["id"] for r in c.get(rows_path, params={"batch_id": second_batch}).json()["items"]] == [
            world.second_id
        ]
        assert c.get(rows_path, params={"status": "Done"}).json()["total"] == 0
        assert c.get(rows_path, params={"status": "Nope"}).status_code == 422

        c.post(
            f"/projects/{world.project_id}/workflow/actions",
            json={"action": "REJECT", "data_row_ids": [world.second_id], "reason": "  missed the vessel  "},
        ).raise_for_status()
        assert [r["id"] for r in c.get(rows_path, params={"status": "InRework"}).json()["items"]] == [world.second_id]
        history = c.get(f"/projects/{world.project_id}/data-rows/{world.second_id}/workflow/history").json()["items"]
        assert history[0]["action"] == "REJECT" and history[0]["reason"] == "missed the vessel"
        too_long = c.post(
            f"/projects/{world.project_id}/workflow/actions",
            json={"action": "APPROVE", "data_row_ids": [world.series_id], "reason": "x" * 2001},
        )
        assert too_long.status_code == 422
        projects = {p["id"]: p for p in c.get("/viewer/projects").json()["items"]}
        assert projects[world.project_id]["counts"] == {"ToLabel": 0, "InReview": 1, "InRework": 1, "Done": 0}


def test_the_review_queue_and_the_jobs_list(live_server: LiveServer, tmp_path: Path) -> None:
    world = build(live_server, tmp_path / "media")
    queue = f"/projects/{world.project_id}/viewer/queue/next"
    with client(live_server, world.keys["reviewer"]) as c:
        assert c.get(queue).json() == {"data_row_id": world.series_id}
        assert c.get(queue, params={"after": world.series_id}).json() == {"data_row_id": world.second_id}
        assert c.get(queue, params={"after": world.second_id}).json() == {"data_row_id": world.series_id}
        c.post(
            f"/projects/{world.project_id}/workflow/actions",
            json={"action": "APPROVE", "data_row_ids": [world.series_id]},
        ).raise_for_status()
        assert c.get(queue, params={"after": world.second_id}).json() == {"data_row_id": None}
        assert c.get(queue, params={"status": "Done"}).json() == {"data_row_id": world.series_id}

        export = c.post(f"/projects/{world.project_id}/exports", json={"params": {}}).json()
        assert wait(c, f"/exports/{export['id']}")["state"] == "FINISHED"
        jobs = c.get(f"/projects/{world.project_id}/viewer/jobs").json()["items"]
        assert [j["kind"] for j in jobs] == ["export", "import", "import"]  # newest first
        assert jobs[1]["label_kind"] == "prediction" and jobs[2]["file"] == "readme.ndjson"
        assert (jobs[2]["succeeded"], jobs[2]["failed"], jobs[2]["progress_done"]) == (3, 2, 5)
        download = jobs[0]["download_url"]
        assert download is not None and "lp_" not in download
        assert httpx.get(download).status_code == 200  # signed: no key needed
        only = c.get(f"/projects/{world.project_id}/viewer/jobs", params={"kind": "import", "limit": 1}).json()
        assert [j["name"] for j in only["items"]] == ["model-v1"] and only["next_cursor"] == "1"


def test_image_and_video_rows_show_their_frames_and_masks(live_server: LiveServer, tmp_path: Path) -> None:
    import cv2

    image = np.zeros((30, 40, 3), dtype=np.uint8)
    image[..., 0] = np.arange(40, dtype=np.uint8)[None, :] * 6
    image[..., 1] = np.arange(30, dtype=np.uint8)[:, None] * 8
    Image.fromarray(image).save(tmp_path / "image.png")
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (48, 32))
    for i in range(12):
        writer.write(np.full((32, 48, 3), i * 20, dtype=np.uint8))
    writer.release()
    composite = np.zeros((30, 40), dtype=bool)
    composite[5:12, 6:20] = True
    with client(live_server) as c:
        ontology = c.post(
            "/ontologies",
            json={
                "name": "img",
                "normalized": {
                    "tools": [
                        {"tool": "rectangle", "name": "box", "color": "#0000ff"},
                        {"tool": "raster-segmentation", "name": "seg"},
                    ]
                },
            },
        ).json()
        project = c.post("/projects", json={"name": "images", "media_type": "image"}).json()["id"]
        c.put(f"/projects/{project}/ontology", json={"ontology_id": ontology["id"]}).raise_for_status()
        dataset = c.post("/datasets", json={"name": "img"}).json()["id"]
        rows = c.post(
            f"/datasets/{dataset}/data-rows",
            json={
                "data_rows": [
                    {"row_data": str(tmp_path / "image.png"), "global_key": "img"},
                    {"row_data": str(video), "global_key": "clip"},
                ]
            },
        ).json()["created"]
        image_row, video_row = rows[0]["id"], rows[1]["id"]
        c.post(f"/projects/{project}/batches", json={"name": "b", "global_keys": ["img"]}).raise_for_status()
        video_project = c.post("/projects", json={"name": "videos", "media_type": "video"}).json()["id"]
        c.post(f"/projects/{video_project}/batches", json={"name": "b", "global_keys": ["clip"]}).raise_for_status()
        mask_uuid = str(uuid.uuid4())
        lines = [
            {
                "uuid": str(uuid.uuid4()),
                "name": "box",
                "dataRow": {"globalKey": "img"},
                "bbox": {"top": 2, "left": 3, "height": 10, "width": 20},
            },
            {
                "uuid": mask_uuid,
                "name": "seg",
                "dataRow": {"globalKey": "img"},
                "mask": {"imBytes": base64.b64encode(png(composite, (255, 0, 0))).decode(), "colorRGB": [255, 0, 0]},
            },
        ]
        job = c.post(
            f"/projects/{project}/imports",
            params={"name": "i", "kind": "ground_truth"},
            content=b"\n".join(orjson.dumps(line) for line in lines),
        ).json()
        assert wait(c, f"/imports/{job['id']}")["succeeded"] == 2

        base = f"/projects/{project}/viewer/rows/{image_row}"
        detail = c.get(base).json()
        assert detail["planes"] == [] and detail["frames"] == {"width": 40, "height": 30, "frames": 1}
        assert np.array_equal(decode(c.get(f"{base}/frames/0")), image)
        assert c.get(f"{base}/frames/1").status_code == 422
        assert c.get(f"{base}/slices/axial/0").status_code == 422
        items = c.get(f"{base}/annotations").json()["items"]
        box = next(a for a in items if a["feature"] == "box")
        assert box["color"] == "#0000ff" and box["shapes"][0]["type"] == "box"
        assert box["shapes"][0]["points"] == [[3.0, 2.0], [23.0, 12.0]] and box["shapes"][0]["plane"] is None
        seg = next(a for a in items if a["feature"] == "seg")
        assert seg["mask"] == {"drawn_on": None, "frames": {"image": [0]}}
        overlay = decode(c.get(f"{base}/masks/ground_truth/{mask_uuid}/frames/0"))
        assert np.array_equal(overlay[..., 3] > 0, composite)

        clip = f"/projects/{video_project}/viewer/rows/{video_row}"
        assert c.get(clip).json()["frames"] == {"width": 48, "height": 32, "frames": 12}
        frames = [decode(c.get(f"{clip}/frames/{i}")) for i in (0, 5, 11)]
        assert [f.shape for f in frames] == [(32, 48, 3)] * 3
        assert [round(float(f.mean()) / 20) for f in frames] == [0, 5, 11]  # mp4v is lossy: close, not equal
        assert c.get(f"{clip}/frames/12").status_code == 422


def test_bad_requests_are_422_and_missing_media_is_named(live_server: LiveServer, tmp_path: Path) -> None:
    world = build(live_server, tmp_path / "media")
    base = f"/projects/{world.project_id}/viewer/rows/{world.series_id}"
    with client(live_server) as c:
        for params in ({"center": 40}, {"width": 0, "center": 1}, {"window": "soft"}):
            response = c.get(f"{base}/slices/axial/0", params=params)
            assert response.status_code == 422, (params, response.text)
        assert c.get(f"{base}/slices/axial/16").status_code == 422
        assert c.get(f"{base}/slices/oblique/0").status_code == 422
        assert c.get(f"/projects/{world.project_id}/viewer/rows/nope").status_code == 404
        bone = c.get(f"{base}/slices/axial/0", params={"window": "ct-bone"})
        assert (bone.headers["x-window-center"], bone.headers["x-window-width"]) == ("400", "1800")
        for path in (tmp_path / "media" / "phantom-series").iterdir():
            path.unlink()
        # The axial frame was read from its file alone; the coronal plane needs the series, whose files are gone.
        response = c.get(f"{base}/slices/coronal/3", params={"window": "ct-lung"})
        assert response.status_code == 400 and response.json()["error"]["type"] == "MediaError"
        assert "holds no files" in response.json()["error"]["message"]
        detail = c.get(base).json()
        assert detail["media_error"] is not None and "phantom-series" in detail["media_error"]


def test_the_first_look_at_a_series_reads_one_file_and_shows_what_the_volume_shows(
    live_server: LiveServer, tmp_path: Path
) -> None:
    from labelport.service.media_cache import MEDIA_CACHE

    world = build(live_server, tmp_path / "media")
    base = f"/projects/{world.project_id}/viewer/rows/{world.series_id}"

    def volumes() -> list[object]:
        return [
            k for k in MEDIA_CACHE.arrays.held_keys() if isinstance(k, tuple) and k[:2] == ("volume", world.series_id)
        ]

    with client(live_server) as c:
        first = c.get(f"{base}/slices/axial/3", params={"window": "ct-bone"})
        assert first.status_code == 200 and volumes() == []  # the acquisition plane: one instance read
        assert c.get(f"{base}/slices/coronal/0", params={"window": "ct-bone"}).status_code == 200
        assert len(volumes()) == 1  # another plane needs the whole series, read once and kept
        MEDIA_CACHE.pngs.clear()
        again = c.get(f"{base}/slices/axial/3", params={"window": "ct-bone"})
        assert again.content == first.content  # rendered from the volume this time


def test_a_key_of_another_project_sees_nothing_of_the_viewer_s_project(live_server: LiveServer, tmp_path: Path) -> None:
    world = build(live_server, tmp_path / "media")
    with client(live_server) as admin:
        other = admin.post("/projects", json={"name": "B", "media_type": "dicom"}).json()["id"]
    key = live_server.key("b@example.org", project=other, role="admin")
    base = f"/projects/{world.project_id}/viewer"
    with client(live_server, key) as b:
        assert [p["name"] for p in b.get("/viewer/projects").json()["items"]] == ["B"]
        for path in (
            base,
            f"{base}/rows",
            f"{base}/rows/{world.series_id}",
            f"{base}/rows/{world.series_id}/annotations",
            f"{base}/rows/{world.series_id}/slices/axial/0",
            f"{base}/rows/{world.series_id}/masks/ground_truth/{MASK_UUID}/slices/axial/10",
            f"{base}/queue/next",
            f"{base}/jobs",
        ):
            response = b.get(path)
            assert response.status_code == 403, path
            assert response.json()["error"]["type"] == "PermissionDeniedError"
        # B's own project: its row list is empty, not A's.
        assert b.get(f"/projects/{other}/viewer/rows").json() == {"items": [], "next_cursor": None, "total": 0}
