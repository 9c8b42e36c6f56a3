"""Labelbox imports through the SDK: the DICOM guide's example on a real series, and bad input.

Every test runs on SQLite and PostgreSQL. Geometry read back is checked against positions derived
independently from the series affine (load_series, itself checked against dcm2niix), not against the
plane-view code that stored it.
"""

from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

import labelport as lb
from labelport.formats.base import WriteContext
from labelport.formats.labelbox import ndjson
from labelport.formats.labelbox.ndjson_write import objects
from labelport.imaging import decode_png_composite, load_series
from labelport.imaging.grids import decode_label_volume, plane_of
from labelport.model import DataRowKey, Label, LabeledItem, LabelKind, Line, TrackedObject, VolumeMask
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport, MALPredictionImport
from labelport.service.exports import StorePixels
from labelport.service.imports import stored_annotations
from labelport.service.synthetic import write_image, write_series
from labelport.store.schema import annotation_rows, labels
from tests.conftest import count_rows
from tests.fixtures import HFS_SERIES


def png(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def dicom_project(client: Client, series: Path, key: str = "sample-dicom-1.dcm") -> lb.sdk.resources.Project:
    dataset = client.create_dataset(name="dicom_demo_dataset")
    assert dataset.create_data_rows([{"row_data": str(series), "global_key": key}]).errors is None
    builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="segmentation_mask_dicom"),
            lb.Tool(tool=lb.Tool.Type.LINE, name="line_dicom"),
        ]
    )
    ontology = client.create_ontology("Ontology DICOM Annotations", builder.asdict(), media_type=lb.MediaType.Dicom)
    project = client.create_project(name="dicom_project_demo", media_type=lb.MediaType.Dicom)
    project.connect_ontology(ontology)
    project.create_batch("first-batch-dicom-demo", global_keys=[key], priority=5)
    return project


