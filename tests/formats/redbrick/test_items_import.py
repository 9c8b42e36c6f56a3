"""Importing items lists into a project (``service.items``): data rows created and batched, annotations
imported, a task with any problem failing whole while the others land; features created on request; the
guide's examples, a re-import, and an export read back voxel for voxel. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from labelport.imaging.grids import decode_label_volume
from labelport.model import VolumeMask
from labelport.model.ontology import ToolType
from labelport.sdk import Client
from labelport.service import exports
from labelport.service.imports import import_statuses_of, stored_annotations
from labelport.service.items import import_items
from labelport.service.ontologies import get_ontology
from labelport.service.projects import get_project

from ...fixtures import REDBRICK
from .helpers import AXIAL, INPUTS, ITEMS_FIXTURE, write_items

SDK_UPLOADS = REDBRICK / "sdk_outputs" / "process_upload"
SEGMENTS = ("liver", "spleen", "kidney", "lesion")


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[Client]:
    with Client(home=tmp_path / "home", database_url=database_url) as c:
        yield c


def _project(client: Client, tools: tuple[str, ...] = SEGMENTS, name: str = "p") -> str:
    project = client.create_project(name, media_type="dicom")
    if tools:
        ontology = {"tools": [{"tool": "raster-segmentation", "name": t} for t in tools], "classifications": []}
        project.connect_ontology(client.create_ontology(name, ontology, media_type="dicom"))
    return str(project.uid)


def _stored(client: Client, project: str, global_key: str) -> tuple[list[VolumeMask], np.ndarray[Any, Any]]:
    from labelport.service.datasets import existing_global_keys

    row = existing_global_keys(client.hub, [global_key])[global_key]
    masks = [a for _, a in stored_annotations(client.hub, project, row, "ground_truth") if isinstance(a, VolumeMask)]
    blobs = {m.source.blob for m in masks}
    assert len(blobs) == 1 and None not in blobs
    return masks, decode_label_volume(client.hub.blobs.get(next(iter(blobs))))  # type: ignore[arg-type]


def _sdk(name: str) -> np.ndarray[Any, Any]:
    return np.asarray(nib.load(str(SDK_UPLOADS / name)).dataobj)


def test_the_guides_three_examples_import_with_the_fixture_data(client: Client) -> None:
    project = _project(client)
    result = import_items(client.hub, project, ITEMS_FIXTURE, kind="ground_truth", create_features=True)
    assert result.failed == ()
    assert result.created == 4 and result.reused == 0 and result.batch_id is not None
    assert result.job is not None and result.job.failed == 0
    expected = {
        "guide-I/CT": ([(1,), (2,), (3,)], "upload_single_file.nii.gz"),
        "guide-II/CT": ([(1,), (2, 5), (3,), (4, 5)], "upload_multiple_files_overlap.nii.gz"),
        "guide-III/CT": ([(1, 3), (2, 3)], "upload_binary_masks_overlap.nii.gz"),
    }
    for key, (values, sdk_file) in expected.items():
        masks, volume = _stored(client, project, key)
        assert [m.values for m in masks] == values
        assert np.array_equal(volume, _sdk(sdk_file)), key
    # features the list used were added with the right kinds; the DICOM rows are in the project's batch
    ontology = get_ontology(client.hub, get_project(client.hub, project).ontology_id or "").ontology
    kinds = {t.name: t.type for t in ontology.tools}
    assert kinds["liver"] is ToolType.RASTER_SEGMENTATION and kinds["node"] is ToolType.POINT
    assert kinds["diameter"] is ToolType.LINE and kinds["box 3d"] is ToolType.BBOX


def test_an_unknown_category_fails_its_task_and_names_it(client: Client, tmp_path: Path) -> None:
    project = _project(client, tools=("liver", "spleen", "kidney"))
    items = [str(p) for p in sorted(AXIAL.iterdir())]
    seg = str(INPUTS / "axial_seg_labelmap.nii.gz")
    tasks = [
        {
            "name": "good",
            "series": [
                {"items": items, "segmentations": seg, "segmentMap": {"1": "liver", "2": "spleen", "3": "kidney"}}
            ],
        },
        {
            "name": "unknown",
            "series": [
                {"items": items, "segmentations": seg, "segmentMap": {"1": "liver", "2": "spleen", "3": "pancreas"}}
            ],
        },
        {
            "name": "bad shape",
            "series": [
                {"items": items, "segmentations": str(INPUTS / "mismatch_big.nii.gz"), "segmentMap": {"5": "liver"}}
            ],
        },
    ]
    source = write_items(tmp_path, tasks)
    result = import_items(client.hub, project, source, kind="ground_truth")
    assert [r.ok for r in result.records] == [True, False, False]
    [unknown] = result.records[1].errors
    assert unknown.endswith(
        "data row global key 'unknown/A': feature name 'pancreas' is not in the project's ontology "
        "(tools: kidney, liver, spleen)"
    )
    assert unknown.startswith(f"{source}, line 1, [1].series[0].segmentMap.3: ")
    assert result.records[2].errors == (
        f"{source}, line 1, [2].series[0]: task 'bad shape', series 'A': segmentation "
        f"'{INPUTS / 'mismatch_big.nii.gz'}' has shape (14, 10, 6); the series is 12 columns x 10 rows x 6 slices",
    )
    assert result.created == 1 and result.job is not None and result.job.succeeded == 3
    assert import_statuses_of(client.hub, result.job.id, failures_only=True) == []
    masks, _ = _stored(client, project, "good/A")
    assert [m.name for m in masks] == ["liver", "spleen", "kidney"]


def test_create_features_adds_missing_categories_and_a_second_import_replaces_the_first(client: Client) -> None:
    project = _project(client, tools=("liver",))
    first = import_items(client.hub, project, ITEMS_FIXTURE, kind="ground_truth", create_features=True)
    again = import_items(client.hub, project, ITEMS_FIXTURE, kind="ground_truth", create_features=True)
    assert first.failed == again.failed == ()
    assert (again.created, again.reused, again.batch_id) == (0, 4, None)
    assert again.job is not None and first.job is not None and again.job.succeeded == first.job.succeeded
    masks, volume = _stored(client, project, "guide-II/CT")
    assert len(masks) == 4  # replaced by uuid, not added twice
    assert np.array_equal(volume, _sdk("upload_multiple_files_overlap.nii.gz"))


def test_export_then_reimport_is_voxel_identical(client: Client, tmp_path: Path) -> None:
    project = _project(client)
    import_items(client.hub, project, ITEMS_FIXTURE, kind="ground_truth", create_features=True)
    out = tmp_path / "export"
    report = exports.export(client.hub, project, "redbrick", out)
    assert report.items == 4 and report.losses == []
    tasks = json.loads((out / "tasks.json").read_text())
    assert [t["name"] for t in tasks] == ["guide-I", "guide-II", "guide-III", "objects"]
    second = tasks[1]["series"][0]
    # Overlaps make RedBrick's export binary (one file per instance, its groups included).
    assert second["binaryMask"] is True and second["segmentations"] == [
        f"segmentations/guide-II/CT/instance-{i}.nii.gz" for i in (1, 2, 3, 4)
    ]
    other = _project(client, name="q")
    again = import_items(client.hub, other, out / "tasks.json", kind="ground_truth", create_features=True)
    assert again.failed == () and again.reused == 4 and again.created == 0
    for key in ("guide-I/CT", "guide-II/CT", "guide-III/CT"):
        before, volume_before = _stored(client, project, key)
        after, volume_after = _stored(client, other, key)
        masks_before = {m.uuid: (m.name, m.values, np.isin(volume_before, m.values)) for m in before}
        masks_after = {m.uuid: (m.name, m.values, np.isin(volume_after, m.values)) for m in after}
        assert masks_before.keys() == masks_after.keys()
        for uuid, (name, _, voxels) in masks_before.items():
            assert masks_after[uuid][0] == name
            assert np.array_equal(masks_after[uuid][2], voxels), (key, name)
    # The standard (non-binary) export of a series without overlaps is the stored volume itself.
    shutil.rmtree(out)
    exports.export(client.hub, project, "redbrick", out, options={"binary": False})
    first = json.loads((out / "tasks.json").read_text())[0]["series"][0]
    written = np.asarray(nib.load(str(out / first["segmentations"])).dataobj)
    assert np.array_equal(written, _sdk("upload_single_file.nii.gz"))


def test_the_annotation_only_import_path_refuses_an_items_list(client: Client) -> None:
    from labelport.errors import ValidationError
    from labelport.service.imports import import_source

    project = _project(client)
    with pytest.raises(ValidationError) as raised:
        import_source(client.hub, project, "x", ITEMS_FIXTURE, "ground_truth", fmt="redbrick")
    assert str(raised.value) == (
        "format 'redbrick_tasks' brings its media (data rows to create); import it with service.items.import_items "
        "(`labelport import`)"
    )
