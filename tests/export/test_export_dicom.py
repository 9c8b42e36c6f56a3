"""Acceptance: the DICOM export sample of Labelbox's guide "Export DICOM annotations" (its "Sample project
export", kept verbatim in tests/fixtures/guides/labelbox-export-dicom-sample.json).

The equivalent annotations (a polyline on Axial frame 6, a mask on Sagittal frame 256 of a generated
512 x 512 series) are imported as ground truth, approved, and exported with the guide's params and filters.
The row has the sample's keys, nesting and values; the mask URL resolves to a PNG equal to the imported mask.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from labelport.imaging import decode_png_binary
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport
from labelport.service import exports
from labelport.service.synthetic import write_series
from tests.export.helpers import NEWER_KEYS, fetch, ids_renamed, without
from tests.fixtures import GUIDES

GUIDE_SAMPLE = GUIDES / "labelbox-export-dicom-sample.json"
PARAMS = {
    "attachments": True,
    "metadata_fields": True,
    "data_row_details": True,
    "project_details": True,
    "label_details": True,
    "performance_details": True,
}
FILTERS = {"last_activity_at": ["2000-01-01 00:00:00", "2050-01-01 00:00:00"], "workflow_status": "Done"}
SLICES = 8  # axial 512 x 512 x 8: the sagittal plane has 512 frames of 512 x 8 px


def guide_sample() -> dict[str, Any]:
    return dict(json.loads(GUIDE_SAMPLE.read_text()))


def png(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def keys_cover(sample: Any, ours: Any, where: str = "") -> None:
    """Every key of the sample is in ours, nested the same way (ours may carry more)."""
    if isinstance(sample, dict):
        assert isinstance(ours, dict), where
        for key, value in sample.items():
            assert key in ours, f"{where}.{key} missing"
            keys_cover(value, ours[key], f"{where}.{key}")
    elif isinstance(sample, list) and sample and isinstance(sample[0], dict):
        assert isinstance(ours, list) and len(ours) == len(sample), where
        for i, (a, b) in enumerate(zip(sample, ours, strict=True)):
            keys_cover(a, b, f"{where}[{i}]")


def test_dicom_sample_export(client: Client, tmp_path: Path) -> None:
    sample = guide_sample()
    [(sample_project_id, sample_project)] = sample["projects"].items()
    [sample_label] = sample_project["labels"]
    line_id, mask_id = list(sample_label["annotations"]["key_frame_feature_map"])

    series = tmp_path / "series"
    write_series(series, rows=512, columns=512, slices=SLICES)
    dataset = client.create_dataset("dicom")
    task = dataset.create_data_rows(
        [
            {
                "row_data": str(series),
                "global_key": "sample-dicom-1.dcm",
                "attachments": [{"type": "VIDEO", "value": "https://example.org/drone_video.mp4"}],
                "metadata_fields": [{"name": "tag", "value": "tag_string"}],
            }
        ]
    )
    assert task.errors is None
    ontology = client.create_ontology(
        "dicom",
        {"tools": [{"tool": "line", "name": "line"}, {"tool": "raster-segmentation", "name": "segmentation"}]},
        media_type="dicom",
    )
    project = client.create_project("test_dicom_export_project", media_type="dicom")
    project.connect_ontology(ontology)
    project.create_batch("batch", global_keys=["sample-dicom-1.dcm"])

    mask = np.zeros((SLICES, 512, 3), np.uint8)
    mask[2:6, 100:300] = 255
    line_uuid, mask_uuid = str(uuid.uuid4()), str(uuid.uuid4())
    sample_line = sample_label["annotations"]["groups"]["Axial"]["frames"]["6"]["objects"][line_id]["line"]
    items = [
        {
            "uuid": line_uuid,
            "dataRow": {"globalKey": "sample-dicom-1.dcm"},
            "name": "line",
            "groupKey": "axial",
            "segments": [{"keyframes": [{"frame": 6, "line": sample_line}]}],
        },
        {
            "uuid": mask_uuid,
            "dataRow": {"globalKey": "sample-dicom-1.dcm"},
            "groupKey": "sagittal",
            "masks": {
                "frames": [{"index": 256, "imBytes": base64.b64encode(png(mask)).decode()}],
                "instances": [{"colorRGB": [255, 255, 255], "name": "segmentation"}],
            },
        },
    ]
    job = LabelImport.create_from_objects(client, project.uid, "gt", items)
    assert job.errors == []
    [row_id] = [r.uid for r in dataset.data_rows()]
    assert project.workflow_status(row_id).status == "InReview"
    project.set_label_performance(row_id, seconds_to_create=22)
    assert project.export_v2(PARAMS, FILTERS).result == []  # not Done yet
    project.approve([row_id])

    export = project.export_v2(params=PARAMS, filters=FILTERS)
    export.wait_till_done()
    assert export.errors is None
    [row] = export.result
    keys_cover(sample, ids_renamed(row, {project.uid: sample_project_id, line_uuid: line_id, mask_uuid: mask_id}))

    ours_project = row["projects"][project.uid]
    [label] = ours_project["labels"]
    assert label["label_kind"] == "DICOM" and label["version"] == "1.0.0"
    assert label["performance_details"] == {"seconds_to_create": 22, "seconds_to_review": 0, "skipped": False}
    assert row["media_attributes"]["mime_type"] == "application/dicom"
    assert row["metadata_fields"][0]["schema_name"] == "tag" and row["metadata_fields"][0]["value"] == "tag_string"
    assert row["attachments"][0]["type"] == "VIDEO"
    details = ours_project["project_details"]
    assert details["workflow_status"] == "DONE" and details["priority"] == 5
    assert details["consensus_expected_label_count"] == 1 and details["ontology_id"] == ontology.uid
    history_shape = [
        {k: v for k, v in h.items() if k.endswith("task_name") or k == "action"} for h in details["workflow_history"]
    ]
    assert history_shape == [
        {k: v for k, v in h.items() if k.endswith("task_name") or k == "action"}
        for h in sample_project["project_details"]["workflow_history"]
    ]

    # The annotations block equals the sample's, ids and mask URL host aside.
    buffer = io.BytesIO()
    exports.export(
        client.hub,
        project.uid,
        "labelbox",
        buffer,
        options={"params": PARAMS},
        filters=FILTERS,
        link_mask=exports.server_mask_url("https://api.lb-stage.xyz", project.uid),
    )
    server_rows = [json.loads(line) for line in buffer.getvalue().splitlines()]
    block = server_rows[0]["projects"][project.uid]["labels"][0]["annotations"]
    renamed = ids_renamed(block, {project.uid: sample_project_id, line_uuid: line_id, mask_uuid: mask_id})
    assert without(renamed, NEWER_KEYS, rename=False) == sample_label["annotations"]

    # The export links a PNG equal to the imported mask (embedded: a file; a server: a signed URL that opens
    # without a key); the server's slicer cuts the same.
    url = label["annotations"]["groups"]["Sagittal"]["frames"]["256"]["objects"][mask_uuid]["mask"]["url"]
    exported = fetch(url)
    assert exported.startswith(b"\x89PNG")
    imported = decode_png_binary(png(mask[..., 0]))
    assert np.array_equal(decode_png_binary(exported), imported)
    assert np.array_equal(
        decode_png_binary(exports.mask_png_for_feature(client.hub, project.uid, mask_uuid, 256)), imported
    )
    empty = exports.mask_png_for_feature(client.hub, project.uid, mask_uuid, 255)
    assert not decode_png_binary(empty).any()
