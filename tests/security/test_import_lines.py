"""Probes: one bad line fails only itself, with a located problem, while the rest lands (embedded and over
HTTP, on SQLite and PostgreSQL); job errors are sentences for users, never SQL."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

import labelport as lb
from labelport.errors import StoreError
from labelport.model.jobs import JobKind, JobState
from labelport.sdk import Client
from labelport.sdk.imports import MALPredictionImport
from labelport.service import Hub, jobs
from labelport.service.imports import stored_annotations
from labelport.service.synthetic import write_image
from tests.fixtures import HFS_SERIES
from tests.security.workspace import box, png


def image_project(client: Client, tmp_path: Path) -> Any:
    images = [write_image(tmp_path / f"img{i}.png", 20, 10) for i in range(2)]
    dataset = client.create_dataset("d")
    assert (
        dataset.create_data_rows([{"row_data": str(p), "global_key": f"img-{i}"} for i, p in enumerate(images)]).errors
        is None
    )
    builder = lb.OntologyBuilder(
        tools=[lb.Tool(tool=lb.Tool.Type.BBOX, name="box"), lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="seg")],
        classifications=[
            lb.Classification(class_type=lb.Classification.Type.TEXT, name="note"),
        ],
    )
    ontology = client.create_ontology("o", builder.asdict(), media_type=lb.MediaType.Image)
    project = client.create_project(name="p", media_type=lb.MediaType.Image)
    project.connect_ontology(ontology)
    project.create_batch("b", global_keys=["img-0", "img-1"])
    return project


def nested_classification(depth: int) -> bytes:
    """A line whose classification nests ``depth`` levels (three JSON levels each), written as text: deeper
    than any JSON library writes."""
    head = b'{"name":"note","answer":{"name":"x","classifications":['
    inner = head * depth + b'{"name":"note","answer":"deep"}' + b"]}}" * depth
    return b'{"uuid":"%s","dataRow":{"globalKey":"img-0"},"classifications":[%s]}' % (
        str(uuid.uuid4()).encode(),
        inner,
    )


def nested(depth: int) -> bytes:
    return b'{"k":' * depth + b'"x"' + b"}" * depth


def upload(client: Client, project: Any, body: bytes, tmp_path: Path) -> Any:
    path = tmp_path / f"{uuid.uuid4().hex}.ndjson"
    path.write_bytes(body)
    return MALPredictionImport.create_from_file(client, project.uid, "lines", str(path))


def test_bad_lines_fail_alone(client: Client, tmp_path: Path) -> None:
    project = image_project(client, tmp_path)
    box_line = orjson.dumps(box())
    lines = [
        b"\xef\xbb\xbf" + box_line,  # a byte order mark before the first line
        nested_classification(150),  # the reader used to recurse out of its stack
        b'{"uuid":%s,"name":"box","dataRow":{"globalKey":"img-0"},"bbox":{"top":1,"left":1,"height":3,"width":3}}'
        % nested(300),  # once a status held it, JSON could not write it
        b'{"uuid":"%s","name":"box","dataRow":%s,"bbox":{"top":1,"left":1,"height":3,"width":3}}'
        % (str(uuid.uuid4()).encode(), nested(300)),
        orjson.dumps({**box(), "name": "bo\x00x"}),  # a NUL in a name: PostgreSQL stores none
        orjson.dumps({**box("img-1"), "note": "\x00"}),  # a NUL in a field nobody reads
        orjson.dumps(box("img-1")),
    ]
    job = upload(client, project, b"\n".join(lines), tmp_path)
    statuses = job.statuses
    assert [s["status"] for s in statuses] == ["SUCCESS"] + ["FAILURE"] * 5 + ["SUCCESS"], statuses
    messages = [s["errors"][0]["message"] for s in statuses[1:6]]
    assert "nests JSON deeper than 64 levels" in messages[0]
    assert "nests JSON deeper than 64 levels" in messages[1] and "nests JSON deeper" in messages[2]
    assert all(len(s["errors"][0]["message"]) < 300 for s in statuses[1:6])
    assert "NUL character" in messages[3] and "NUL character" in messages[4]
    assert [s["errors"][0]["additionalInfo"]["line"] for s in statuses[1:6]] == [2, 3, 4, 5, 6]


def test_nul_in_data_row_specs_fails_the_row_alone(client: Client, tmp_path: Path) -> None:
    good = write_image(tmp_path / "good.png", 20, 10)
    task = client.create_dataset("d").create_data_rows(
        [
            {"row_data": str(good), "global_key": "a\x00b"},
            {"row_data": str(good), "global_key": "fine", "metadata_fields": [{"name": "n", "value": "v\x00"}]},
            {"row_data": str(good), "global_key": "good"},
        ]
    )
    assert task.errors is not None and [e["index"] for e in task.errors] == [0, 1]
    assert all("NUL character" in e["message"] for e in task.errors)
    assert [r["global_key"] for r in task.result] == ["good"]
    assert client.get_data_row_ids_for_global_keys(["a\x00b", "good"])["results"][0] is None


def test_three_instances_of_one_feature_in_a_dicom_mask(client: Client) -> None:
    """Three lesions, all ``seg``: normal Labelbox input. Each instance is its own object, with its own uuid."""
    dataset = client.create_dataset("dicom")
    assert dataset.create_data_rows([{"row_data": str(HFS_SERIES), "global_key": "series"}]).errors is None
    builder = lb.OntologyBuilder(tools=[lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="seg")])
    ontology = client.create_ontology("o", builder.asdict(), media_type=lb.MediaType.Dicom)
    project = client.create_project(name="p", media_type=lb.MediaType.Dicom)
    project.connect_ontology(ontology)
    project.create_batch("b", global_keys=["series"])
    composite = np.zeros((256, 35, 3), np.uint8)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    for i, colour in enumerate(colours):
        composite[10 + 20 * i : 15 + 20 * i, 5:10] = colour
    first = str(uuid.uuid4())
    line = {
        "uuid": first,
        "groupKey": "axial",
        "dataRow": {"globalKey": "series"},
        "masks": {
            "frames": [{"index": 3, "imBytes": base64.b64encode(png(composite)).decode()}],
            "instances": [{"colorRGB": list(c), "name": "seg"} for c in colours],
        },
    }
    job = MALPredictionImport.create_from_objects(client, project.uid, "lesions", [line])
    assert job.state == "FINISHED" and job.errors == [], job.errors
    row = client.get_data_row_ids_for_global_keys(["series"])["results"][0]
    stored = [a.uuid for _, a in stored_annotations(client.hub, project.uid, row, "prediction")]
    assert len(stored) == len(set(stored)) == 3 and stored[0] == first


def test_a_job_failing_in_the_database_names_no_sql(client: Client) -> None:
    """Whatever the store says goes to the log; the job's error is a sentence for its user."""
    hub: Hub = client.hub
    job_id = jobs.create(hub, JobKind.EXPORT, "labelbox_export_v2", name="x", project_id=None)

    def broken(_job: object) -> None:
        with hub.transaction() as conn:
            conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(StoreError), hub.transaction() as conn:
        conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")
    ended = jobs.attempt(hub, job_id, broken)
    assert ended.state is JobState.FAILED
    assert ended.error == "the database failed; see the server's log"