def ranks(voxels: np.ndarray[Any, Any], affine: np.ndarray[Any, Any], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """For integer voxels (n, 3): the rank of each voxel centre along patient L, P and S among the grid's."""
    out = np.zeros_like(voxels)
    for d in range(3):  # LPS axis
        axis = int(np.argmax(np.abs(affine[d, :3])))  # the array axis that moves along it
        step = affine[d, axis]
        out[:, d] = voxels[:, axis] if step > 0 else shape[axis] - 1 - voxels[:, axis]
    return out


def test_dicom_guide_example_lands_on_the_predicted_voxels(client: Client) -> None:
    series = HFS_SERIES
    project = dicom_project(client, series)
    volume = load_series(series)
    affine, shape = volume.affine_lps, volume.array.shape
    # The axial plane of this sagittal series: x runs along L (35 slices), y along P (256 rows).
    width, height = shape[int(np.argmax(np.abs(affine[0, :3])))], shape[int(np.argmax(np.abs(affine[1, :3])))]
    assert (width, height) == (35, 256)
    mask1 = np.zeros((height, width, 3), np.uint8)
    mask1[100:120, 5:11] = 255
    mask5 = np.zeros((height, width, 3), np.uint8)
    mask5[30:32, 20:22] = 255
    line_uuid = str(uuid.uuid4())
    mask_uuid = str(uuid.uuid4())
    global_key = "sample-dicom-1.dcm"
    polyline_annotation_ndjson = {
        "uuid": line_uuid,
        "name": "line_dicom",
        "groupKey": "axial",
        "segments": [
            {"keyframes": [{"frame": 1, "line": [{"x": 10, "y": 10}, {"x": 200, "y": 20}, {"x": 250, "y": 250}]}]},
            {"keyframes": [{"frame": 20, "line": [{"x": 10, "y": 10}, {"x": 200, "y": 10}, {"x": 300, "y": 300}]}]},
        ],
        "dataRow": {"globalKey": global_key},
    }
    mask_annotation_ndjson = {
        "uuid": mask_uuid,
        "groupKey": "axial",
        "masks": {
            "frames": [
                {"index": 1, "imBytes": base64.b64encode(png(mask1)).decode()},
                {"index": 5, "imBytes": base64.b64encode(png(mask5)).decode()},
            ],
            "instances": [{"colorRGB": (255, 255, 255), "name": "segmentation_mask_dicom"}],
        },
        "dataRow": {"globalKey": global_key},
    }
    upload_job = MALPredictionImport.create_from_objects(
        client=client,
        project_id=project.uid,
        name="mal_import_job" + str(uuid.uuid4()),
        predictions=[polyline_annotation_ndjson, mask_annotation_ndjson],
    )
    upload_job.wait_until_done()
    assert upload_job.state == "FINISHED"
    assert upload_job.errors == []
    assert [s["status"] for s in upload_job.statuses] == ["SUCCESS", "SUCCESS"]
    assert [s["uuid"] for s in upload_job.statuses] == [line_uuid, mask_uuid]

    row_id = client.get_data_row_ids_for_global_keys([global_key])["results"][0]
    stored = {a.uuid: (row, a) for row, a in stored_annotations(client.hub, project.uid, row_id, "prediction")}
    _, line = stored[line_uuid]
    assert isinstance(line, TrackedObject)
    assert [k.frame for k in line.keyframes] == [0, 19]  # Labelbox frames count from 1
    assert isinstance(line.keyframes[0].geometry, Line)
    assert [(p.x, p.y) for p in line.keyframes[0].geometry.points] == [(10, 10), (200, 20), (250, 250)]

    mask_row, mask = stored[mask_uuid]
    assert isinstance(mask, VolumeMask) and mask_row["mask_blob"] and mask.source.blob == mask_row["mask_blob"]
    labels_volume = decode_label_volume(client.hub.blobs.get(mask_row["mask_blob"]))
    assert labels_volume.shape == shape
    voxels = np.argwhere(labels_volume == 1)
    assert len(voxels) == 20 * 6 + 2 * 2
    lps_ranks = ranks(voxels, affine, shape)
    expected = {(x, y, 0) for y in range(100, 120) for x in range(5, 11)} | {
        (x, y, 4) for y in range(30, 32) for x in range(20, 22)
    }
    assert {(int(left), int(post), int(sup)) for left, post, sup in lps_ranks} == expected

    # Written back as NDJSON (the writer cuts per-frame PNGs from the stored volume): the imported masks.
    item = LabeledItem(
        DataRowKey(global_key=global_key),
        (Label(LabelKind.PREDICTION, (mask,)),),
        media=client.get_data_row(row_id).model,
    )
    [line_out] = objects(item, WriteContext(pixels=StorePixels(client.hub)))
    frames = line_out["masks"]["frames"]
    pngs = {f["index"]: decode_png_composite(base64.b64decode(f["imBytes"])) for f in frames}
    assert sorted(pngs) == [1, 5]
    assert np.array_equal(pngs[1], mask1) and np.array_equal(pngs[5], mask5)
    assert line_out["masks"]["instances"] == [{"colorRGB": [255, 255, 255], "name": "segmentation_mask_dicom"}]

    # The same payloads as ground truth are stored apart from the pre-labels.
    truth = LabelImport.create_from_objects(
        client=client, project_id=project.uid, name="ground-truth", labels=[polyline_annotation_ndjson]
    )
    assert truth.errors == []
    assert count_rows(client, labels) == 2
    assert count_rows(client, annotation_rows) == 3


def test_reimporting_a_uuid_replaces_the_annotation(client: Client) -> None:
    series = HFS_SERIES
    project = dicom_project(client, series)
    line = {
        "uuid": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "name": "line_dicom",
        "groupKey": "sagittal",
        "dataRow": {"globalKey": "sample-dicom-1.dcm"},
        "segments": [{"keyframes": [{"frame": 3, "line": [{"x": 1, "y": 1}, {"x": 5, "y": 5}]}]}],
    }
    MALPredictionImport.create_from_objects(client, project.uid, "first", [line])
    line["segments"][0]["keyframes"][0]["frame"] = 7  # type: ignore[index]
    line["uuid"] = "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}"  # the same uuid, spelled otherwise
    job = MALPredictionImport.create_from_objects(client, project.uid, "second", [line])
    assert job.errors == []
    row_id = client.get_data_row_ids_for_global_keys(["sample-dicom-1.dcm"])["results"][0]
    [(row, annotation)] = stored_annotations(client.hub, project.uid, row_id, "prediction")
    assert row["uuid"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert isinstance(annotation, TrackedObject) and annotation.keyframes[0].frame == 6


@pytest.fixture
def image_project(client: Client, tmp_path: Path) -> lb.sdk.resources.Project:
    dataset = client.create_dataset("images")
    paths = [write_image(tmp_path / f"img{i}.png", 40, 30) for i in range(3)]
    task = dataset.create_data_rows([{"row_data": str(p), "global_key": f"img-{i}"} for i, p in enumerate(paths)])
    assert task.errors is None
    builder = lb.OntologyBuilder(
        tools=[
            lb.Tool(tool=lb.Tool.Type.BBOX, name="box"),
            lb.Tool(tool=lb.Tool.Type.POLYGON, name="poly"),
            lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="seg"),
        ],
        classifications=[
            lb.Classification(
                class_type=lb.Classification.Type.RADIO, name="quality", options=[lb.Option("good"), lb.Option("bad")]
            )
        ],
    )
    project = client.create_project("imgs", media_type="image")
    project.connect_ontology(client.create_ontology("o", builder.asdict(), media_type="image"))
    project.create_batch("b", global_keys=["img-0", "img-1"])
    return project


def box(key: str = "img-0", **extra: Any) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "dataRow": {"globalKey": key},
        "name": "box",
        "bbox": {"top": 1, "left": 2, "height": 3, "width": 4},
        **extra,
    }


