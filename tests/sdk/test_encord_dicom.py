"""Encord DICOM label rows on real series: slices found by instance UID whatever order Encord lists them in,
geometry and masks placed on the plane whose frames run along the slice axis, and back out.

Series are written with pydicom in four orientations (axial, sagittal, coronal, and an axial one whose rows
and columns are swapped, so its image is transposed on the axial plane). Where a label lands is checked in
patient coordinates worked out from the instances' own position and orientation, independently of the plane
code that placed it. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelport.formats.encord.hashes import uuid_of_hash
from labelport.imaging import decode_encord_rle, encode_encord_rle
from labelport.imaging.grids import decode_label_volume, grid_from_attributes, plane_of
from labelport.model import MediaAttributes, ObjectAnnotation, Point, Rectangle, TrackedObject, VolumeMask
from labelport.sdk import Client
from labelport.service import exports
from labelport.service.imports import import_source, import_statuses_of, stored_annotations
from labelport.service.synthetic import write_series

ROWS, COLUMNS, SLICES = 6, 8, 5
SPACING = (0.8, 0.8, 2.5)
ORIGIN = (-25.0, -20.0, -10.0)
ORIENTATIONS = {
    "axial": (1, 0, 0, 0, 1, 0),
    "sagittal": (0, 1, 0, 0, 0, -1),
    "coronal": (1, 0, 0, 0, 0, -1),
    "axial transposed": (0, 1, 0, 1, 0, 0),
}
ONTOLOGY = {
    "objects": [
        {"id": "1", "name": "Box", "color": "#D33115", "shape": "bounding_box", "featureNodeHash": "boxFNH01"},
        {"id": "2", "name": "Lesion", "color": "#E27300", "shape": "bitmask", "featureNodeHash": "maskFNH1"},
        {"id": "3", "name": "Landmark", "color": "#16406C", "shape": "point", "featureNodeHash": "pointFN1"},
    ],
    "classifications": [],
}


def instance_lps(orientation: tuple[float, ...], k: int, x: float, y: float) -> np.ndarray[Any, Any]:
    """Patient position of continuous pixel (x, y) of slice k, from the geometry the series was written with
    (pixel centres at +0.5): the same sum every DICOM reader does, independent of labelport's grids."""
    row_dir, col_dir = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal = np.cross(row_dir, col_dir)
    position = np.array(ORIGIN) + normal * SPACING[2] * k
    return position + (x - 0.5) * SPACING[0] * row_dir + (y - 0.5) * SPACING[1] * col_dir


def series_row(client: Client, tmp_path: Path, orientation: tuple[float, ...]) -> tuple[Any, MediaAttributes]:
    write_series(
        tmp_path / "series",
        rows=ROWS,
        columns=COLUMNS,
        slices=SLICES,
        spacing=SPACING,
        orientation=orientation,
        origin=ORIGIN,
    )
    dataset = client.create_dataset("ct")
    task = dataset.create_data_rows([{"row_data": str(tmp_path / "series"), "global_key": "series-1"}])
    assert task.errors is None, task.errors
    project = client.create_project("encord dicom", media_type="dicom")
    project.create_batch("all", global_keys=["series-1"])
    (tmp_path / "ontology.json").write_text(json.dumps(ONTOLOGY))
    row = dataset.data_rows()[0]
    return project, row.model.media_attributes


def dicom_row(slices: dict[int, dict[str, Any]], *, data_title: str = "series-1") -> dict[str, Any]:
    return {
        "label_hash": "lr-dicom",
        "branch_name": "main",
        "created_at": "Mon, 01 Jan 2024 00:00:00 UTC",
        "last_edited_at": "Mon, 01 Jan 2024 00:00:00 UTC",
        "data_hash": "encord-data-hash",
        "dataset_hash": "ds",
        "dataset_title": "ds",
        "data_title": data_title,
        "data_type": "dicom",
        "label_status": "LABELLED",
        "data_units": {
            "unit": {
                "data_hash": "unit",
                "data_title": data_title,
                "data_type": "application/dicom",
                "data_sequence": 0,
                "width": COLUMNS,
                "height": ROWS,
                "labels": {str(i): labels for i, labels in slices.items()},
            }
        },
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
    }


