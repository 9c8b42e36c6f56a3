"""NIfTI label maps against dcm2niix, and RTSTRUCT contours against the DICOM headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest

from labelport.errors import MediaError
from labelport.formats import detect_format, get_format
from labelport.formats.base import Problem, ReadContext
from labelport.imaging import load_series
from labelport.imaging.grids import grid_from_attributes, volume_on_grid
from labelport.model import LabeledItem
from labelport.service.convert import FilePixels
from labelport.service.hub import Settings
from labelport.service.masks import FileResolver
from tests.fixtures import HFS_SERIES, REDBRICK
from tests.imaging.conftest import GEOMETRIES

from .conftest import AXIAL, blobs, dicom_row, volume_item

NIFTI = get_format("nifti")
RTSTRUCT = get_format("rtstruct")


def placed(item: LabeledItem, row: Any, tmp_path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """Each object's voxels on the row's grid, read as a conversion reads them."""
    pixels = FilePixels(FileResolver(Settings(), (tmp_path, REDBRICK)))
    out = {}
    for annotation in item.labels[0].annotations:
        volume = pixels.volume(annotation.source, row)  # type: ignore[union-attr]
        out[annotation.name] = np.isin(volume, annotation.values)  # type: ignore[union-attr]
    return out


@pytest.mark.referee
@pytest.mark.parametrize("name", ["hfs", "oblique", "flipped", "shuffled"])
def test_label_map_lines_up_with_dcm2niix(name: str, tmp_path: Path, dcm2niix: Callable[[Path], Any]) -> None:
    folder = HFS_SERIES if name == "hfs" else GEOMETRIES[name].write(tmp_path / name).directory
    row = dicom_row(folder)
    volume = (load_series(folder).array % 4).astype(np.uint8)  # labels from the image's own values
    item = volume_item(row, volume, [("a", (1,)), ("b", (2,)), ("c", (3,))])
    report = NIFTI.write([item], tmp_path / "out")
    assert (report.items, report.problems) == (1, [])
    ours = nib.as_closest_canonical(nib.load(tmp_path / "out" / "row-1.nii.gz"))
    referee = nib.as_closest_canonical(dcm2niix(folder))
    np.testing.assert_allclose(ours.affine, referee.affine, atol=1e-3)
    np.testing.assert_array_equal(np.asanyarray(ours.dataobj), np.asanyarray(referee.dataobj) % 4)
    sidecar = json.loads((tmp_path / "out" / "row-1.json").read_text())
    assert [(label["name"], label["value"]) for label in sidecar["labels"]] == [("a", 1), ("b", 2), ("c", 3)]


def test_label_map_reads_back_reoriented_and_refuses_another_grid(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=7)
    item = volume_item(row, volume, [("a", (1,)), ("b", (2,)), ("c", (3,))], colors=[(0, 128, 255)])
    NIFTI.write([item], tmp_path / "out")
    path = tmp_path / "out" / "row-1.nii.gz"
    back = next(NIFTI.read(tmp_path / "out", ReadContext()))
    assert isinstance(back, LabeledItem)
    assert [a.uuid for a in back.labels[0].annotations] == [a.uuid for a in item.labels[0].annotations]  # type: ignore[union-attr]
    assert back.labels[0].annotations[0].color == (0, 128, 255)  # type: ignore[union-attr]
    for name, value in (("a", 1), ("b", 2), ("c", 3)):
        np.testing.assert_array_equal(placed(back, row, tmp_path)[name], volume == value)
    # The same label map in RAS order (another axis order and flips) lands on the same voxels.
    canonical = nib.as_closest_canonical(nib.load(path))
    nib.save(canonical, path)
    again = next(NIFTI.read(tmp_path / "out", ReadContext()))
    np.testing.assert_array_equal(placed(again, row, tmp_path)["a"], volume == 1)  # type: ignore[arg-type]
    # Shifted by half a voxel: refused, both affines shown.
    image = nib.load(path)
    shifted = image.affine.copy()
    shifted[:3, 3] += 0.5 * shifted[:3, 0]
    nib.save(nib.Nifti1Image(np.asanyarray(image.dataobj), shifted), path)
    third = next(NIFTI.read(tmp_path / "out", ReadContext()))
    with pytest.raises(MediaError, match="does not fit the series grid: NIfTI shape") as caught:
        placed(third, row, tmp_path)  # type: ignore[arg-type]
    assert "series shape (12, 10, 6) with RAS affine" in str(caught.value)


def test_overlaps_and_binary_layout_and_bare_label_maps(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=8, count=2)
    volume[volume == 2] = 4
    item = volume_item(row, volume, [("a", (1, 4)), ("b", (4,))])
    NIFTI.write([item], tmp_path / "map")
    back = next(NIFTI.read(tmp_path / "map", ReadContext()))
    masks = placed(back, row, tmp_path)  # type: ignore[arg-type]
    np.testing.assert_array_equal(masks["a"], np.isin(volume, (1, 4)))
    np.testing.assert_array_equal(masks["b"], volume == 4)
    from labelport.formats.base import WriteContext

    NIFTI.write([item], tmp_path / "binary", WriteContext(options={"layout": "binary"}))
    files = sorted(p.name for p in (tmp_path / "binary").iterdir())
    assert files == ["row-1.json", "row-1_1_a.nii.gz", "row-1_2_b.nii.gz"]
    binary = next(NIFTI.read(tmp_path / "binary", ReadContext()))
    np.testing.assert_array_equal(placed(binary, row, tmp_path)["a"], np.isin(volume, (1, 4)))  # type: ignore[arg-type]
    bare = REDBRICK / "nifti" / "inputs" / "axial_seg_labelmap.nii.gz"
    assert detect_format(bare) is NIFTI
    item = next(NIFTI.read(bare, ReadContext()))
    assert isinstance(item, LabeledItem) and item.data_row.names == ("axial_seg_labelmap",)
    assert [a.name for a in item.labels[0].annotations] == ["label 1", "label 2", "label 3"]  # type: ignore[union-attr]


# --- RTSTRUCT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["axial", "non_square", "oblique", "flipped", "hfs"])
def test_rtstruct_round_trip_is_exact_on_any_orientation(name: str, tmp_path: Path) -> None:
    if name == "axial":
        folder = AXIAL
    elif name == "hfs":
        folder = HFS_SERIES
    else:
        folder = GEOMETRIES[name].write(tmp_path / name).directory
    row = dicom_row(folder)
    volume = blobs(grid_from_attributes(row.media_attributes).shape, seed=9)
    item = volume_item(row, volume, [("a", (1,)), ("b", (2,)), ("c", (3,))])
    out = tmp_path / "rt.dcm"
    assert RTSTRUCT.write([item], out).items == 1
    back = next(RTSTRUCT.read(out, ReadContext(options={"series": row})))
    assert isinstance(back, LabeledItem), back
    grid = grid_from_attributes(row.media_attributes)
    for annotation, value in zip(back.labels[0].annotations, (1, 2, 3), strict=True):
        mask = np.isin(volume_on_grid(annotation.source, grid, Path), annotation.values)  # type: ignore[union-attr]
        assert int((mask != (volume == value)).sum()) == 0, annotation.name  # type: ignore[union-attr]


def test_rtstruct_contour_points_are_the_pixel_centres_the_headers_give(
    tmp_path: Path, dciodvfy: Callable[[Path], list[str]]
) -> None:
    folder = GEOMETRIES["non_square"].write(tmp_path / "ns").directory
    row = dicom_row(folder)
    shape = grid_from_attributes(row.media_attributes).shape
    volume = np.zeros(shape, dtype=np.uint8)
    volume[3:7, 2:5, 2] = 1  # columns 3..6, rows 2..4 of slice 2
    out = tmp_path / "rt.dcm"
    RTSTRUCT.write([volume_item(row, volume, [("box", (1,))])], out)
    assert dciodvfy(out) == []
    ds = pydicom.dcmread(out)
    contour = ds.ROIContourSequence[0].ContourSequence[0]
    instance = contour.ContourImageSequence[0].ReferencedSOPInstanceUID
    source = next(pydicom.dcmread(p) for p in folder.iterdir() if pydicom.dcmread(p).SOPInstanceUID == instance)
    ipp = np.asarray(source.ImagePositionPatient, dtype=float)
    iop = np.asarray(source.ImageOrientationPatient, dtype=float)
    row_spacing, column_spacing = (float(v) for v in source.PixelSpacing)
    # P(c, r) = IPP + c * dc * X + r * dr * Y (PS3.3 C.7.6.2.1.1), for the four corner pixel centres.
    corners = {
        tuple(np.round(ipp + c * column_spacing * iop[:3] + r * row_spacing * iop[3:], 4))
        for c, r in ((3, 2), (6, 2), (6, 4), (3, 4))
    }
    points = {tuple(np.round(p, 4)) for p in np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)}
    assert points == corners
    # The slice the contour references is the one whose position is the third along the slice normal.
    normal = np.cross(iop[:3], iop[3:])
    depths = sorted(
        float(np.asarray(pydicom.dcmread(p).ImagePositionPatient, dtype=float) @ normal) for p in folder.iterdir()
    )
    assert float(ipp @ normal) == pytest.approx(depths[2])


def test_rtstruct_of_rt_utils_reads_where_its_contours_are(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    path = REDBRICK / "sdk_outputs" / "rtstruct" / "axial_nonsquare.RTSTRUCT.dcm"
    item = next(RTSTRUCT.read(path, ReadContext(options={"series": row})))
    assert isinstance(item, LabeledItem), item
    masks = placed(item, row, tmp_path)
    ds = pydicom.dcmread(path)
    series = sorted((pydicom.dcmread(p) for p in AXIAL.iterdir()), key=lambda d: float(d.ImagePositionPatient[2]))
    origin = np.asarray(series[0].ImagePositionPatient, dtype=float)
    row_spacing, column_spacing = (float(v) for v in series[0].PixelSpacing)
    for roi, name in zip(ds.ROIContourSequence, ("Segment_1", "Segment_2"), strict=True):
        mask = masks[name]
        for contour in roi.ContourSequence:
            lps = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
            k = round((lps[0, 2] - origin[2]) / 2.5)
            columns = np.round((lps[:, 0] - origin[0]) / column_spacing).astype(int)
            rows = np.round((lps[:, 1] - origin[1]) / row_spacing).astype(int)
            # rt-utils' contours pass through pixel centres: those pixels are inside the ROI.
            assert mask[columns, rows, k].all(), name


def test_rtstruct_contour_off_every_slice_is_refused(tmp_path: Path) -> None:
    row = dicom_row(AXIAL)
    volume = np.zeros(grid_from_attributes(row.media_attributes).shape, dtype=np.uint8)
    volume[2:5, 2:5, 1] = 1
    out = tmp_path / "rt.dcm"
    RTSTRUCT.write([volume_item(row, volume, [("a", (1,))])], out)
    ds = pydicom.dcmread(out)
    contour = ds.ROIContourSequence[0].ContourSequence[0]
    data = [float(v) for v in contour.ContourData]
    data[2::3] = [z + 1.1 for z in data[2::3]]  # 1.1 mm off a slice 2.5 mm apart
    contour.ContourData = [f"{v:.4f}" for v in data]
    ds.save_as(out)
    found = list(RTSTRUCT.read(out, ReadContext(options={"series": row})))
    assert len(found) == 1 and isinstance(found[0], Problem)
    assert "ROI 'a' contour 1 lies off every slice plane of the series (slice index 1.440" in str(found[0])
    missing = list(RTSTRUCT.read(out, ReadContext()))
    assert "give that series (`labelport convert ... --series DIR`)" in str(missing[0])
