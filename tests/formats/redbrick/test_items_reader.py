"""Reading items lists: segmentMap forms and flag placements, merged volumes against redbrick-sdk's own outputs,
segmentations put on the series grid (reoriented, never by index), and the other annotation kinds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nibabel as nib
import nibabel.orientations as nio
import numpy as np
import pytest

from labelport.formats.base import Problem
from labelport.imaging.volume import read_series_header
from labelport.model import (
    Checklist,
    ClassificationAnnotation,
    LabeledItem,
    Line,
    ObjectAnnotation,
    Point,
    Radio,
    Rectangle,
    Text,
    TrackedObject,
    VolumeMask,
    decoded,
)
from labelport.model.annotation import FrameRange
from labelport.model.media import MediaType, PlaneGroup
from labelport.model.ontology import Classification, ClassificationType, ExternalIds, Ontology, Option, Tool, ToolType

from ...fixtures import REDBRICK
from .helpers import (
    AXIAL,
    AXIAL_FILES,
    INPUTS,
    ITEMS_FIXTURE,
    REFERENCE,
    SAGITTAL,
    items_only,
    read,
    write_items,
)

SDK_UPLOADS = REDBRICK / "sdk_outputs" / "process_upload"


def _masks(item: LabeledItem) -> list[VolumeMask]:
    return [a for a in (decoded(x) for x in item.labels[0].annotations) if isinstance(a, VolumeMask)]


def _volume(item: LabeledItem) -> np.ndarray[Any, Any]:
    masks = _masks(item)
    assert len({m.source.pixels.key for m in masks if m.source.pixels}) == 1  # one shared label volume
    return np.asarray(masks[0].source.pixels.array())  # type: ignore[union-attr]


def _sdk_output(name: str) -> np.ndarray[Any, Any]:
    return np.asarray(nib.load(str(SDK_UPLOADS / name)).dataobj)


def test_the_guide_examples_merge_as_redbrick_merges_them() -> None:
    first, second, third, _ = items_only(read(ITEMS_FIXTURE))
    # I: one file; II: two files whose instances 2 and 4 overlap (group 5); III: overlapping binary masks.
    assert [(m.name, m.values) for m in _masks(first)] == [("liver", (1,)), ("spleen", (2,)), ("kidney", (3,))]
    assert np.array_equal(_volume(first), _sdk_output("upload_single_file.nii.gz"))
    assert [(m.name, m.values) for m in _masks(second)] == [
        ("liver", (1,)),
        ("spleen", (2, 5)),
        ("kidney", (3,)),
        ("lesion", (4, 5)),
    ]
    assert np.array_equal(_volume(second), _sdk_output("upload_multiple_files_overlap.nii.gz"))
    assert [(m.name, m.values) for m in _masks(third)] == [("spleen", (1, 3)), ("lesion", (2, 3))]
    assert np.array_equal(_volume(third), _sdk_output("upload_binary_masks_overlap.nii.gz"))
    assert _volume(first).dtype == np.uint8
    # the DICOM files are kept in slice order, whatever their order in the list
    header = read_series_header(AXIAL)
    assert json.loads(first.media.row_data) == [s.path for s in header.slice_sources]  # type: ignore[union-attr]
    assert first.media.media_type is MediaType.DICOM  # type: ignore[union-attr]


def test_attributes_become_nested_classifications() -> None:
    second = items_only(read(ITEMS_FIXTURE))[1]
    kidney = _masks(second)[2]
    assert [(c.name, c.answer) for c in kidney.classifications] == [("malignant", Radio(_answer("true")))]


def _answer(name: str) -> Any:
    from labelport.model import ClassificationAnswer

    return ClassificationAnswer(name=name)


def _one_task(tmp_path: Path, **series: Any) -> list[LabeledItem | Problem]:
    task = {
        "name": "t",
        "series": [{"items": AXIAL_FILES, "segmentations": str(INPUTS / "axial_seg_labelmap.nii.gz"), **series}],
    }
    return read(write_items(tmp_path, [task]), tmp_path)


@pytest.mark.parametrize(
    ("value", "name", "schema_id"),
    [
        ("liver", "liver", None),
        (7, None, "7"),
        (["Organ", "Kidney"], "Organ/Kidney", None),
        ([["object", "Organ", "Kidney"]], "Organ/Kidney", None),
        ([["object", "liver"]], "liver", None),
        ({"category": "liver"}, "liver", None),
        ({"category": 7, "attributes": {"grade": "2"}}, None, "7"),
    ],
    ids=["name", "class id", "path", "v1 path", "v1 name", "object", "object with class id"],
)
def test_every_segment_map_value_form(tmp_path: Path, value: Any, name: str | None, schema_id: str | None) -> None:
    [item] = items_only(_one_task(tmp_path, segmentMap={"1": value, "2": "b", "3": "c"}))
    first = _masks(item)[0]
    assert (first.name, first.schema_id, first.values) == (name, schema_id, (1,))


def test_attribute_kinds_follow_the_ontology(tmp_path: Path) -> None:
    ontology = Ontology(
        "o",
        tools=(
            Tool(
                ToolType.RASTER_SEGMENTATION,
                "liver",
                classifications=(
                    Classification(ClassificationType.RADIO, "grade", (Option("1"), Option("2"))),
                    Classification(ClassificationType.CHECKLIST, "signs", (Option("a"), Option("b"))),
                ),
            ),
        ),
    )
    entry = {"category": "liver", "attributes": {"grade": "2", "signs": ["a", "b"], "note": "odd", "n": 3}}
    task = {
        "name": "t",
        "series": [
            {
                "items": AXIAL_FILES,
                "segmentations": str(INPUTS / "axial_seg_labelmap.nii.gz"),
                "segmentMap": {"1": entry, "2": "b", "3": "c"},
            }
        ],
    }
    [item] = items_only(read(write_items(tmp_path, [task]), tmp_path, ontology=ontology))
    answers = {c.name: c.answer for c in _masks(item)[0].classifications}
    assert answers == {
        "grade": Radio(_answer("2")),
        "signs": Checklist((_answer("a"), _answer("b"))),
        "note": Text("odd"),
        "n": Text("3"),
    }


def test_binary_mask_flag_on_the_series_or_inside_the_segment_map_reads_alike(tmp_path: Path) -> None:
    bin_a, bin_b = str(INPUTS / "axial_bin_a.nii.gz"), str(INPUTS / "axial_bin_b.nii.gz")
    segment_map = {"1": {"category": "a", "mask": bin_a}, "2": {"category": "b", "mask": bin_b}}
    on_series = [
        {
            "name": "t",
            "series": [
                {"items": AXIAL_FILES, "segmentations": [bin_a, bin_b], "binaryMask": True, "segmentMap": segment_map}
            ],
        }
    ]
    inside = [
        {
            "name": "t",
            "series": [
                {
                    "items": AXIAL_FILES,
                    "segmentations": [bin_a, bin_b],
                    "segmentMap": {**segment_map, "binaryMask": True},
                }
            ],
        }
    ]
    without_list = [{"name": "t", "series": [{"items": AXIAL_FILES, "binaryMask": True, "segmentMap": segment_map}]}]
    results = [
        items_only(read(write_items(tmp_path, tasks, f"{i}.json"), tmp_path))[0]
        for i, tasks in enumerate((on_series, inside, without_list))
    ]
    assert results[0].labels == results[1].labels == results[2].labels
    assert [m.values for m in _masks(results[0])] == [(1, 3), (2, 3)]


def test_segmentations_as_one_file_or_a_list_read_alike(tmp_path: Path) -> None:
    one = _one_task(tmp_path, segmentMap={"1": "a", "2": "b", "3": "c"})
    listed = _one_task(
        tmp_path, segmentations=[str(INPUTS / "axial_seg_labelmap.nii.gz")], segmentMap={"1": "a", "2": "b", "3": "c"}
    )
    assert items_only(one)[0].labels == items_only(listed)[0].labels


def test_legacy_flat_task_is_one_series(tmp_path: Path) -> None:
    task = {
        "name": "flat",
        "items": AXIAL_FILES,
        "segmentations": str(INPUTS / "axial_seg_labelmap.nii.gz"),
        "segmentMap": {"1": "a", "2": "b", "3": "c"},
    }
    [item] = items_only(read(write_items(tmp_path, [task]), tmp_path))
    assert item.data_row.global_key == "flat/A"
    assert [m.values for m in _masks(item)] == [(1,), (2,), (3,)]


def test_relative_paths_resolve_against_the_items_files_folder(tmp_path: Path) -> None:
    shutil.copytree(AXIAL, tmp_path / "study" / "ct")
    shutil.copy(INPUTS / "axial_seg_labelmap.nii.gz", tmp_path / "study" / "seg.nii.gz")
    task = {
        "name": "rel",
        "series": [{"items": "ct", "segmentations": "seg.nii.gz", "segmentMap": {"1": "a", "2": "b", "3": "c"}}],
    }
    source = write_items(tmp_path / "study", [task])
    [from_path] = items_only(read(source, tmp_path))
    header = read_series_header(tmp_path / "study" / "ct")
    assert json.loads(from_path.media.row_data) == [s.path for s in header.slice_sources]  # type: ignore[union-attr]
    # Bytes and streams have no folder: base_folder says where relative paths start.
    [from_bytes] = items_only(read(source.read_bytes(), tmp_path, base_folder=str(tmp_path / "study")))
    assert from_bytes.labels == from_path.labels


def _reoriented_pair() -> tuple[Any, Any, Any]:
    """The orientation transform from the sagittal ITK grid to dicom2nifti's LAS grid, checked on the image
    itself: dicom2nifti's file is the ITK-grid image under exactly this transform."""
    itk = nib.load(str(REFERENCE / "sagittal_image_itk_grid.nii.gz"))
    las = nib.load(str(REFERENCE / "sagittal_image_dicom2nifti_LAS.nii.gz"))
    transform = nio.ornt_transform(nio.io_orientation(itk.affine), nio.io_orientation(las.affine))
    assert np.array_equal(nio.apply_orientation(np.asarray(itk.dataobj), transform), np.asarray(las.dataobj))
    return itk, las, transform