def slice_labels(uid: str | None, objects: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"objects": objects, "classifications": []}
    if uid is not None:
        out["metadata"] = {"dicom_instance_uid": uid, "multiframe_frame_number": None, "width": COLUMNS, "height": ROWS}
    return out


def mask_object(mask: np.ndarray[Any, Any]) -> dict[str, Any]:
    return {
        "objectHash": "mask0001",
        "featureHash": "maskFNH1",
        "shape": "bitmask",
        "name": "Lesion",
        "bitmask": {"top": 0, "left": 0, "width": COLUMNS, "height": ROWS, "rleString": encode_encord_rle(mask)},
    }


def point_object(x: float, y: float) -> dict[str, Any]:
    return {
        "objectHash": "point001",
        "featureHash": "pointFN1",
        "shape": "point",
        "name": "Landmark",
        "point": {"0": {"x": x / COLUMNS, "y": y / ROWS}},
    }


def box_object(x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {
        "objectHash": "box00001",
        "featureHash": "boxFNH01",
        "shape": "bounding_box",
        "name": "Box",
        "boundingBox": {"x": x / COLUMNS, "y": y / ROWS, "w": w / COLUMNS, "h": h / ROWS},
    }


def import_rows(
    client: Client, project: Any, rows: list[dict[str, Any]], tmp_path: Path, name: str = "rows.json"
) -> Any:
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    return import_source(
        client.hub, project.uid, name, path, "ground_truth", fmt="encord", ontology_file=tmp_path / "ontology.json"
    )


def stored(client: Client, project: Any) -> dict[str, Any]:
    [row] = [r for r in client.get_project(project.uid).batches()[0].data_row_ids()]
    return {a.uuid: a for _, a in stored_annotations(client.hub, project.uid, row, "ground_truth")}  # type: ignore[union-attr]


def masks(slices: int, seed: int) -> list[np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    return [rng.random((ROWS, COLUMNS)) < 0.3 for _ in range(slices)]


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Any:
    with Client(home=tmp_path / "home", database_url=database_url) as c:
        yield c


@pytest.mark.parametrize("plane", list(ORIENTATIONS))
def test_slices_are_found_by_uid_in_any_order_and_land_where_the_instances_are(
    client: Client, tmp_path: Path, plane: str
) -> None:
    orientation = ORIENTATIONS[plane]
    project, attributes = series_row(client, tmp_path, orientation)
    uids = attributes.instance_uids
    assert uids is not None and len(uids) == SLICES
    order = list(range(SLICES))
    random.Random(7).shuffle(order)  # Encord's slice i is grid slice order[i]
    drawn = masks(SLICES, 1)
    labelled = {
        i: slice_labels(uids[k], [mask_object(drawn[k])] + ([point_object(2.5, 1.25)] if k == 3 else []))
        for i, k in enumerate(order)
    }
    job = import_rows(client, project, [dicom_row(labelled)], tmp_path)
    assert (job.succeeded, job.failed) == (2, 0), import_statuses_of(client.hub, job.id, failures_only=True)
    found = stored(client, project)

    mask = found[uuid_of_hash("mask0001")]
    assert isinstance(mask, VolumeMask) and mask.source.blob is not None
    volume = np.isin(decode_label_volume(client.hub.blobs.get(mask.source.blob)), mask.values)
    grid = grid_from_attributes(attributes)
    # every voxel set is a pixel set on the instance of its slice, at the same place in the patient
    for i, j, k in zip(*np.nonzero(volume), strict=True):
        assert drawn[k][j, i]
        voxel_lps = grid.affine_lps @ np.array([i, j, k, 1.0])
        assert np.allclose(voxel_lps[:3], instance_lps(orientation, int(k), i + 0.5, j + 0.5))
    assert volume.sum() == sum(int(m.sum()) for m in drawn)
    # the plane the mask was drawn on is the one whose frames run along the slices
    assert mask.group is not None and plane.startswith(mask.group.value)

    point = found[uuid_of_hash("point001")]
    assert isinstance(point, ObjectAnnotation) and isinstance(point.geometry, Point)
    view = plane_of(attributes, point.placement.group or "axial")
    lps = view.to_lps([point.placement.frame, point.geometry.x, point.geometry.y])
    assert np.allclose(lps, instance_lps(orientation, 3, 2.5, 1.25))


def test_an_unknown_instance_uid_fails_its_objects_only(client: Client, tmp_path: Path) -> None:
    project, attributes = series_row(client, tmp_path, ORIENTATIONS["axial"])
    uids = attributes.instance_uids
    assert uids is not None
    labelled = {
        0: slice_labels(uids[1], [box_object(1, 1, 2, 2)]),
        1: slice_labels("1.2.3.4.5.999", [point_object(1.0, 1.0)]),
    }
    job = import_rows(client, project, [dicom_row(labelled)], tmp_path)
    assert (job.succeeded, job.failed) == (1, 1)
    [failure] = import_statuses_of(client.hub, job.id, failures_only=True)
    message = failure["errors"][0]["message"]
    assert "1.2.3.4.5.999" in message and "not in the series" in message
    assert "frame 1" in message and "objectHash point001" in message and "label row lr-dicom" in message
    assert set(stored(client, project)) == {uuid_of_hash("box00001")}


def test_without_uids_slices_are_taken_by_index(client: Client, tmp_path: Path) -> None:
    orientation = ORIENTATIONS["sagittal"]
    project, attributes = series_row(client, tmp_path, orientation)
    labelled = {2: slice_labels(None, [box_object(1, 1, 2, 3)]), 3: slice_labels(None, [box_object(2, 1, 2, 3)])}
    job = import_rows(client, project, [dicom_row(labelled)], tmp_path)
    assert job.failed == 0
    track = stored(client, project)[uuid_of_hash("box00001")]
    assert isinstance(track, TrackedObject)
    view = plane_of(attributes, track.group or "axial")
    for keyframe, k, x in zip(sorted(track.keyframes, key=lambda kf: kf.frame), (3, 2), (2, 1), strict=True):
        # sagittal frames run right to left, the series left to right: slice 3 is the earlier frame
        assert isinstance(keyframe.geometry, Rectangle)
        lps = view.to_lps([keyframe.frame, keyframe.geometry.start.x, keyframe.geometry.start.y])
        assert np.allclose(lps, instance_lps(orientation, k, x, 1.0)) or np.allclose(
            view.to_lps([keyframe.frame, keyframe.geometry.end.x, keyframe.geometry.start.y]),
            instance_lps(orientation, k, x, 1.0),
        )
    bad = {9: slice_labels(None, [point_object(1.0, 1.0)])}
    again = import_rows(client, project, [dicom_row(bad)], tmp_path, "bad.json")
    [failure] = import_statuses_of(client.hub, again.id, failures_only=True)
    assert "slice 9 is beyond the series, which has slices 0 to 4" in failure["errors"][0]["message"]


@pytest.mark.parametrize("plane", ["axial", "axial transposed"])
def test_export_writes_slices_with_their_uids_and_reads_back_to_the_same_voxels(
    client: Client, tmp_path: Path, plane: str
) -> None:
    project, attributes = series_row(client, tmp_path, ORIENTATIONS[plane])
    uids = attributes.instance_uids
    assert uids is not None
    drawn = masks(SLICES, 2)
    labelled = {i: slice_labels(uids[SLICES - 1 - i], [mask_object(drawn[SLICES - 1 - i])]) for i in range(SLICES)}
    labelled[0]["objects"].append(box_object(1.5, 0.5, 3.0, 2.0))
    import_rows(client, project, [dicom_row(labelled)], tmp_path)
    before = stored(client, project)
    folder = tmp_path / "export"
    report = exports.export(client.hub, project.uid, "encord", folder)
    assert report.losses == [] and report.items == 1
    [row] = json.loads((folder / "label_rows.json").read_text())
    assert row["data_type"] == "dicom" and row["data_title"] == "series-1"
    [unit] = row["data_units"].values()
    # slice k is written under k with its own instance UID, whatever order it came in
    for key, labels in unit["labels"].items():
        assert labels["metadata"]["dicom_instance_uid"] == uids[int(key)]
        bitmask = next(o["bitmask"] for o in labels["objects"] if o["shape"] == "bitmask")
        assert np.array_equal(decode_encord_rle(bitmask["rleString"], ROWS, COLUMNS), drawn[int(key)])

    # into a second project: the same voxels and the same box
    other = client.create_project("again", media_type="dicom")
    other.create_batch("all", global_keys=["series-1"])
    job = import_source(
        client.hub,
        other.uid,
        "back",
        folder / "label_rows.json",
        "ground_truth",
        fmt="encord",
        ontology_file=folder / "ontology.json",
    )
    assert job.failed == 0, import_statuses_of(client.hub, job.id, failures_only=True)
    after = stored(client, other)
    assert set(after) == set(before)
    for uuid, annotation in before.items():
        again = after[uuid]
        if isinstance(annotation, VolumeMask):
            assert isinstance(again, VolumeMask) and annotation.source.blob and again.source.blob
            first = np.isin(decode_label_volume(client.hub.blobs.get(annotation.source.blob)), annotation.values)
            second = np.isin(decode_label_volume(client.hub.blobs.get(again.source.blob)), again.values)
            assert np.array_equal(first, second)
        else:
            assert isinstance(annotation, ObjectAnnotation) and isinstance(again, ObjectAnnotation)
            assert again.placement == annotation.placement
            a, b = annotation.geometry, again.geometry
            assert isinstance(a, Rectangle) and isinstance(b, Rectangle)
            assert np.allclose([a.start.x, a.start.y, a.end.x, a.end.y], [b.start.x, b.start.y, b.end.x, b.end.y])


def test_converted_without_a_store_an_encord_mask_becomes_a_nifti_label_map_at_the_same_voxels(tmp_path: Path) -> None:
    """``labelport convert rows.json --to nifti --series DIR``: the series joined by the row's series UID, slices
    found by instance UID in Encord's shuffled order, the label map on the series grid."""
    import nibabel as nib

    import labelport
    from labelport.service.media import dicom_attributes, series_files

    orientation = ORIENTATIONS["sagittal"]
    write_series(
        tmp_path / "series",
        rows=ROWS,
        columns=COLUMNS,
        slices=SLICES,
        spacing=SPACING,
        orientation=orientation,
        origin=ORIGIN,
    )
    attributes = dicom_attributes(series_files(str(tmp_path / "series"), "series"), "series")
    uids = attributes.instance_uids
    assert uids is not None
    drawn = masks(SLICES, 3)
    order = [3, 0, 4, 1, 2]
    row = dicom_row({i: slice_labels(uids[k], [mask_object(drawn[k])]) for i, k in enumerate(order)})
    row["data_units"]["unit"]["metadata"] = {"series_uid": attributes.series_instance_uid}
    (tmp_path / "rows.json").write_text(json.dumps([row]))
    result = labelport.convert(tmp_path / "rows.json", "nifti", tmp_path / "out", series=tmp_path / "series")
    assert result.ok, (result.problems, result.report)
    [written] = list((tmp_path / "out").glob("*.nii.gz"))
    image = nib.load(written)
    labels = np.asarray(image.dataobj)
    grid = grid_from_attributes(attributes)
    assert labels.shape == grid.shape
    assert np.allclose(np.diag([-1.0, -1.0, 1.0, 1.0]) @ image.affine, grid.affine_lps)  # RAS on disk, LPS here
    for k in range(SLICES):
        np.testing.assert_array_equal(labels[:, :, k].T != 0, drawn[k])
