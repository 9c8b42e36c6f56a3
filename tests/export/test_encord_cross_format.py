"""One DICOM mask through Labelbox NDJSON and Encord label rows: both land on the same voxels, and what one
format exports the other imports back to those voxels.

The series is coronal (its slices run anterior to posterior); Labelbox draws the mask on the axial plane,
Encord on the acquired (coronal) slices, so the two inputs look nothing alike and meet only in the volume.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import labelport as lb
from labelport.imaging import encode_encord_rle
from labelport.imaging.grids import decode_label_volume, plane_of
from labelport.model import MediaAttributes, VolumeMask
from labelport.sdk import Client
from labelport.sdk.imports import LabelImport
from labelport.service import exports
from labelport.service.imports import import_source, import_statuses_of, stored_annotations
from labelport.service.synthetic import write_series

ROWS, COLUMNS, SLICES = 10, 12, 6
ENCORD_ONTOLOGY = {
    "objects": [{"id": "1", "name": "Lesion", "color": "#D33115", "shape": "bitmask", "featureNodeHash": "lesionBM"}],
    "classifications": [],
}


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Any:
    with Client(home=tmp_path / "home", database_url=database_url) as c:
        yield c


def png(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def setup(client: Client, tmp_path: Path) -> tuple[Any, MediaAttributes]:
    write_series(tmp_path / "series", rows=ROWS, columns=COLUMNS, slices=SLICES, orientation=(1, 0, 0, 0, 0, -1))
    dataset = client.create_dataset("ct")
    assert dataset.create_data_rows([{"row_data": str(tmp_path / "series"), "global_key": "ct-1"}]).errors is None
    (tmp_path / "encord-ontology.json").write_text(json.dumps(ENCORD_ONTOLOGY))
    [row] = dataset.data_rows()
    return dataset, row.model.media_attributes


def project_of(client: Client, name: str, labelbox: bool) -> Any:
    project = client.create_project(name, media_type="dicom")
    if labelbox:
        builder = lb.OntologyBuilder(tools=[lb.Tool(tool=lb.Tool.Type.RASTER_SEGMENTATION, name="Lesion")])
        project.connect_ontology(client.create_ontology(name, builder.asdict(), media_type="dicom"))
    project.create_batch("all", global_keys=["ct-1"])
    return project


def voxels(client: Client, project: Any) -> np.ndarray[Any, Any]:
    [row_id] = client.get_data_row_ids_for_global_keys(["ct-1"])["results"]
    [(_, mask)] = stored_annotations(client.hub, project.uid, row_id, "ground_truth")
    assert isinstance(mask, VolumeMask) and mask.source.blob is not None
    selected: np.ndarray[Any, Any] = np.isin(decode_label_volume(client.hub.blobs.get(mask.source.blob)), mask.values)
    return selected


def the_mask(attributes: MediaAttributes) -> np.ndarray[Any, Any]:
    """A blob crossing several slices of every plane, on the series grid [column, row, slice]."""
    volume = np.zeros((COLUMNS, ROWS, SLICES), dtype=bool)
    volume[3:9, 2:7, 1:5] = True
    volume[5, 2, 1] = False
    return volume


def labelbox_lines(volume: np.ndarray[Any, Any], attributes: MediaAttributes) -> list[dict[str, Any]]:
    """The mask as Labelbox NDJSON: composite PNGs of the axial frames it touches (frames count from 1)."""
    view = plane_of(attributes, "axial")
    stacked = view.stack(volume)
    frames = []
    for frame in range(stacked.shape[0]):
        if stacked[frame].any():
            rgb = np.zeros((*stacked[frame].shape, 3), dtype=np.uint8)
            rgb[stacked[frame]] = 255
            frames.append({"index": frame + 1, "imBytes": base64.b64encode(png(rgb)).decode()})
    return [
        {
            "uuid": str(uuid.uuid4()),
            "dataRow": {"globalKey": "ct-1"},
            "groupKey": "axial",
            "masks": {"frames": frames, "instances": [{"colorRGB": [255, 255, 255], "name": "Lesion"}]},
        }
    ]


def encord_row(volume: np.ndarray[Any, Any], attributes: MediaAttributes) -> dict[str, Any]:
    """The mask as an Encord label row: a bitmask on each acquired slice it touches, named by instance UID."""
    uids = attributes.instance_uids
    assert uids is not None
    labels = {}
    for k in range(SLICES):
        image = volume[:, :, k].T
        if image.any():
            labels[str(k)] = {
                "objects": [
                    {
                        "objectHash": "lesion01",
                        "featureHash": "lesionBM",
                        "shape": "bitmask",
                        "name": "Lesion",
                        "bitmask": {
                            "top": 0,
                            "left": 0,
                            "width": COLUMNS,
                            "height": ROWS,
                            "rleString": encode_encord_rle(image),
                        },
                    }
                ],
                "classifications": [],
                "metadata": {"dicom_instance_uid": uids[k], "multiframe_frame_number": None},
            }
    unit = {
        "data_hash": "u",
        "data_title": "ct-1",
        "data_type": "application/dicom",
        "data_sequence": 0,
        "width": COLUMNS,
        "height": ROWS,
        "labels": labels,
    }
    return {
        "label_hash": "lr",
        "branch_name": "main",
        "created_at": None,
        "last_edited_at": None,
        "data_hash": "u",
        "dataset_hash": "d",
        "dataset_title": "d",
        "data_title": "ct-1",
        "data_type": "dicom",
        "label_status": "LABELLED",
        "data_units": {"u": unit},
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
    }


def test_one_mask_from_labelbox_and_from_encord_lands_on_the_same_voxels_both_ways(
    client: Client, tmp_path: Path
) -> None:
    _, attributes = setup(client, tmp_path)
    wanted = the_mask(attributes)

    from_labelbox = project_of(client, "from labelbox", labelbox=True)
    job = LabelImport.create_from_objects(client, from_labelbox.uid, "lb", labelbox_lines(wanted, attributes))
    assert job.errors == []
    from_encord = project_of(client, "from encord", labelbox=False)
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([encord_row(wanted, attributes)]))
    imported = import_source(
        client.hub,
        from_encord.uid,
        "enc",
        rows,
        "ground_truth",
        fmt="encord",
        ontology_file=tmp_path / "encord-ontology.json",
    )
    assert imported.failed == 0, import_statuses_of(client.hub, imported.id, failures_only=True)
    assert np.array_equal(voxels(client, from_labelbox), wanted)
    assert np.array_equal(voxels(client, from_encord), wanted)

    # Labelbox's import exported as Encord label rows, into a project with the exported Encord ontology
    folder = tmp_path / "encord-export"
    report = exports.export(client.hub, from_labelbox.uid, "encord", folder)
    assert report.losses == []
    back_in_encord = project_of(client, "labelbox via encord", labelbox=False)
    job = import_source(
        client.hub,
        back_in_encord.uid,
        "back",
        folder / "label_rows.json",
        "ground_truth",
        fmt="encord",
        ontology_file=folder / "ontology.json",
    )
    assert job.failed == 0, import_statuses_of(client.hub, job.id, failures_only=True)
    assert np.array_equal(voxels(client, back_in_encord), wanted)

    # Encord's import exported as Labelbox NDJSON, into a project with a Labelbox ontology of the same names
    ndjson = tmp_path / "labelbox.ndjson"
    report = exports.export(client.hub, from_encord.uid, "labelbox_ndjson", ndjson)
    assert report.losses == []
    back_in_labelbox = project_of(client, "encord via labelbox", labelbox=True)
    lines = [json.loads(line) for line in ndjson.read_text().splitlines()]
    for line in lines:
        for instance in line["masks"]["instances"]:
            instance.pop("schemaId", None)  # the feature is found by name in the other ontology
    job = LabelImport.create_from_objects(client, back_in_labelbox.uid, "back", lines)
    assert job.errors == []
    assert np.array_equal(voxels(client, back_in_labelbox), wanted)