def failure_messages(job: Any) -> dict[int | None, str]:
    return {e["errors"][0]["additionalInfo"].get("line"): e["errors"][0]["message"] for e in job.errors}


def test_bad_lines_fail_alone_with_line_and_value(client: Client, image_project: Any, tmp_path: Path) -> None:
    good = box()
    wrong_size = np.zeros((10, 10, 3), np.uint8)
    wrong_size[1:3, 1:3] = 255
    lines = [
        good,  # 1
        "{not json",  # 2
        {**box(), "dataRow": {"id": "x", "globalKey": "img-0"}},  # 3
        {**box(), "name": "no-such-tool"},  # 4
        {**box(), "name": "poly"},  # 5: a bbox on a polygon tool
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img-1"},
            "name": "seg",
            "mask": {"imBytes": base64.b64encode(png(wrong_size)).decode(), "colorRGB": [255, 255, 255]},
        },  # 6
        {**box(), "uuid": good["uuid"]},  # 7: duplicate uuid
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img-1"},
            "name": "seg",
            "mask": {"instanceURI": "ftp://host/m.png", "colorRGB": [1, 1, 1]},
        },  # 8
        box("img-2"),  # 9: not in a batch of the project
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "img-1"},
            "name": "quality",
            "answer": {"name": "maybe"},
        },  # 10
        box("img-1"),  # 11
    ]
    path = tmp_path / "import.ndjson"
    import orjson

    path.write_bytes(b"\n".join(line.encode() if isinstance(line, str) else orjson.dumps(line) for line in lines))
    job = LabelImport.create_from_file(client, image_project.uid, "bad", path)
    assert job.state == "FINISHED"
    assert [s["status"] for s in job.statuses].count("SUCCESS") == 2
    messages = failure_messages(job)
    assert sorted(k for k in messages if k is not None) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert "not valid JSON" in messages[2] and "{not json" in messages[2]
    assert "exactly one of id and globalKey" in messages[3]
    assert "'no-such-tool' is not in the project's ontology" in messages[4]
    assert "feature 'poly' is a polygon tool, but the annotation is a rectangle" in messages[5]
    assert "mask is 10 x 10 px but the image is 40 x 30 px" in messages[6]
    assert f"uuid {good['uuid']} is used twice in this import (first at {path}, line 1)" in messages[7]
    assert "ftp://host/m.png" in messages[8] and "scheme 'ftp'" in messages[8]
    assert "'img-2' is not in a batch of this project" in messages[9]
    assert "answer name 'maybe' is not an option of classification 'quality' (options: good, bad)" in messages[10]
    assert count_rows(client, annotation_rows) == 2