def test_a_segmentation_in_another_axis_order_is_reoriented_onto_the_series_grid(tmp_path: Path) -> None:
    itk, las, transform = _reoriented_pair()
    image = np.asarray(itk.dataobj)
    labels_itk = ((image.astype(np.int64) - 1000) % 4).astype(np.uint8)  # values 0..3 all over the grid
    labels_las = nio.apply_orientation(labels_itk, transform).astype(np.uint8)
    nib.save(nib.Nifti1Image(labels_las, las.affine), str(tmp_path / "las.nii.gz"))
    task = {
        "name": "sag",
        "series": [
            {"items": str(SAGITTAL), "segmentations": "las.nii.gz", "segmentMap": {"1": "a", "2": "b", "3": "c"}}
        ],
    }
    [item] = items_only(read(write_items(tmp_path, [task]), tmp_path))
    assert labels_las.shape != labels_itk.shape
    assert np.array_equal(_volume(item), labels_itk)


def test_the_las_image_itself_lands_on_the_series_grid() -> None:
    """dicom2nifti's LAS NIfTI of the sagittal series, read as a segmentation file, gives the ITK grid's voxels
    (its values, 1000 + k*256 + r*16 + c, tell any flip or transpose)."""
    from labelport.formats.redbrick.volumes import SegmentationFile
    from tests.formats.redbrick.helpers import series_grid

    itk, _, _ = _reoriented_pair()
    file = SegmentationFile("las", REFERENCE / "sagittal_image_dicom2nifti_LAS.nii.gz", series_grid(SAGITTAL), "w")
    assert np.array_equal(file.load(), np.asarray(itk.dataobj))


