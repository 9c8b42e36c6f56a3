"""DICOM SEG: written on the source grid, checked by highdicom's reader, dciodvfy and dcmqi; other tools' SEGs
read back onto the referenced series."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import highdicom as hd
import nibabel as nib
import numpy as np
import numpy.typing as npt
import pydicom
import pytest

from labelport.errors import ValidationError
from labelport.formats import detect_format, get_format
from labelport.formats.base import Problem, ReadContext, WriteContext
from labelport.imaging import load_series
from labelport.imaging.grids import grid_from_attributes, volume_on_grid
from labelport.model import LabeledItem
from labelport.model.annotation import ObjectAnnotation, Placement
from labelport.model.geometry import Point
from labelport.model.media import DataRow
from tests.fixtures import HFS_SERIES, REDBRICK
from tests.imaging.conftest import GEOMETRIES

from .conftest import AXIAL, SAGITTAL, blobs, dicom_row, volume_item

SEG = get_format("dicom_seg")
FOREIGN = REDBRICK / "sdk_outputs" / "dicom_seg"


def read_one(source: Any, series: DataRow | None = None) -> LabeledItem:
    found = list(SEG.read(source, ReadContext(options={"series": series} if series else {})))
    assert len(found) == 1 and isinstance(found[0], LabeledItem), found
    return found[0]


def masks_of(item: LabeledItem, row: DataRow) -> dict[str, npt.NDArray[np.bool_]]:
    grid = grid_from_attributes(row.media_attributes)
    out = {}
    for annotation in item.labels[0].annotations:
        volume = volume_on_grid(annotation.source, grid, lambda uri: Path(uri))  # type: ignore[union-attr]
        out[annotation.name] = np.isin(volume, annotation.values)  # type: ignore[union-attr]
    return out


def highdicom_masks(path: Path, row: DataRow) -> dict[str, npt.NDArray[np.bool_]]:
    """Each segment's voxels as highdicom reads them, moved onto our grid through the two affines only."""
    seg = hd.seg.segread(path)
    grid = grid_from_attributes(row.media_attributes)
    out = {}
    for description in seg.SegmentSequence:
        number = int(description.SegmentNumber)
        if number == 0:  # a LABELMAP's background
            continue
        volume = seg.get_volume(segment_numbers=[number], combine_segments=True)
        array = np.asarray(volume.array)  # (slice, row, column) in highdicom's own order
        ours = np.zeros(grid.shape, dtype=bool)
        idx = np.argwhere(array > 0)
        lps = np.column_stack([idx, np.ones(len(idx))]) @ volume.affine.T
        voxels = np.round((lps @ np.linalg.inv(grid.affine_lps).T)[:, :3]).astype(int)
        ours[voxels[:, 0], voxels[:, 1], voxels[:, 2]] = True
        out[str(description.SegmentLabel)] = ours
    return out


def test_binary_seg_matches_highdicom_and_passes_dciodvfy(
    tmp_path: Path, dciodvfy: Callable[[Path], list[str]]
) -> None:
    row = dicom_row(AXIAL)
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=1)
    item = volume_item(row, volume, [("liver", (1,)), ("spleen", (2,)), ("lesion", (3,))], colors=[(255, 0, 0)])
    out = tmp_path / "seg.dcm"
    report = SEG.write([item], out)
    assert (report.items, report.annotations, report.losses, report.problems) == (1, 3, [], [])
    assert dciodvfy(out) == []
    ds = pydicom.dcmread(out)
    assert ds.SegmentationType == "BINARY"
    source_uids = {pydicom.dcmread(p).SOPInstanceUID for p in AXIAL.iterdir()}
    referenced = {i.ReferencedSOPInstanceUID for i in ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence}
    assert referenced == source_uids
    for frame in ds.PerFrameFunctionalGroupsSequence:
        derivation = frame.DerivationImageSequence[0].SourceImageSequence[0]
        assert derivation.ReferencedSOPInstanceUID in source_uids
    expected = {name: volume == value for name, value in (("liver", 1), ("spleen", 2), ("lesion", 3))}
    # Empty frames are left out: one frame per segment and slice that holds it.
    assert int(ds.NumberOfFrames) == sum(int(np.any(m, axis=(0, 1)).sum()) for m in expected.values())
    for name, mask in highdicom_masks(out, row).items():
        np.testing.assert_array_equal(mask, expected[name], err_msg=name)
    again = masks_of(read_one(out, row), row)
    for name, mask in expected.items():
        np.testing.assert_array_equal(again[name], mask)
    assert ds.SegmentSequence[0].RecommendedDisplayCIELabValue is not None