def test_dicom_rules(client: Client, tmp_path: Path) -> None:
    series = tmp_path / "series"
    write_series(series, rows=16, columns=12, slices=4)  # axial: 12 x 16 px, 4 frames
    project = dicom_project(client, series, key="s")
    wrong = np.zeros((12, 16, 3), np.uint8)
    items = [
        {
            "uuid": str(uuid.uuid4()),
            "name": "line_dicom",
            "groupKey": "axial",
            "dataRow": {"globalKey": "s"},
            "segments": [{"keyframes": [{"frame": 5, "line": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}]}],
        },
        {
            "uuid": str(uuid.uuid4()),
            "name": "line_dicom",
            "groupKey": "oblique",
            "dataRow": {"globalKey": "s"},
            "segments": [{"keyframes": [{"frame": 1, "line": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}]}],
        },
        {
            "uuid": str(uuid.uuid4()),
            "name": "line_dicom",
            "dataRow": {"globalKey": "s"},
            "line": [{"x": 1, "y": 1}, {"x": 2, "y": 2}],
        },
        {
            "uuid": str(uuid.uuid4()),
            "groupKey": "axial",
            "dataRow": {"globalKey": "s"},
            "masks": {
                "frames": [{"index": 1, "imBytes": base64.b64encode(png(wrong)).decode()}],
                "instances": [{"colorRGB": [255, 255, 255], "name": "segmentation_mask_dicom"}],
            },
        },
        {
            "uuid": str(uuid.uuid4()),
            "name": "line_dicom",
            "groupKey": "coronal",
            "dataRow": {"globalKey": "s"},
            "segments": [{"keyframes": [{"frame": 16, "line": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}]}],
        },
    ]
    job = MALPredictionImport.create_from_objects(client, project.uid, "dicom", items)
    results = [(s["status"], s["errors"][0]["message"] if s["errors"] else "") for s in job.statuses]
    assert (
        results[0][0] == "FAILURE"
        and "frame 5 is out of range: the axial plane of this series has frames 1 to 4" in results[0][1]
    )
    assert results[1][0] == "FAILURE" and "'oblique'" in results[1][1]
    assert results[2][0] == "FAILURE" and "this Line names no plane and slice" in results[2][1]
    assert (
        results[3][0] == "FAILURE"
        and "mask is 16 x 12 px but a slice of the axial plane of this series is 12 x 16 px" in results[3][1]
    )
    assert results[4] == ("SUCCESS", "")


def test_one_bad_line_in_ten_thousand(client: Client, image_project: Any, tmp_path: Path) -> None:
    import orjson

    path = tmp_path / "big.ndjson"
    with path.open("wb") as out:
        for i in range(10_000):
            if i == 6_789:
                out.write(b'{"uuid": "oops", "dataRow": {"globalKey": "img-0"}, "name": "box", "bbox": {}}\n')
            else:
                out.write(orjson.dumps(box("img-0" if i % 2 else "img-1")) + b"\n")
    job = MALPredictionImport.create_from_file(client, image_project.uid, "big", path)
    assert job.info.succeeded == 9_999
    [error] = job.errors
    assert error["errors"][0]["additionalInfo"]["line"] == 6_790
    assert "oops" in error["errors"][0]["message"] or error["errors"][0]["additionalInfo"].get("value") is not None
    assert count_rows(client, annotation_rows) == 9_999