def _objects() -> LabeledItem:
    return items_only(read(ITEMS_FIXTURE))[3]


def _lps_of_voxel(i: float, j: float, k: int) -> np.ndarray[Any, Any]:
    """Patient position of a voxel from the DICOM headers alone: the sorted slice's IPP plus column/row steps."""
    import pydicom

    datasets = [pydicom.dcmread(p) for p in sorted(SAGITTAL.iterdir())]
    iop = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, dtype=float), normal)))
    ds = datasets[k]
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    return np.array(ds.ImagePositionPatient, dtype=float) + iop[:3] * column_spacing * i + iop[3:] * row_spacing * j


def _at(annotation: ObjectAnnotation, x: float, y: float) -> np.ndarray[Any, Any]:
    from labelport.imaging import PlaneView
    from tests.formats.redbrick.helpers import series_grid

    assert annotation.placement.group is not None and annotation.placement.frame is not None
    view = PlaneView.of(series_grid(SAGITTAL), annotation.placement.group)
    return view.to_lps([(annotation.placement.frame, x, y)])[0]


def test_voxel_points_land_where_the_dicom_headers_put_them() -> None:
    item = _objects()
    annotations = [decoded(a) for a in item.labels[0].annotations]
    landmark = next(a for a in annotations if isinstance(a, ObjectAnnotation) and a.name == "node")
    assert isinstance(landmark.geometry, Point) and landmark.placement.group is PlaneGroup.SAGITTAL
    # i = column, j = row, k = sorted slice: the voxel centre is pixel (i + 0.5, j + 0.5) of that slice.
    assert np.allclose(_at(landmark, landmark.geometry.x, landmark.geometry.y), _lps_of_voxel(3, 4, 1))
    length = next(a for a in annotations if isinstance(a, ObjectAnnotation) and a.name == "diameter")
    assert isinstance(length.geometry, Line) and len(length.geometry.points) == 2
    for point, voxel in zip(length.geometry.points, ((1, 1, 2), (6, 5, 2)), strict=True):
        assert np.allclose(_at(length, point.x, point.y), _lps_of_voxel(*voxel))
    angle = next(a for a in annotations if isinstance(a, ObjectAnnotation) and a.name == "angle")
    assert isinstance(angle.geometry, Line) and len(angle.geometry.points) == 3


