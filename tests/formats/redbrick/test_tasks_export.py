"""Exporting a project as RedBrick writes it: tasks.json with RedBrick's keys, the segmentation folder in the
three modes (standard, binary per instance, semantic) equal to redbrick-sdk's own ``process_download``
outputs, on the DICOM grid with its physical affine; the other annotation kinds written back; masks drawn on a
reformatted plane landing on the predicted voxels; RedBrick segmentations exported as Labelbox DICOM masks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import nibabel as nib
import numpy as np
import pytest

from labelport.formats.base import Problem
from labelport.imaging import decode_png_binary
from labelport.model import (
    DataRowKey,
    FrameMask,
    FrameMasks,
    Label,
    LabeledItem,
    LabelKind,
    MaskInstance,
    RasterSource,
    decoded,
)
from labelport.model.ontology import ExternalIds, Ontology, Tool, ToolType
from labelport.sdk import Client
from labelport.service import exports, ontologies
from labelport.service.imports import import_annotations
from labelport.service.items import import_items

from ...fixtures import REDBRICK
from .helpers import ITEMS_FIXTURE, REFERENCE, SAGITTAL, items_only, read, write_items

DOWNLOADS = REDBRICK / "sdk_outputs" / "process_download"
FORMATTED = json.loads((REDBRICK / "json" / "tasks_json_from_sdk_formatter.json").read_text())
# The class ids redbrick-sdk's download run used for guide-II's instances 1..4 (tools/referee.py).
CLASS_IDS = {"liver": "0", "spleen": "1", "kidney": "0", "lesion": "2"}


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[Client]:
    with Client(home=tmp_path / "home", database_url=database_url) as c:
        yield c


def _imported(client: Client) -> str:
    """A DICOM project holding the fixture items list; kidney shares liver's RedBrick class id, as in the SDK run."""
    tools = tuple(
        Tool(ToolType.RASTER_SEGMENTATION, name, external_ids=ExternalIds(redbrick=class_id))
        for name, class_id in CLASS_IDS.items()
    )
    project = client.create_project("p", media_type="dicom")
    info = ontologies.create_ontology(client.hub, "o", Ontology("o", tools), "dicom")
    project.connect_ontology(info.id)
    result = import_items(client.hub, str(project.uid), ITEMS_FIXTURE, kind="ground_truth", create_features=True)
    assert result.failed == ()
    return str(project.uid)


def _array(path: Path) -> np.ndarray[Any, Any]:
    return np.asarray(nib.load(str(path)).dataobj)


def _series(folder: Path, task: str) -> dict[str, Any]:
    tasks = json.loads((folder / "tasks.json").read_text())
    return dict(next(t for t in tasks if t["name"] == task)["series"][0])


MODES = [
    ({"binary": False}, "dl_0_False", {"segmentations": "segmentations/guide-II/CT.nii.gz"}),
    ({}, "dl_0_None", {f"instance-{i}": f"segmentations/guide-II/CT/instance-{i}.nii.gz" for i in (1, 2, 3, 4)}),
    (
        {"binary": True},
        "dl_0_True",
        {f"instance-{i}": f"segmentations/guide-II/CT/instance-{i}.nii.gz" for i in (1, 2, 3, 4)},
    ),
    ({"semantic": True, "binary": False}, "dl_1_False", {"segmentations": "segmentations/guide-II/CT.nii.gz"}),
    (
        {"semantic": True},
        "dl_1_None",
        {f"category-{i}": f"segmentations/guide-II/CT/category-{i}.nii.gz" for i in (1, 2, 3)},
    ),
    (
        {"semantic": True, "binary": True},
        "dl_1_True",
        {f"category-{i}": f"segmentations/guide-II/CT/category-{i}.nii.gz" for i in (1, 2, 3)},
    ),
]


def test_the_three_modes_write_what_redbrick_sdk_writes(client: Client, tmp_path: Path) -> None:
    project = _imported(client)
    for options, sdk_folder, files in MODES:
        out = tmp_path / sdk_folder
        report = exports.export(client.hub, project, "redbrick", out, options=options)
        assert report.losses == [], report.losses
        series = _series(out, "guide-II")
        if "segmentations" in files:
            assert series["segmentations"] == files["segmentations"]
            ours = _array(out / files["segmentations"])
            theirs = _array(DOWNLOADS / sdk_folder / "SeriesA.nii.gz")
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype == np.uint8
        else:
            assert series["segmentations"] == list(files.values())
            for name, path in files.items():
                assert np.array_equal(_array(out / path), _array(DOWNLOADS / sdk_folder / "SeriesA" / f"{name}.nii.gz"))
        assert (series["binaryMask"], series["semanticMask"], series["pngMask"]) == (
            (options.get("binary", not options.get("semantic")) is not False and "instance-1" in files)
            or "category-1" in files,
            bool(options.get("semantic")),
            False,
        )