def _png_with_garbage_pixels(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose header is sound and whose pixel data is not: only decoding it can tell."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not zlib") + chunk(b"IEND", b"")


def test_masks_are_decoded_last(client: Client, tmp_path: Path) -> None:
    """Cheap checks first: a mask is decoded only once its line names a row of the project, a feature of the
    ontology and the image's size; its header alone bounds what decoding may cost."""
    project = image_project(client, tmp_path)
    bad_pixels = base64.b64encode(_png_with_garbage_pixels(20, 10)).decode()
    huge = base64.b64encode(_png_with_garbage_pixels(9000, 9000, depth=16, colour=6)).decode()
    wrong_size = base64.b64encode(_png_with_garbage_pixels(21, 10)).decode()
    mask = {"imBytes": bad_pixels, "colorRGB": [255, 0, 0]}

    def seg_line(key: str, **changes: Any) -> dict[str, Any]:
        return {"uuid": str(uuid.uuid4()), "name": "seg", "dataRow": {"globalKey": key}, "mask": mask, **changes}

    lines = [
        seg_line("img-9"),  # no such row: said before any pixel is decoded
        seg_line("img-0", name="nope"),  # no such feature
        seg_line("img-0", mask={"imBytes": wrong_size, "colorRGB": [1, 2, 3]}),  # the size, from the header
        seg_line("img-0", mask={"imBytes": huge, "colorRGB": [1, 2, 3]}),  # 648 MB once decoded: refused unread
        seg_line("img-0"),  # every cheap check passed: now it is decoded, and its pixels are not PNG
    ]
    job = MALPredictionImport.create_from_objects(client, project.uid, "order", lines)
    messages = [s["errors"][0]["message"] for s in job.statuses]
    assert "no data row" in messages[0], messages
    assert "nope" in messages[1] and "PNG" not in messages[1], messages
    assert "mask is 21 x 10 px but the image is 20 x 10 px" in messages[2], messages
    assert "bytes decoded, more than the" in messages[3], messages
    assert "cannot decode PNG" in messages[4], messages