def test_boxes_cuboids_and_classifications() -> None:
    annotations = [decoded(a) for a in _objects().labels[0].annotations]
    box = next(a for a in annotations if isinstance(a, ObjectAnnotation) and a.name == "box")
    # xNorm 0.25 of 11 columns, yNorm 0.5 of 9 rows, on sorted slice 2 (sagittal frame 4 - 2 = 2)
    assert box.geometry == Rectangle(Point(2.75, 4.5), Point(8.25, 6.75))
    assert box.placement.frame == 2
    cuboid = next(a for a in annotations if isinstance(a, TrackedObject))
    assert [k.frame for k in cuboid.keyframes] == [1, 4]  # slices 3 and 0, the frame axis runs the other way
    assert cuboid.keyframes[0].geometry == Rectangle(Point(2.5, 1.5), Point(8.5, 6.5))
    classifications = [a for a in annotations if isinstance(a, ClassificationAnnotation)]
    assert [(c.name, c.answer, c.frames) for c in classifications] == [
        ("quality", Text("good"), ()),
        ("motion", Radio(_answer("false")), ()),
        ("slice ok", Radio(_answer("true")), (FrameRange(4, 4),)),
    ]
    ontology = _objects().ontology
    assert ontology is not None
    assert [(c.name, c.external_ids) for c in ontology.classifications] == [
        ("quality", ExternalIds(redbrick="study")),
        ("motion", ExternalIds(redbrick="series")),
        ("slice ok", ExternalIds(redbrick="series")),
    ]
    assert {t.name: t.type for t in ontology.tools} == {
        "node": ToolType.POINT,
        "diameter": ToolType.LINE,
        "angle": ToolType.LINE,
        "box 3d": ToolType.BBOX,
        "box": ToolType.BBOX,
    }


def test_task_fields_are_kept_on_the_data_row() -> None:
    media = _objects().media
    assert media is not None
    assert {m.name: m.value for m in media.metadata_fields} == {
        "redbrick.task": "objects",
        "redbrick.series": "SAG",
        "redbrick.series_index": 0,
        "redbrick.priority": 0.5,
        "redbrick.task.metaData.site": "A",
        "redbrick.series.metaData.plane": "sagittal",
    }


def test_absolute_points_must_agree_with_the_voxel_point(tmp_path: Path) -> None:
    far = {"point": {"i": 3, "j": 4, "k": 1}, "absolutePoint": {"x": 50, "y": 50, "z": 50}, "category": "node"}
    x, y, z = (float(v) for v in _lps_of_voxel(2, 3, 2))
    only = {"absolutePoint": {"x": x, "y": y, "z": z}, "category": "node"}
    tasks = [
        {"name": "far", "series": [{"items": str(SAGITTAL), "landmarks3d": [far]}]},
        {"name": "only", "series": [{"items": str(SAGITTAL), "landmarks3d": [only]}]},
    ]
    found = read(write_items(tmp_path, tasks), tmp_path)
    assert isinstance(found[0], Problem)
    assert found[0].message == (
        "task 'far', series 'A': series[0].landmarks3d[0].absolutePoint: (50, 50, 50) mm is not where voxel point "
        "(3, 4, 1) lies on this series: that is (1.5, -4.9, 15.6) mm, more than a voxel (1.99 mm) away"
    )
    [item] = [f for f in found if isinstance(f, LabeledItem)]
    [point] = [decoded(a) for a in item.labels[0].annotations]
    assert isinstance(point, ObjectAnnotation) and isinstance(point.geometry, Point)
    assert np.allclose(_at(point, point.geometry.x, point.geometry.y), [x, y, z])