def test_the_standard_file_keeps_groups_in_overlapping_groups(client: Client, tmp_path: Path) -> None:
    project = _imported(client)
    exports.export(client.hub, project, "redbrick", tmp_path, options={"binary": False})
    segment_map = _series(tmp_path, "guide-II")["segmentMap"]
    assert {k: (v["category"], v.get("overlappingGroups")) for k, v in segment_map.items()} == {
        "1": ("liver", None),
        "2": ("spleen", [5]),
        "3": ("kidney", None),
        "4": ("lesion", [5]),
    }
    assert segment_map["3"]["attributes"] == {"malignant": True}
    assert all(v["mask"] == "segmentations/guide-II/CT.nii.gz" for v in segment_map.values())


def test_files_lie_on_the_dicom_grid_with_its_physical_affine(client: Client, tmp_path: Path) -> None:
    project = _imported(client)
    exports.export(client.hub, project, "redbrick", tmp_path, options={"binary": False})
    written = nib.load(str(tmp_path / "segmentations" / "guide-I" / "CT.nii.gz"))
    reference = nib.load(str(REFERENCE / "axial_image_itk_grid.nii.gz"))  # SimpleITK's reading of the series
    assert written.shape == reference.shape
    assert np.allclose(written.affine, reference.affine, atol=1e-5)
    headers = _series(tmp_path, "guide-I")["imageHeaders"]
    assert headers["dimensions"] == [12, 10, 6] and headers["spacing"] == [0.8, 0.9, 2.5]
    assert np.allclose(np.array(headers["affine"]), np.diag([-1, -1, 1, 1]) @ reference.affine, atol=1e-5)


def test_keys_are_the_ones_redbricks_formatter_writes(client: Client, tmp_path: Path) -> None:
    project = _imported(client)
    exports.export(client.hub, project, "redbrick", tmp_path)
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    for task in tasks:
        assert set(task) <= set(FORMATTED), set(task) - set(FORMATTED)
    reference = {k: v for s in FORMATTED["series"] for k, v in s.items()}
    ours = {k: v for t in tasks for s in t["series"] for k, v in s.items()}
    # not in the formatter sample; named as redbrick/types/task.py names them
    extra_kinds = {"cuboids", "classifications", "metaData"}
    assert set(ours) - set(reference) == extra_kinds
    for kind in ("landmarks3d", "boundingBoxes"):
        assert set(ours[kind][0]) <= set(reference[kind][0]), kind
    samples = [m for s in FORMATTED["series"] for m in s.get("measurements", ())]
    for kind in ("length", "angle"):
        mine = next(m for m in ours["measurements"] if m["type"] == kind)
        sample = next(m for m in samples if m["type"] == kind)
        assert set(mine) >= set(sample), kind  # the formatter sample of an angle lacks its absolute points
        assert set(mine) - set(sample) <= {"absolutePoint1", "absoluteVertex", "absolutePoint2"}


def test_other_annotations_read_back_as_they_were(client: Client, tmp_path: Path) -> None:
    project = _imported(client)
    exports.export(client.hub, project, "redbrick", tmp_path)
    before = {
        decoded(a).uuid: decoded(a)
        for a in items_only(read(ITEMS_FIXTURE))[3].labels[0].annotations  # type: ignore[union-attr]
        if getattr(decoded(a), "uuid", None)
    }
    [after_item] = [
        i for i in items_only(read(tmp_path / "tasks.json", tmp_path)) if i.data_row.global_key == "objects/SAG"
    ]
    after = {decoded(a).uuid: decoded(a) for a in after_item.labels[0].annotations if getattr(decoded(a), "uuid", None)}  # type: ignore[union-attr]
    assert after.keys() == before.keys()
    for uuid, annotation in before.items():
        assert _rounded(after[uuid]) == _rounded(annotation), uuid


