"""Every Labelbox NDJSON fixture imports into a project whose ontology is built from the fixture's names.

The fixture's data rows are created here (ids in the fixture are mapped onto the new rows; global keys are
kept), the expected statuses are asserted line by line, and the stored annotations written back as NDJSON
equal the input by the comparison rules of notes/labelbox.md section 5.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from labelport.formats.base import WriteContext
from labelport.formats.labelbox import ndjson
from labelport.model import (
    AnyAnnotation,
    Checklist,
    ClassificationAnnotation,
    DataRowKey,
    FrameMasks,
    Label,
    LabeledItem,
    LabelKind,
    ObjectAnnotation,
    Radio,
    Relationship,
    Text,
    TrackedObject,
    decoded,
)
from labelport.sdk import Client
from labelport.service.exports import StorePixels
from labelport.service.imports import stored_annotations
from labelport.service.synthetic import write_image, write_series
from labelport.service.validation import TOOL_FOR_GEOMETRY
from tests.fixtures import LABELBOX
from tests.formats.ndjson_compare import assert_same_ndjson

ANCHORS = LABELBOX
HTTP_OFF = "http(s) fetching, which is off"
FRAME_0 = "frames are 1-based in Labelbox NDJSON (frame 1 is the first frame, as in the Labelbox editor and its"
TWICE = "is used twice in this import"

# fixture -> (media type, {0-based line: expected reason}); every other line must succeed.
CASES: dict[str, tuple[str, dict[int, str]]] = {
    # These SDK fixtures give one schemaId to a checklist and to a text question: no ontology holds both.
    "ndjson/classification_import.json": ("image", {2: "is checklist, but the answer is text"}),
    "ndjson/classification_import_global_key.json": ("image", {2: "is checklist, but the answer is text"}),
    "ndjson/classification_import_name_only.json": ("image", {}),
    "ndjson/image_import.json": ("image", {1: HTTP_OFF}),
    "ndjson/image_import_global_key.json": ("image", {1: HTTP_OFF}),
    "ndjson/image_import_name_only.json": ("image", {1: HTTP_OFF}),
    "ndjson/nested_import.json": (
        "image",
        {2: "is radio, but the answer is checklist", 3: "is radio, but the answer is text"},
    ),
    "ndjson/nested_import_name_only.json": ("image", {}),
    "ndjson/polyline_import.json": ("image", {}),
    "ndjson/polyline_import_global_key.json": ("image", {}),
    "ndjson/polyline_without_confidence_import.json": ("image", {}),
    "ndjson/rectangle_import.json": ("image", {}),
    # The second half repeats the first half's uuids on another data row: uuids are unique per import.
    "ndjson/relationship_import.json": ("image", {3: TWICE, 4: TWICE, 5: TWICE}),
    # Classification frame ranges count from 1 like keyframes; the SDK's fixture uses start 0.
    "ndjson/video_import.json": ("video", {1: FRAME_0}),
    "ndjson/video_import_global_key.json": ("video", {1: FRAME_0}),
    "ndjson/video_import_name_only.json": ("video", {1: FRAME_0}),
    "derived/video_nested_classification_ndjson_from_test_video.json": ("video", {}),
    "derived/image_mask_ndjson_from_test_image.json": ("image:2x2", {1: HTTP_OFF}),
    # Remote mask URLs are not fetched offline; video masks (no groupKey) do not belong on a DICOM row.
    "derived/dicom_ndjson_from_test_dicom.json": (
        "dicom",
        {2: HTTP_OFF, 3: HTTP_OFF, 4: "a DICOM mask needs a plane", 5: "a DICOM mask needs a plane"},
    ),
}


def _classification_nodes(annotations: Iterable[ClassificationAnnotation], into: dict[str, dict[str, Any]]) -> None:
    for c in annotations:
        key = c.schema_id or c.name or ""
        kind = {Radio: "radio", Checklist: "checklist", Text: "text"}[type(c.answer)]
        node = into.setdefault(
            key,
            {"type": kind, "name": c.name or key, "featureSchemaId": c.schema_id, "options": {}},
        )
        answers = (
            [c.answer.answer]
            if isinstance(c.answer, Radio)
            else list(c.answer.answers)
            if isinstance(c.answer, Checklist)
            else []
        )
        for answer in answers:
            akey = answer.schema_id or answer.name or ""
            option = node["options"].setdefault(
                akey, {"value": answer.name or akey, "featureSchemaId": answer.schema_id, "options": {}}
            )
            _classification_nodes(answer.classifications, option["options"])


def _finish(nodes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in nodes.values():
        node = dict(node)
        if "options" in node and isinstance(node["options"], dict):
            node["options"] = [{**o, "options": _finish(o["options"])} for o in node["options"].values()]
        if node.get("type") == "text":
            node["options"] = []
        out.append(node)
    return out


def ontology_from(annotations: list[AnyAnnotation]) -> dict[str, Any]:
    tools: dict[str, dict[str, Any]] = {}
    tool_classes: dict[str, dict[str, dict[str, Any]]] = {}
    classifications: dict[str, dict[str, Any]] = {}

    def tool(name: str | None, schema_id: str | None, kind: str) -> str:
        key = schema_id or name or ""
        tools.setdefault(key, {"tool": kind, "name": name or key, "featureSchemaId": schema_id})
        return key

    for a in annotations:
        if isinstance(a, ObjectAnnotation):
            key = tool(a.name, a.schema_id, TOOL_FOR_GEOMETRY[type(a.geometry)].value)
            _classification_nodes(a.classifications, tool_classes.setdefault(key, {}))
        elif isinstance(a, TrackedObject):
            key = tool(a.name, a.schema_id, TOOL_FOR_GEOMETRY[type(a.keyframes[0].geometry)].value)
            _classification_nodes(a.classifications, tool_classes.setdefault(key, {}))
            for keyframe in a.keyframes:
                _classification_nodes(keyframe.classifications, tool_classes.setdefault(key, {}))
        elif isinstance(a, FrameMasks):
            for instance in a.instances:
                tool(instance.name, instance.schema_id, "raster-segmentation")
        elif isinstance(a, Relationship):
            tool(a.name, a.schema_id, "edge")
        else:
            _classification_nodes([a], classifications)
    return {
        "tools": [{**t, "classifications": _finish(tool_classes.get(k, {}))} for k, t in tools.items()],
        "classifications": _finish(classifications),
    }


def media_for(kind: str, folder: Path, index: int) -> dict[str, Any]:
    if kind.startswith("image"):
        width, height = (int(v) for v in kind.split(":")[1].split("x")) if ":" in kind else (64, 48)
        return {"row_data": str(write_image(folder / f"image-{index}.png", width, height))}
    if kind == "video":
        path = folder / f"video-{index}.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16)
        return {"row_data": str(path), "media_type": "video"}
    series = folder / f"series-{index}"
    write_series(series, rows=8, columns=8, slices=6)
    return {"row_data": str(series), "media_type": "dicom"}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_fixture_imports_with_expected_statuses_and_writes_back(client: Client, tmp_path: Path, fixture: str) -> None:
    path = ANCHORS / fixture
    media, expected_failures = CASES[fixture]
    media_type = media.split(":")[0]
    lines: list[dict[str, Any]] = json.loads(path.read_text())
    refs = list(dict.fromkeys(json.dumps(line["dataRow"], sort_keys=True) for line in lines))
    dataset = client.create_dataset(fixture)
    assets = []
    for index, ref in enumerate(refs):
        row = json.loads(ref)
        assets.append({**media_for(media, tmp_path, index), "global_key": row.get("globalKey") or f"row-{index}"})
    task = dataset.create_data_rows(assets)
    assert task.errors is None
    ids = {ref: created.id for ref, created in zip(refs, task.created, strict=True)}

    def mapped(line: dict[str, Any]) -> dict[str, Any]:
        ref = json.dumps(line["dataRow"], sort_keys=True)
        return {**line, "dataRow": {"id": ids[ref]} if "id" in line["dataRow"] else line["dataRow"]}

    payload = [mapped(line) for line in lines]
    read = [i for i in ndjson.read(payload) if isinstance(i, LabeledItem)]
    annotations = [decoded(a) for item in read for label in item.labels for a in label.annotations]
    ontology = client.create_ontology(fixture, ontology_from(annotations), media_type=media_type)
    project = client.create_project(fixture, media_type=media_type)
    project.connect_ontology(ontology)
    project.create_batch("all", data_rows=list(ids.values()))

    job = client_import(client, project.uid, payload)
    statuses = job.statuses
    assert len(statuses) == len(lines)
    for index, status in enumerate(statuses):
        if index in expected_failures:
            assert status["status"] == "FAILURE", (index, status)
            assert expected_failures[index] in status["errors"][0]["message"], (index, status)
        else:
            assert status["status"] == "SUCCESS", (index, status)

    # Writing the stored annotations back gives the input (the successful lines), by the notes' rules.
    back: list[LabeledItem] = []
    by_id = {v: json.loads(k) for k, v in ids.items()}
    for row_id in ids.values():
        original = by_id[row_id]
        key = DataRowKey(id=row_id) if "id" in original else DataRowKey(global_key=original["globalKey"])
        stored = tuple(a for _, a in stored_annotations(client.hub, project.uid, row_id, "ground_truth"))
        media = client.get_data_row(row_id).model
        back.append(LabeledItem(key, (Label(LabelKind.GROUND_TRUTH, stored),), media=media))
    written = [json.loads(line) for line in labelbox_ndjson_lines(back, client)]
    succeeded = [p for i, p in enumerate(payload) if i not in expected_failures]
    assert_same_ndjson(written, succeeded)


def labelbox_ndjson_lines(items: list[LabeledItem], client: Client) -> list[bytes]:
    import io

    out = io.BytesIO()
    report = ndjson.write(items, out, WriteContext(pixels=StorePixels(client.hub)))
    assert report.losses == [], report.losses
    return [line for line in out.getvalue().splitlines() if line.strip()]


def client_import(client: Client, project_id: str, payload: list[dict[str, Any]]) -> Any:
    from labelport.sdk.imports import LabelImport

    job = LabelImport.create_from_objects(client, project_id, "fixture", payload)
    job.wait_until_done()
    assert job.state == "FINISHED", job.error
    return job