def test_project_without_ontology_fails_the_job(client: Client) -> None:
    project = client.create_project("bare", media_type="image")
    job = MALPredictionImport.create_from_objects(client, project.uid, "x", [box()])
    assert job.state == "FAILED"
    assert job.error == "project 'bare' has no ontology; connect one before importing"


def test_dicom_guide_example_with_python_annotation_types(client: Client) -> None:
    """The guide's Python payloads, with only the import line changed (and inline mask bytes, offline)."""
    import labelport.types as lb_types

    series = HFS_SERIES
    project = dicom_project(client, series)
    global_key = "sample-dicom-1.dcm"
    mask = np.zeros((256, 35, 3), np.uint8)
    mask[10:20, 3:7] = 255
    polyline_annotation = [
        lb_types.DICOMObjectAnnotation(
            name="line_dicom",
            group_key=lb_types.GroupKey.AXIAL,
            frame=1,
            value=lb_types.Line(
                points=[lb_types.Point(x=10, y=10), lb_types.Point(x=200, y=20), lb_types.Point(x=250, y=250)]
            ),
            segment_index=0,
            keyframe=True,
        ),
        lb_types.DICOMObjectAnnotation(
            name="line_dicom",
            group_key=lb_types.GroupKey.AXIAL,
            frame=20,
            value=lb_types.Line(
                points=[lb_types.Point(x=10, y=10), lb_types.Point(x=200, y=10), lb_types.Point(x=300, y=300)]
            ),
            segment_index=1,
            keyframe=True,
        ),
    ]
    mask_annotation = [
        lb_types.DICOMMaskAnnotation(
            group_key="axial",
            frames=[lb_types.MaskFrame(index=1, im_bytes=png(mask)), lb_types.MaskFrame(index=5, im_bytes=png(mask))],
            instances=[lb_types.MaskInstance(color_rgb=(255, 255, 255), name="segmentation_mask_dicom")],
        )
    ]
    annotations_list = polyline_annotation + mask_annotation
    labels = [lb_types.Label(data={"global_key": global_key}, annotations=annotations_list)]
    upload_job = LabelImport.create_from_objects(
        client=client, project_id=project.uid, name="label_import_job" + str(uuid.uuid4()), labels=labels
    )
    upload_job.wait_until_done()
    assert upload_job.errors == []
    assert len(upload_job.statuses) == 2  # one polyline (two segments) and one mask annotation
    row_id = client.get_data_row_ids_for_global_keys([global_key])["results"][0]
    stored = [a for _, a in stored_annotations(client.hub, project.uid, row_id, "ground_truth")]
    [line] = [a for a in stored if isinstance(a, TrackedObject)]
    assert [[k.frame for k in s.keyframes] for s in line.segments] == [[0], [19]]
    [mask] = [a for a in stored if isinstance(a, VolumeMask)]
    volume = decode_label_volume(client.hub.blobs.get(mask.source.blob or ""))
    axial = plane_of(client.get_data_row(row_id).model.media_attributes, "axial").stack(np.isin(volume, mask.values))
    assert np.flatnonzero(axial.any(axis=(1, 2))).tolist() == [0, 4]


