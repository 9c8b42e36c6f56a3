"""DICOM SR: SCOORD on the acquisition plane, SCOORD3D on reconstructed planes at the patient coordinates the
headers predict; COCO against pycocotools."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pycocotools.coco import COCO

from labelport.formats import detect_format, get_format
from labelport.formats.base import Problem, ReadContext, WriteContext
from labelport.model import DataRowKey, Label, LabeledItem, LabelKind
from labelport.model.annotation import (
    ClassificationAnnotation,
    ClassificationAnswer,
    ObjectAnnotation,
    Placement,
    Radio,
    Text,
)
from labelport.model.geometry import Line, Mask, Point, Polygon, RasterSource, Rectangle
from labelport.model.media import DataRow, MediaAttributes, MediaType
from labelport.model.pixels import Pixels
from tests.imaging.conftest import write_series

from .conftest import AXIAL, blobs, dicom_row, volume_item

SR = get_format("dicom_sr")
COCO_FORMAT = get_format("coco")


def uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def sr_item(row: DataRow) -> LabeledItem:
    annotations = (
        ObjectAnnotation(
            uuid(1), Line(((1.5, 2.5), (4.5, 6.5), (8.25, 3.0))), name="line", placement=Placement(2, "sagittal")
        ),
        ObjectAnnotation(
            uuid(2),
            Polygon(((1, 1), (5, 1), (3, 4))),
            name="poly",
            placement=Placement(3, "axial"),
            classifications=(ClassificationAnnotation(Radio(ClassificationAnswer(name="yes")), name="sure"),),
        ),
        ObjectAnnotation(uuid(3), Rectangle(Point(1, 1), Point(3, 4)), name="box", placement=Placement(1, "coronal")),
        ObjectAnnotation(uuid(4), Point(2.5, 3.5), name="pt", placement=Placement(4, "axial")),
        ClassificationAnnotation(Radio(ClassificationAnswer(name="normal")), name="finding", uuid=uuid(5)),
    )
    return LabeledItem(DataRowKey(global_key=row.global_key), (Label(LabelKind.GROUND_TRUTH, annotations),), media=row)


def content_items(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    """Every SR content item of a document, depth first."""
    out = []
    for item in ds.get("ContentSequence", ()):
        out.append(item)
        out.extend(content_items(item))
    return out


def headers(folder: Path) -> list[pydicom.Dataset]:
    """The series' instances sorted by position along the slice normal, read with pydicom only."""
    datasets = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    iop = np.asarray(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    return sorted(datasets, key=lambda d: float(np.asarray(d.ImagePositionPatient, dtype=float) @ normal))


def test_sr_sagittal_polyline_is_scoord3d_where_the_headers_put_it(
    tmp_path: Path, dciodvfy: Callable[[Path], list[str]]
) -> None:
    row = dicom_row(AXIAL)
    out = tmp_path / "sr.dcm"
    report = SR.write([sr_item(row)], out)
    assert (report.items, report.annotations, report.losses, report.problems) == (1, 5, [], [])
    assert dciodvfy(out) == []
    series = headers(AXIAL)
    first = series[0]
    ipp = np.asarray(first.ImagePositionPatient, dtype=float)
    row_spacing, column_spacing = (float(v) for v in first.PixelSpacing)
    step = float(series[1].ImagePositionPatient[2]) - float(series[0].ImagePositionPatient[2])
    top = float(series[-1].ImagePositionPatient[2])
    # This series runs columns to +L, rows to +P, slices to +S (IOP 1,0,0,0,1,0). Sagittal frame f is column f;
    # its x runs along +P (rows), its y down from the top slice (continuous coordinates: centres at +0.5).
    expected = np.array(
        [
            [ipp[0] + 2 * column_spacing, ipp[1] + (x - 0.5) * row_spacing, top - (y - 0.5) * step]
            for x, y in ((1.5, 2.5), (4.5, 6.5), (8.25, 3.0))
        ]
    )
    ds = pydicom.dcmread(out)
    scoord3d = [item for item in content_items(ds) if item.ValueType == "SCOORD3D"]
    polyline = next(i for i in scoord3d if i.GraphicType == "POLYLINE")
    np.testing.assert_allclose(np.asarray(polyline.GraphicData, dtype=float).reshape(-1, 3), expected, atol=1e-4)
    assert polyline.ReferencedFrameOfReferenceUID == first.FrameOfReferenceUID
    # The axial polygon is SCOORD on the instance of slice 3, (column, row) = plane (x, y) for this series.
    scoord = [item for item in content_items(ds) if item.ValueType == "SCOORD"]
    polygon = next(i for i in scoord if i.GraphicType == "POLYLINE")
    np.testing.assert_allclose(
        np.asarray(polygon.GraphicData, dtype=float).reshape(-1, 2), [[1, 1], [5, 1], [3, 4], [1, 1]], atol=1e-6
    )
    assert polygon.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == series[3].SOPInstanceUID
    back = next(SR.read(out, ReadContext(options={"series": row})))
    assert isinstance(back, LabeledItem)
    original = {a.uuid: a for a in sr_item(row).labels[0].annotations}  # type: ignore[union-attr]
    for annotation in back.labels[0].annotations:
        assert annotation == original[annotation.uuid], annotation  # type: ignore[union-attr]


def test_sr_on_a_flipped_axial_series_maps_plane_points_to_image_pixels(tmp_path: Path) -> None:
    # Columns run to -L and rows to -P: the axial plane (radiological display) is the image flipped both ways.
    series = write_series(tmp_path / "flipped", orientation=(-1, 0, 0, 0, -1, 0), rows=7, columns=9, slices=4)
    row = dicom_row(series.directory)
    item = LabeledItem(
        DataRowKey(global_key="row-1"),
        (
            Label(
                LabelKind.GROUND_TRUTH,
                (ObjectAnnotation(uuid(9), Point(2.25, 1.5), name="pt", placement=Placement(1, "axial")),),
            ),
        ),
        media=row,
    )
    out = tmp_path / "sr.dcm"
    SR.write([item], out)
    ds = pydicom.dcmread(out)
    point = next(i for i in content_items(ds) if i.ValueType == "SCOORD")
    # Plane x counts from the image's right edge: column = width - x, row = height - y.
    np.testing.assert_allclose(np.asarray(point.GraphicData, dtype=float), [9 - 2.25, 7 - 1.5], atol=1e-6)
    back = next(SR.read(out, ReadContext(options={"series": row})))
    assert back.labels[0].annotations == item.labels[0].annotations  # type: ignore[union-attr]


def test_sr_reports_what_it_cannot_hold(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    volume = blobs((12, 10, 6), seed=1, count=1)
    text = ClassificationAnnotation(Text("free"), name="note", uuid=uuid(7))
    item = volume_item(row, volume, [("mask", (1,))], extra=[sr_item(row).labels[0].annotations[0], text])
    report = SR.write([item], tmp_path / "sr.dcm")
    assert sorted(loss.what for loss in report.losses) == ["VolumeMask", "text classification"]


@pytest.mark.referee
def test_dcmqi_reads_our_sr(tmp_path: Path, dcmqi: Path) -> None:
    row = dicom_row(AXIAL)
    out = tmp_path / "sr.dcm"
    SR.write([sr_item(row)], out)
    target = tmp_path / "sr.json"
    done = subprocess.run(
        [str(dcmqi / "tid1500reader"), "--inputDICOM", str(out), "--outputMetadata", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(target.read_text())
    groups = {m["TrackingUniqueIdentifier"]: m for m in document["Measurements"]}
    uids = {n: f"2.25.{int(uuid(n).replace('-', ''), 16)}" for n in range(1, 6)}
    assert sorted(groups) == sorted(uids.values())
    assert groups[uids[2]]["Finding"]["CodeMeaning"] == "poly"
    evaluations = {
        (q["conceptCode"]["CodeMeaning"], q["conceptValue"]["CodeMeaning"])
        for q in groups[uids[2]]["qualitativeEvaluations"]
    }
    assert ("sure", "yes") in evaluations


# --- COCO ---------------------------------------------------------------------------------------------


def image_item(mask: np.ndarray) -> LabeledItem:  # type: ignore[type-arg]
    row = DataRow(
        "img-1",
        "/data/images/cat.png",
        MediaType.IMAGE,
        global_key="cat",
        media_attributes=MediaAttributes(width=mask.shape[1], height=mask.shape[0]),
    )
    annotations = (
        ObjectAnnotation(uuid(1), Rectangle(Point(2, 3), Point(10, 8)), name="box"),
        ObjectAnnotation(uuid(2), Polygon(((1, 1), (12, 2), (6, 9))), name="poly"),
        ObjectAnnotation(uuid(3), Mask(RasterSource(pixels=Pixels.of(mask))), name="mask"),
        ObjectAnnotation(uuid(4), Point(4, 5), name="pt"),
        ClassificationAnnotation(Radio(ClassificationAnswer(name="day")), name="time", uuid=uuid(5)),
    )
    return LabeledItem(DataRowKey(global_key="cat"), (Label(LabelKind.GROUND_TRUTH, annotations),), media=row)


def test_coco_masks_polygons_and_boxes_read_by_pycocotools(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((20, 30)) < 0.3
    out = tmp_path / "coco.json"
    report = COCO_FORMAT.write([image_item(mask)], out)
    assert [str(loss) for loss in report.losses] == [
        "global key 'cat': classification dropped: COCO has no image-level classifications"
    ]
    coco = COCO(str(out))
    assert coco.imgs[1]["file_name"] == "cat.png" and (coco.imgs[1]["width"], coco.imgs[1]["height"]) == (30, 20)
    by_name = {coco.cats[a["category_id"]]["name"]: a for a in coco.anns.values()}
    np.testing.assert_array_equal(coco.annToMask(by_name["mask"]).astype(bool), mask)
    assert by_name["mask"]["area"] == int(mask.sum())
    assert by_name["box"]["bbox"] == [2, 3, 8, 5]
    assert by_name["poly"]["segmentation"] == [[1, 1, 12, 2, 6, 9]]
    assert by_name["pt"]["keypoints"] == [4, 5, 2]
    assert detect_format(out) is COCO_FORMAT
    back = next(COCO_FORMAT.read(out, ReadContext()))
    assert isinstance(back, LabeledItem)
    original = {a.uuid: a for a in image_item(mask).labels[0].annotations}  # type: ignore[union-attr]
    objects = back.labels[0].annotations
    assert len(objects) == 4
    for annotation in objects:
        expected = original[annotation.uuid]  # type: ignore[union-attr]
        if isinstance(annotation.geometry, Mask):  # type: ignore[union-attr]
            np.testing.assert_array_equal(annotation.geometry.source.pixels.array(), mask)  # type: ignore[union-attr]
        else:
            assert annotation.geometry == expected.geometry and annotation.name == expected.name  # type: ignore[union-attr]


def test_coco_annotation_of_a_missing_image_is_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "coco.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 4}],
                "categories": [{"id": 1, "name": "box"}],
                "annotations": [
                    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]},
                    {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 2, 2]},
                ],
            }
        )
    )
    found = list(COCO_FORMAT.read(path, ReadContext()))
    problems = [str(p) for p in found if isinstance(p, Problem)]
    assert problems == [f"{path}, annotations[1]: annotation 2 references image 7, which is not in images"]
    items = [i for i in found if isinstance(i, LabeledItem)]
    assert items[0].data_row.names == ("a.png",) and len(items[0].labels[0].annotations) == 1