def _rounded(annotation: Any) -> Any:
    """The annotation with its coordinates rounded to 1e-6 px (the export writes 9 significant decimals)."""
    import dataclasses

    from labelport.model import Point

    def fix(value: Any) -> Any:
        if isinstance(value, Point):
            return Point(round(value.x, 6), round(value.y, 6))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.replace(
                value, **{f.name: fix(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
            )
        if isinstance(value, tuple):
            return tuple(fix(v) for v in value)
        return value

    return fix(annotation)


def _png(mask: np.ndarray[Any, Any]) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_mask_drawn_on_an_axial_slice_of_the_sagittal_series_lands_where_the_geometry_says(
    client: Client, tmp_path: Path
) -> None:
    """The axial plane of the sagittal series is a reformat: its frame f holds the voxels at the f-th lowest
    patient z, its columns run to the patient's left and its rows to posterior. The voxels are predicted from the
    DICOM headers (positions of voxel centres), not from labelport's plane mapping."""
    items = write_items(tmp_path, [{"name": "sag", "series": [{"name": "S", "items": str(SAGITTAL)}]}])
    project = client.create_project("p", media_type="dicom")
    ontology = {"tools": [{"tool": "raster-segmentation", "name": "drawn"}], "classifications": []}
    project.connect_ontology(client.create_ontology("o", ontology, media_type="dicom"))
    assert import_items(client.hub, str(project.uid), items).failed == ()
    frame = 3
    # The axial plane of an 11 x 9 x 5 PIR grid: 11 rows (to posterior) of 5 columns (to the left), 9 frames.
    drawn = np.zeros((11, 5), dtype=bool)
    drawn[1:4, 2:5] = True
    drawn[10, 0] = True
    masks = FrameMasks(
        "00000000-0000-4000-8000-000000000011",
        (FrameMask(frame, RasterSource(png=_png(drawn))),),
        (MaskInstance((255, 255, 255), name="drawn"),),
        group="axial",
    )
    item = LabeledItem(DataRowKey(global_key="sag/S"), (Label(LabelKind.GROUND_TRUTH, (masks,)),))
    job = import_annotations(client.hub, str(project.uid), "mask", [item], "ground_truth")
    assert job.failed == 0
    out = tmp_path / "export"
    exports.export(client.hub, str(project.uid), "redbrick", out, options={"binary": False})
    written = nib.load(str(out / "segmentations" / "sag" / "S.nii.gz"))
    voxels = np.argwhere(np.asarray(written.dataobj) > 0)
    # Prediction from the headers: every voxel centre's LPS position, sorted along z (frame), L (x), P (y).
    import pydicom

    datasets = [pydicom.dcmread(p) for p in sorted(SAGITTAL.iterdir())]
    iop = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, dtype=float), normal)))
    row_spacing, column_spacing = (float(v) for v in datasets[0].PixelSpacing)
    centres = {
        (i, j, k): np.array(ds.ImagePositionPatient, dtype=float)
        + iop[:3] * column_spacing * i
        + iop[3:] * row_spacing * j
        for k, ds in enumerate(datasets)
        for j in range(int(ds.Rows))
        for i in range(int(ds.Columns))
    }
    zs = sorted({round(float(c[2]), 4) for c in centres.values()})
    ls = sorted({round(float(c[0]), 4) for c in centres.values()})
    ps = sorted({round(float(c[1]), 4) for c in centres.values()})
    predicted = {
        voxel
        for voxel, c in centres.items()
        if round(float(c[2]), 4) == zs[frame]
        and drawn[ps.index(round(float(c[1]), 4)), ls.index(round(float(c[0]), 4))]
    }
    assert {tuple(int(v) for v in voxel) for voxel in voxels} == predicted
    assert len(predicted) == int(drawn.sum())
    # and the file's affine puts those voxels at the same patient positions (RAS = diag(-1, -1, 1) LPS)
    for voxel in predicted:
        ras = written.affine @ np.array([*voxel, 1.0])
        assert np.allclose(np.diag([-1, -1, 1]) @ ras[:3], centres[voxel], atol=1e-4)


def test_redbrick_segmentations_export_as_labelbox_dicom_masks(client: Client, tmp_path: Path) -> None:
    project = _imported(client)
    target = tmp_path / "export.ndjson"
    exports.export(client.hub, project, "labelbox", target, options={"params": {"label_details": True}})
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    row = next(r for r in rows if r["data_row"]["global_key"] == "guide-I/CT")
    [label] = next(iter(row["projects"].values()))["labels"]
    frames = label["annotations"]["groups"]["Axial"]["frames"]
    labels = np.asarray(nib.load(str(REDBRICK / "nifti" / "inputs" / "axial_seg_labelmap.nii.gz")).dataobj)
    checked = 0
    for number, frame in frames.items():
        for obj in frame["objects"].values():
            url = obj["mask"]["url"]
            png = decode_png_binary(Path(unquote(urlparse(url).path)).read_bytes())
            value = {"liver": 1, "spleen": 2, "kidney": 3}[obj["name"]]
            # an axial frame of an LPS series is its slice, rows down the image, 1-based in Labelbox
            assert np.array_equal(png, value == labels[:, :, int(number) - 1].T)
            checked += 1
    assert checked == 5  # one PNG per object per slice: liver on slice 0, kidney on 2-3, spleen on 4-5


def test_problems_are_not_items(tmp_path: Path) -> None:
    assert all(not isinstance(f, Problem) for f in read(ITEMS_FIXTURE))