def test_overlapping_segments_stay_separate_in_binary_and_labelmap_refuses_them(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=2, count=2)
    volume[volume == 2] = 4  # value 4: where both objects are (RedBrick's overlapping group)
    volume[volume == 1] = 1
    item = volume_item(row, volume, [("a", (1, 4)), ("b", (4,))])
    out = tmp_path / "overlap.dcm"
    SEG.write([item], out)
    masks = highdicom_masks(out, row)
    np.testing.assert_array_equal(masks["a"], np.isin(volume, (1, 4)))
    np.testing.assert_array_equal(masks["b"], volume == 4)
    back = masks_of(read_one(out, row), row)
    np.testing.assert_array_equal(back["a"], np.isin(volume, (1, 4)))
    np.testing.assert_array_equal(back["b"], volume == 4)
    report = SEG.write([item], tmp_path / "labelmap.dcm", WriteContext(options={"segmentation_type": "LABELMAP"}))
    assert report.items == 0
    assert "segments 'a' and 'b' overlap, and a LABELMAP segmentation holds one segment per voxel" in str(
        report.problems[0]
    )


def test_labelmap_with_jpegls_reads_back_through_highdicom(tmp_path: Path) -> None:
    row = dicom_row(SAGITTAL)
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=3)
    item = volume_item(row, volume, [("x", (1,)), ("y", (2,)), ("z", (3,))])
    out = tmp_path / "labelmap.dcm"
    report = SEG.write([item], out, WriteContext(options={"segmentation_type": "LABELMAP", "compression": "jpegls"}))
    assert report.items == 1, report.problems
    ds = pydicom.dcmread(out)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.80"
    masks = highdicom_masks(out, row)
    for name, value in (("x", 1), ("y", 2), ("z", 3)):
        np.testing.assert_array_equal(masks[name], volume == value)
    with pytest.raises(ValidationError, match="a BINARY segmentation is bit-packed and not compressed"):
        SEG.write([item], tmp_path / "x.dcm", WriteContext(options={"compression": "rle"}))


@pytest.mark.parametrize("name", ["hfs", "oblique", "flipped", "non_square"])
def test_seg_on_real_and_generated_geometries_matches_highdicom(name: str, tmp_path: Path) -> None:
    folder = HFS_SERIES if name == "hfs" else GEOMETRIES[name].write(tmp_path / name).directory
    row = dicom_row(folder)
    image = load_series(folder).array
    # The label follows the image's own pixel values, so any misplaced frame shows.
    volume = (image % 3).astype(np.uint8)
    item = volume_item(row, volume, [("one", (1,)), ("two", (2,))])
    out = tmp_path / "seg.dcm"
    assert SEG.write([item], out).items == 1
    masks = highdicom_masks(out, row)
    np.testing.assert_array_equal(masks["one"], volume == 1)
    np.testing.assert_array_equal(masks["two"], volume == 2)


def test_reads_other_tools_segs_onto_the_series_grid() -> None:
    row = dicom_row(AXIAL)
    item = read_one(FOREIGN / "axial_seg_labelmap.SEG.dcm", row)
    assert [(a.name, a.values) for a in item.labels[0].annotations] == [  # type: ignore[union-attr]
        ("liver", (1,)),
        ("spleen", (2,)),
        ("kidney", (3,)),
    ]
    # The redbrick SDK's own round trip of the same SEG (pydicom-seg) is the expected label map.
    reference = np.asarray(nib.load(FOREIGN / "axial_seg_labelmap.SEG.roundtrip.nii.gz").dataobj)
    masks = masks_of(item, row)
    for name, value in (("liver", 1), ("spleen", 2), ("kidney", 3)):
        np.testing.assert_array_equal(masks[name], reference == value)