def test_coco_volume_slices_round_trip(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    volume = blobs((12, 10, 6), seed=11, count=2)
    item = volume_item(row, volume, [("a", (1,)), ("b", (2,))])
    out = tmp_path / "coco.json"
    report = COCO_FORMAT.write([item], out, WriteContext(options={"slices": "axial"}))
    assert report.problems == []
    coco = COCO(str(out))
    names = [i["file_name"] for i in coco.imgs.values()]
    assert names == [f"row-1/axial/{k:04d}.png" for k in range(6) if volume[:, :, k].any()]
    for annotation in coco.anns.values():
        image = coco.imgs[annotation["image_id"]]
        value = 1 if coco.cats[annotation["category_id"]]["name"] == "a" else 2
        # Axial frame k of this series is slice k, image rows are j and columns i.
        expected = value == volume[:, :, image["frame"]].T
        np.testing.assert_array_equal(coco.annToMask(annotation).astype(bool), expected)
    back = next(COCO_FORMAT.read(out, ReadContext()))
    assert isinstance(back, LabeledItem)
    from labelport.formats.segments import item_segments
    from labelport.imaging.grids import grid_from_attributes

    segments = item_segments(back, grid_from_attributes(row.media_attributes), None).segments
    for segment, value in zip(segments, (1, 2), strict=True):
        np.testing.assert_array_equal(segment.mask(), volume == value)
    assert [s.uuid for s in segments] == [a.uuid for a in item.labels[0].annotations]  # type: ignore[union-attr]