def test_cli_import_reports_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from labelport.cli.main import app

    monkeypatch.setenv("LABELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABELPORT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    with Client(home=tmp_path / "home") as client:
        dataset = client.create_dataset("images")
        image = write_image(tmp_path / "img.png", 40, 30)
        assert dataset.create_data_rows([{"row_data": str(image), "global_key": "img-0"}]).errors is None
        builder = lb.OntologyBuilder(tools=[lb.Tool(tool=lb.Tool.Type.BBOX, name="box")])
        project = client.create_project("imgs", media_type="image")
        project.connect_ontology(client.create_ontology("o", builder.asdict(), media_type="image"))
        project.create_batch("b", global_keys=["img-0"])
    import orjson

    path = tmp_path / "in.ndjson"
    path.write_bytes(orjson.dumps(box()) + b"\n" + orjson.dumps({**box(), "name": "nope"}) + b"\n")
    result = CliRunner().invoke(
        app, ["import", "labelbox", str(path), "--project", project.uid, "--as", "ground-truth"]
    )
    assert result.exit_code == 1
    assert "1 of 2 annotations imported as ground_truth, 1 failed" in result.stdout
    assert "feature name 'nope' is not in the project's ontology" in result.stderr
    assert "failed: 2: feature name 'nope' is not in the project's ontology" in result.stderr  # line 2
    assert result.stderr.strip().splitlines()[-1] == "error: 1 of 2 annotations failed (listed above)"
    good = CliRunner().invoke(app, ["import", "labelbox", str(path), "--project", project.uid, "--name", "again"])
    assert good.exit_code == 1  # the same bad line fails again; the good one replaces itself
    missing = CliRunner().invoke(app, ["import", "labelbox", str(tmp_path / "nope.ndjson"), "--project", project.uid])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == f"error: import file {str(tmp_path / 'nope.ndjson')!r} does not exist"


def test_shared_composite_mask_is_stored_once_and_local_uris_need_a_root(
    client: Client, image_project: Any, tmp_path: Path
) -> None:
    from labelport.service.hub import Settings
    from labelport.store.schema import blobs

    skip_when_remote(client)
    composite = np.zeros((30, 40, 3), np.uint8)
    composite[0:5, 0:5] = (255, 0, 0)
    composite[10:15, 10:15] = (0, 255, 0)
    inline = base64.b64encode(png(composite)).decode()
    on_disk = tmp_path / "masks" / "composite.png"
    on_disk.parent.mkdir()
    on_disk.write_bytes(png(composite))
    outside = Path(tempfile_dir()) / "elsewhere.png"
    outside.write_bytes(png(composite))

    def seg(mask: dict[str, Any]) -> dict[str, Any]:
        return {"uuid": str(uuid.uuid4()), "dataRow": {"globalKey": "img-0"}, "name": "seg", "mask": mask}

    items = [
        seg({"imBytes": inline, "colorRGB": [255, 0, 0]}),
        seg({"imBytes": inline, "colorRGB": [0, 255, 0]}),
        seg({"instanceURI": str(on_disk), "colorRGB": [255, 0, 0]}),  # under a permitted root
        seg({"instanceURI": on_disk.as_uri(), "colorRGB": [0, 255, 0]}),  # file:// spelling
        seg({"instanceURI": str(outside), "colorRGB": [0, 255, 0]}),  # outside every root
        seg({"imBytes": inline, "colorRGB": [0, 0, 255]}),  # a colour the mask does not have
    ]
    client.hub.settings = Settings(file_roots=(tmp_path / "masks",))
    job = MALPredictionImport.create_from_objects(client, image_project.uid, "masks", items)
    results = [s["status"] for s in job.statuses]
    assert results == ["SUCCESS"] * 4 + ["FAILURE"] * 2
    assert "is outside the folders labelport may read" in job.statuses[4]["errors"][0]["message"]
    assert "mask colour [0, 0, 255] does not occur in the mask image" in job.statuses[5]["errors"][0]["message"]
    with client.hub.db.engine.connect() as conn:  # the job's kept input is a blob too: count the PNGs
        pngs = conn.execute(sa.select(sa.func.count()).where(blobs.c.content_type == "image/png")).scalar_one()
    assert pngs == 1  # the same PNG, inline or on disk, is stored once


def skip_when_remote(client: Client) -> None:
    """These tests change ``client.hub.settings``, which only the embedded client obeys."""
    from labelport.sdk.http import HttpBackend

    if isinstance(client.backend, HttpBackend):
        pytest.skip("server settings come from the server's environment")


def tempfile_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="labelport-outside-")