def test_reads_a_cropped_seg_without_empty_frames_where_its_positions_say(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    path = FOREIGN / "cropped_skipempty.SEG.dcm"
    ds = pydicom.dcmread(path)
    # Independent placement: each frame's IPP against the series' first slice, in whole voxels.
    series = sorted((pydicom.dcmread(p) for p in AXIAL.iterdir()), key=lambda d: float(d.ImagePositionPatient[2]))
    origin = np.asarray(series[0].ImagePositionPatient, dtype=float)
    row_spacing, column_spacing = (float(v) for v in series[0].PixelSpacing)
    step = float(series[1].ImagePositionPatient[2]) - float(series[0].ImagePositionPatient[2])
    expected = np.zeros(grid_from_attributes(row.media_attributes).shape, dtype=bool)
    frames = ds.pixel_array.reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
    for frame, item in zip(frames, ds.PerFrameFunctionalGroupsSequence, strict=True):
        ipp = np.asarray(item.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        i0 = round((ipp[0] - origin[0]) / column_spacing)
        j0 = round((ipp[1] - origin[1]) / row_spacing)
        k = round((ipp[2] - origin[2]) / step)
        expected[i0 : i0 + frame.shape[1], j0 : j0 + frame.shape[0], k] |= frame.T.astype(bool)
    assert expected.sum() == 18
    for series_given in (row, None):
        item = read_one(path, series_given)
        np.testing.assert_array_equal(masks_of(item, row)["liver"], expected)


def test_a_seg_of_another_series_is_refused_naming_both(tmp_path: Path) -> None:
    sagittal = dicom_row(SAGITTAL)
    found = list(SEG.read(FOREIGN / "axial_seg_labelmap.SEG.dcm", ReadContext(options={"series": sagittal})))
    assert len(found) == 1 and isinstance(found[0], Problem)
    message = str(found[0])
    referenced = pydicom.dcmread(FOREIGN / "axial_seg_labelmap.SEG.dcm").ReferencedSeriesSequence[0].SeriesInstanceUID
    assert f"the SEG references series {referenced}, but the series given is " in message
    assert sagittal.media_attributes.series_instance_uid in message


def test_detects_segs_only(tmp_path: Path) -> None:
    assert detect_format(FOREIGN / "axial_seg_labelmap.SEG.dcm") is SEG
    assert SEG.detect(AXIAL / "img_000.dcm").confidence == 0
    assert SEG.detect(b"{}").confidence == 0
    assert SEG.detect((FOREIGN / "axial_seg_labelmap.SEG.dcm").read_bytes()).confidence > 0.9


def test_round_trip_keeps_uuids_names_and_the_data_row(tmp_path: Path) -> None:
    row = dicom_row(AXIAL, "my-row")
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=4)
    item = volume_item(row, volume, [("liver", (1,)), ("spleen", (2,))])
    buffer = io.BytesIO()
    SEG.write([item], buffer)
    back = read_one(buffer.getvalue(), row)
    assert back.data_row == item.data_row
    assert [a.uuid for a in back.labels[0].annotations] == [a.uuid for a in item.labels[0].annotations]  # type: ignore[union-attr]


def test_what_seg_cannot_hold_is_reported(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=5, count=1)
    point = ObjectAnnotation(
        "00000000-0000-4000-8000-00000000aaaa", Point(1, 1), name="p", placement=Placement(0, "axial")
    )
    item = volume_item(row, volume, [("a", (1,))], extra=[point])
    report = SEG.write([item], tmp_path / "seg.dcm")
    assert [str(loss) for loss in report.losses] == [
        "global key 'row-1': Point dropped: a DICOM SEG holds voxel masks; write DICOM SR or RTSTRUCT for drawings"
    ]


@pytest.mark.referee
def test_dcmqi_reads_our_seg_to_the_same_voxels(tmp_path: Path, dcmqi: Path) -> None:
    row = dicom_row(HFS_SERIES)
    image = load_series(HFS_SERIES).array
    volume = np.where(image > np.percentile(image, 90), 1, 0).astype(np.uint8)
    volume[(image > np.percentile(image, 97))] = 2
    item = volume_item(row, volume, [("bright", (1,)), ("brightest", (2,))])
    out = tmp_path / "seg.dcm"
    assert SEG.write([item], out).items == 1
    target = tmp_path / "dcmqi"
    target.mkdir()
    done = subprocess.run(
        [
            str(dcmqi / "segimage2itkimage"),
            "--inputDICOM",
            str(out),
            "--outputDirectory",
            str(target),
            "--outputType",
            "nifti",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    meta = json.loads((target / "meta.json").read_text())
    labels = [s[0]["SegmentLabel"] for s in meta["segmentAttributes"]]
    grid = grid_from_attributes(row.media_attributes)
    for index, label in enumerate(labels, start=1):
        written = nib.load(target / f"{index}.nii.gz")
        data = np.asarray(written.dataobj)
        idx = np.argwhere(data > 0)
        lps = np.diag([-1, -1, 1]) @ (written.affine[:3, :3] @ idx.T + written.affine[:3, 3:4])
        voxels = np.round(np.linalg.solve(grid.affine_lps[:3, :3], lps - grid.affine_lps[:3, 3:4])).astype(int)
        ours = np.zeros(grid.shape, dtype=bool)
        ours[voxels[0], voxels[1], voxels[2]] = True
        expected = volume == (1 if label == "bright" else 2)
        np.testing.assert_array_equal(ours, expected, err_msg=label)
