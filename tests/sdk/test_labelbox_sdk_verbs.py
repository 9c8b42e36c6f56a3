"""The Labelbox SDK verbs users call, on both backends: the streaming export (``project.export`` ->
``ExportTask`` with buffered and converter streams of its rows and errors), ``setup_editor``, and a
``TypeError`` naming the parameter for a wrong argument type."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

import labelport as lb
import labelport.types as lb_types
from labelport.model import DataRowKey, Ellipse, Label, LabeledItem, LabelKind, ObjectAnnotation, Point
from labelport.sdk import Client
from labelport.sdk.exports import ExportTaskError
from labelport.sdk.imports import LabelImport, MALPredictionImport
from labelport.service.imports import import_annotations
from labelport.service.synthetic import write_image


def image_project(client: Client, tmp_path: Path, rows: int = 3) -> tuple[Any, list[str]]:
    dataset = client.create_dataset("images")
    images = [write_image(tmp_path / f"i{i}.png", width=40, height=30) for i in range(rows)]
    task = dataset.create_data_rows([{"row_data": str(p), "global_key": f"img-{i}"} for i, p in enumerate(images)])
    assert task.errors is None
    ontology = client.create_ontology(
        "o",
        {"tools": [{"tool": "rectangle", "name": "box"}, {"tool": "ellipse", "name": "oval"}]},
        media_type=lb.MediaType.Image,
    )
    project = client.create_project("streams", media_type=lb.MediaType.Image)
    project.setup_editor(ontology)  # the older guides' name for connect_ontology
    assert project.ontology() is not None and project.ontology().uid == ontology.uid  # type: ignore[union-attr]
    keys = [f"img-{i}" for i in range(rows)]
    project.create_batch("all", global_keys=keys)
    boxes = [
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": k},
            "name": "box",
            "bbox": {"top": 1, "left": 2, "height": 5, "width": 6},
        }
        for k in keys
    ]
    assert LabelImport.create_from_objects(client, project.uid, "gt", boxes).errors == []
    return project, keys


def test_streaming_export_as_labelbox_streams_it(client: Client, tmp_path: Path) -> None:
    project, keys = image_project(client, tmp_path)
    # An ellipse has no export_v2 form: the export writes its row without it and says so in its errors.
    oval = ObjectAnnotation(str(uuid.uuid4()), Ellipse(Point(5, 5), 3, 2), "oval")
    item = LabeledItem(DataRowKey(global_key="img-1"), (Label(LabelKind.GROUND_TRUTH, (oval,)),))
    assert import_annotations(client.hub, project.uid, "oval", [item], "ground_truth").failed == 0

    export_task = project.export(params={"data_row_details": True}, filters={"global_keys": keys})
    export_task.wait_till_done()
    assert export_task.status == "COMPLETE"
    assert export_task.has_result() and export_task.has_errors()

    rows: list[dict[str, Any]] = []

    def json_stream_handler(output: lb.BufferedJsonConverterOutput) -> None:
        rows.append(output.json)

    export_task.get_buffered_stream(stream_type=lb.StreamType.RESULT).start(stream_handler=json_stream_handler)
    assert sorted(r["data_row"]["global_key"] for r in rows) == keys
    errors: list[Any] = []
    export_task.get_buffered_stream(stream_type=lb.StreamType.ERRORS).start(
        stream_handler=lambda e: errors.append(e.json)
    )
    assert len(errors) == 1 and "dropped: " in errors[0]["message"] and "Ellipse" in errors[0]["message"]
    assert export_task.errors == errors

    # Sizes and line counts are those of the file the job wrote (and the errors it recorded).
    assert export_task.path is not None
    assert export_task.get_total_file_size(stream_type=lb.StreamType.RESULT) == export_task.path.stat().st_size
    assert export_task.get_total_lines(stream_type=lb.StreamType.RESULT) == 3
    assert export_task.get_total_lines(stream_type=lb.StreamType.ERRORS) == 1
    assert export_task.get_total_file_size(stream_type=lb.StreamType.ERRORS) == len(orjson.dumps(errors[0])) + 1

    # The converter stream: text with byte offsets and lines, resumable from either.
    outputs: list[lb.JsonConverterOutput] = []
    export_task.get_stream(converter=lb.JsonConverter(), stream_type=lb.StreamType.RESULT).start(
        stream_handler=outputs.append
    )
    assert [orjson.loads(o.json_str) for o in outputs] == rows
    assert [o.current_line for o in outputs] == [0, 1, 2]
    data = export_task.path.read_bytes()
    for o in outputs:
        assert data[o.current_offset :].startswith(o.json_str.encode())
    again = list(export_task.get_stream().with_offset(outputs[1].current_offset))
    assert [o.json_str for o in again] == [o.json_str for o in outputs[1:]]
    assert [o.current_line for o in export_task.get_stream().with_line(2)] == [2]
    # Iterating a buffered stream gives the rows too; result holds them all.
    assert [o.json for o in export_task.get_buffered_stream()] == rows == export_task.result


def test_a_failed_export_task_says_why(client: Client, tmp_path: Path) -> None:
    project, _keys = image_project(client, tmp_path, rows=1)
    task = project.export_v2()
    assert task.errors is None and not task.has_errors()
    assert task.get_total_lines(stream_type=lb.StreamType.ERRORS) is None
    empty = project.export_v2(filters={"global_keys": ["nobody"]})
    assert not empty.has_result() and empty.result == []
    with pytest.raises(
        TypeError, match=re.escape("stream_type must be StreamType.RESULT or StreamType.ERRORS, found 'BAD'")
    ):
        task.get_buffered_stream(stream_type="BAD")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="converter must be a JsonConverter"):
        task.get_stream(converter=object())  # type: ignore[arg-type]
    from labelport.sdk.exports import ExportTask, ExportTaskInfo

    failed = ExportTask(client, ExportTaskInfo("t", project.uid, "FAILED", None, 0, [{"message": "the store failed"}]))
    with pytest.raises(ExportTaskError, match="export task t failed: the store failed"):
        _ = failed.result
    assert [e.json for e in failed.get_buffered_stream(stream_type=lb.StreamType.ERRORS)] == [
        {"message": "the store failed"}
    ]


def test_wrong_argument_types_name_the_parameter(client: Client, tmp_path: Path) -> None:
    project, _keys = image_project(client, tmp_path, rows=1)
    line = {"uuid": str(uuid.uuid4()), "dataRow": {"globalKey": "img-0"}, "name": "box", "point": {"x": 1, "y": 2}}
    cases: list[tuple[Any, str]] = [
        (
            lambda: MALPredictionImport.create_from_objects(client, project.uid, "m", predictions=line),
            "predictions must be a list of NDJSON dicts or labelport.types.Label objects, found one dict "
            "(wrap it in a list: [{...}])",
        ),
        (
            lambda: LabelImport.create_from_objects(client, project.uid, "m", labels=[line, "text"]),
            "labels must be a list of NDJSON dicts or labelport.types.Label objects, found an item str 'text'",
        ),
        (
            lambda: LabelImport.create_from_objects(project, project.uid, "m", labels=[line]),
            "client must be a labelport Client (lb.Client()), found Project",
        ),
        (lambda: LabelImport.create_from_objects(client, project, "m", labels=[line]), "project_id must be a string"),
        (lambda: LabelImport.create_from_file(client, project.uid, "m", 42), "path must be a file path"),
        (lambda: client.create_dataset(name=5), "name must be a string, found int 5"),
        (lambda: client.get_project(None), "project_id must be a string, found NoneType None"),
        (lambda: client.create_project("p", media_type=3), "media_type must be a MediaType"),
        (lambda: client.get_data_row_ids_for_global_keys("img-0"), "global_keys must be a list of strings"),
        (lambda: project.create_batch("b", global_keys="img-0"), "global_keys must be a list of strings"),
        (lambda: project.create_batch("b", data_rows=[1]), "each of data_rows must be a data row id or a DataRow"),
        (lambda: project.create_batch("b", global_keys=["img-0"], priority="high"), "priority must be an integer"),
        (lambda: project.connect_ontology(7), "ontology must be an Ontology or its id, found int 7"),
        (lambda: project.export_v2(params=["x"]), "params must be a dict or None"),
        (lambda: project.export(filters="Done"), "filters must be a dict or None"),
        (lambda: project.approve("img-0"), "data_rows must be a list of data row ids or DataRow objects"),
        (lambda: client.get_datasets()[0].create_data_rows({"row_data": "a"}), "assets must be a list"),
    ]
    for call, message in cases:
        with pytest.raises(TypeError) as raised:
            call()
        assert message in str(raised.value), (message, str(raised.value))


def test_labels_built_with_the_types_import_as_objects(client: Client, tmp_path: Path) -> None:
    project, _keys = image_project(client, tmp_path, rows=1)
    label = lb_types.Label(
        data={"global_key": "img-0"},
        annotations=[
            lb_types.ObjectAnnotation(
                name="box", value=lb_types.Rectangle(start=lb_types.Point(x=1, y=2), end=lb_types.Point(x=5, y=6))
            )
        ],
    )
    job = MALPredictionImport.create_from_objects(client=client, project_id=project.uid, name="t", predictions=[label])
    job.wait_until_done()
    assert [s["status"] for s in job.statuses] == ["SUCCESS"]