def test_http_masks_only_when_enabled(client: Client, image_project: Any, tmp_path: Path) -> None:
    import http.server
    import threading

    from labelport.service.hub import Settings

    skip_when_remote(client)
    composite = np.zeros((30, 40, 3), np.uint8)
    composite[2:4, 2:4] = 255
    (tmp_path / "m.png").write_bytes(png(composite))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/m.png"
        item = {"dataRow": {"globalKey": "img-0"}, "name": "seg", "mask": {"instanceURI": url, "colorRGB": [255] * 3}}
        off = MALPredictionImport.create_from_objects(
            client, image_project.uid, "off", [{**item, "uuid": str(uuid.uuid4())}]
        )
        assert "set LABELPORT_ALLOW_HTTP=1" in off.errors[0]["errors"][0]["message"]
        client.hub.settings = Settings(allow_http=True)
        loopback = MALPredictionImport.create_from_objects(
            client, image_project.uid, "loopback", [{**item, "uuid": str(uuid.uuid4())}]
        )
        assert "is not a public address" in loopback.errors[0]["errors"][0]["message"]
        # An administrator may allow a network (an internal image server): here the test's own.
        client.hub.settings = Settings(allow_http=True, http_networks=("127.0.0.0/8",))
        on = MALPredictionImport.create_from_objects(
            client, image_project.uid, "on", [{**item, "uuid": str(uuid.uuid4())}]
        )
        assert on.errors == []
    finally:
        server.shutdown()


def test_at_most_5000_annotations_per_feature_per_data_row(client: Client, image_project: Any) -> None:
    items = [box("img-0") for _ in range(5001)]
    job = MALPredictionImport.create_from_objects(client, image_project.uid, "many", items)
    assert job.info.succeeded == 5000
    [failure] = job.errors
    assert "more than 5000 annotations of feature 'box' on one data row" in failure["errors"][0]["message"]


def test_fast_path_imports_exactly_what_the_model_path_imports(client: Client, image_project: Any) -> None:
    """The same lines imported through the model path (option fast=false) and the fast path (plain objects
    encoded) give the same statuses and the same stored rows, failures included."""
    from labelport.formats.base import ReadContext
    from labelport.model.encoded import EncodedAnnotation
    from labelport.service.imports import import_annotations, import_statuses_of

    square = [{"x": 1.0, "y": 1.0}, {"x": 5.0, "y": 1.0}, {"x": 5.0, "y": 5.0}]
    twice = str(uuid.uuid4())
    lines = [
        box(confidence=0.25),
        box("img-1", uuid=twice),
        box("img-1", uuid=twice),  # used twice in this import
        {**box(), "name": "poly", "polygon": square},  # two geometries
        {"uuid": str(uuid.uuid4()), "dataRow": {"globalKey": "img-0"}, "name": "poly", "polygon": square},
        box(name="seg"),  # wrong tool kind
        box(name="nope"),  # not in the ontology
        box("img-2"),  # not in a batch of the project
        box("img-9"),  # no such data row
        box(schemaId="ck-unknown", name=None),
        box(uuid=str(uuid.uuid4()).upper()),  # the model path normalises it
    ]
    row_ids = client.get_data_row_ids_for_global_keys(["img-0", "img-1"])["results"]
    outcomes = []
    for fast, kind in ((False, "prediction"), (True, "ground_truth")):
        items = ndjson.read(lines, ReadContext(options={"fast": fast}))
        job = import_annotations(client.hub, image_project.uid, kind, items, kind)
        stored = [
            {k: v for k, v in row.items() if k not in ("id", "label_id", "kind", "created_at")}
            for row_id in row_ids
            for row, _ in stored_annotations(client.hub, image_project.uid, row_id, kind)
        ]
        outcomes.append((import_statuses_of(client.hub, job.id), stored))
    (model_statuses, model_rows), (fast_statuses, fast_rows) = outcomes
    assert fast_statuses == model_statuses
    assert fast_rows == model_rows
    assert [s["errors"] for s in fast_statuses].count([]) == 4
    assert len(fast_rows) == 4
    encoded = [
        i
        for i in ndjson.read(lines)
        if isinstance(i, LabeledItem) and type(i.labels[0].annotations[0]) is EncodedAnnotation
    ]
    assert len(encoded) == 9  # the test would prove nothing if the fast path took no line