def test_a_bad_series_fails_its_whole_task(tmp_path: Path) -> None:
    good = {
        "items": AXIAL_FILES,
        "segmentations": str(INPUTS / "axial_seg_labelmap.nii.gz"),
        "segmentMap": {"1": "a", "2": "b", "3": "c"},
    }
    bad = {"items": str(SAGITTAL), "segmentations": str(INPUTS / "axial_seg_labelmap.nii.gz"), "segmentMap": {"1": "a"}}
    found = read(
        write_items(tmp_path, [{"name": "t", "series": [good, bad]}, {"name": "u", "series": [good]}]), tmp_path
    )
    assert [type(f).__name__ for f in found] == ["Problem", "LabeledItem"]
    assert "task 't', series 'B': segmentation" in str(found[0])


def test_a_path_urlparse_cannot_read_fails_its_task(tmp_path: Path) -> None:
    """``//[x`` is a host to urlparse, a malformed one (ValueError): found by ``make fuzz``, it took the whole
    items list down; now its task fails with the path named and the next task reads."""
    good = {
        "items": AXIAL_FILES,
        "segmentations": str(INPUTS / "axial_seg_labelmap.nii.gz"),
        "segmentMap": {"1": "a", "2": "b", "3": "c"},
    }
    for bad in ({**good, "items": "//[x/ct"}, {**good, "segmentations": "//[x/seg.nii.gz"}):
        found = read(write_items(tmp_path, [{"name": "t", "series": [bad]}, {"name": "u", "series": [good]}]), tmp_path)
        assert [type(f).__name__ for f in found] == ["Problem", "LabeledItem"]
        assert "'//[x/" in str(found[0]) and "is not a valid path or URL (Invalid IPv6 URL)" in str(found[0])


def test_png_masks_read_as_redbricks_conversion_reads_them(tmp_path: Path) -> None:
    """A PNG mask (``pngMask`` with ``binaryMask``) on a 7 x 5 single-slice volume: the voxels RedBrick's
    ``convert_png_to_nii`` wrote for the same PNG (its top-right pixel at ijk (6, 0, 0))."""
    png = REDBRICK / "sdk_outputs" / "png" / "mask.png"
    converted = nib.load(str(REDBRICK / "sdk_outputs" / "png" / "mask.png.nii.gz"))
    nib.save(nib.Nifti1Image(np.zeros((7, 5, 1), dtype=np.int16), converted.affine), str(tmp_path / "image.nii.gz"))
    shutil.copy(png, tmp_path / "mask.png")
    task = {
        "name": "png",
        "series": [
            {
                "items": "image.nii.gz",
                "segmentations": ["mask.png"],
                "binaryMask": True,
                "pngMask": True,
                "segmentMap": {"1": {"category": "m", "mask": "mask.png"}},
            }
        ],
    }
    [item] = items_only(read(write_items(tmp_path, [task]), tmp_path))
    assert item.media is not None and item.media.media_type is MediaType.NIFTI
    assert np.array_equal(_volume(item), np.asarray(converted.dataobj))


def test_uncompressed_and_gzipped_files_merge_alike(tmp_path: Path) -> None:
    names = ["axial_seg_labelmap", "axial_seg_partB"]
    for name in names:
        image = nib.load(str(INPUTS / f"{name}.nii.gz"))
        nib.save(image, str(tmp_path / f"{name}.nii"))
    segment_map = {"1": "a", "2": "b", "3": "c", "4": "d"}
    tasks = [
        {
            "name": ext,
            "series": [
                {
                    "items": AXIAL_FILES,
                    "segmentMap": segment_map,
                    "segmentations": [str(d / f"{n}{ext}") for n in names],
                }
            ],
        }
        for ext, d in ((".nii", tmp_path), (".nii.gz", INPUTS))
    ]
    plain, gzipped = items_only(read(write_items(tmp_path, tasks), tmp_path))
    assert np.array_equal(_volume(plain), _volume(gzipped))
    assert np.array_equal(_volume(plain), _sdk_output("upload_multiple_files_overlap.nii.gz"))
