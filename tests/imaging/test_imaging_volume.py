"""DICOM series -> Volume: ITK grid, sorting, multi-frame, and the errors and warnings that name instances."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest

from labelport.errors import MediaError
from labelport.imaging import LPS_TO_RAS, load_series, read_series_header
from tests.fixtures import HFS_SERIES, REDBRICK

from .conftest import GEOMETRIES


@pytest.mark.parametrize("name", ["axial", "sagittal"])
def test_redbrick_series_match_the_itk_grid(name: str) -> None:
    volume = load_series(REDBRICK / "dicom" / name)
    itk = nib.load(REDBRICK / f"nifti/reference/{name}_image_itk_grid.nii.gz")
    assert volume.shape == itk.shape
    np.testing.assert_array_equal(volume.array, np.asanyarray(itk.dataobj))
    np.testing.assert_allclose(volume.affine_ras, itk.affine, atol=1e-4)
    np.testing.assert_allclose(volume.affine_lps, LPS_TO_RAS @ itk.affine, atol=1e-4)
    assert volume.warnings == ()


def test_axial_voxel_values_follow_the_documented_formula() -> None:
    # SOURCES.md: value = 1000 + k*256 + r*16 + c, k the spatial slice index along n.
    volume = load_series(REDBRICK / "dicom/axial")
    c, r, k = np.meshgrid(np.arange(12), np.arange(10), np.arange(6), indexing="ij")
    np.testing.assert_array_equal(volume.array, 1000 + k * 256 + r * 16 + c)
    assert volume.orientation_codes == "LPS"
    assert volume.spacing == pytest.approx((0.8, 0.9, 2.5))
    np.testing.assert_allclose(volume.affine_lps[:3, 3], (-5, -4, 10))


@pytest.mark.parametrize("name", ["axial", "sagittal"])
def test_slices_are_sorted_by_position_not_by_name_or_instance_number(name: str) -> None:
    experiment = json.loads((REDBRICK / "json/orientation_experiment.json").read_text())
    volume = load_series(REDBRICK / "dicom" / name)
    assert [Path(s.path).name for s in volume.slices] == experiment[name]["sitk"]["gdcm_file_order"]
    numbers = [s.instance_number for s in volume.slices]
    assert numbers == sorted(numbers, reverse=True)  # InstanceNumber runs against the spatial order


def test_generated_series_with_shuffled_names_and_reversed_numbers(make_series: Callable[..., Any]) -> None:
    series = make_series(orientation=(0, 1, 0, 0, 0, -1), seed=4)
    volume = load_series(series.directory)
    np.testing.assert_array_equal(volume.array, series.expected)
    np.testing.assert_allclose(volume.affine_lps, series.affine_lps, atol=1e-6)
    assert volume.modality == "MR" and volume.series_description == "generated"


def test_explicit_file_list_gives_the_same_volume(make_series: Callable[..., Any]) -> None:
    series = make_series(seed=1)
    from_dir = load_series(series.directory)
    from_list = load_series(reversed(series.files))
    np.testing.assert_array_equal(from_dir.array, from_list.array)
    np.testing.assert_array_equal(from_dir.affine_lps, from_list.affine_lps)


def test_enhanced_multiframe_equals_its_single_frame_series(make_series: Callable[..., Any]) -> None:
    kwargs: dict[str, Any] = {"orientation": (0, 0, -1, 1, 0, 0), "seed": 9, "slices": 6}
    single = make_series(**kwargs)
    enhanced = make_series(enhanced=True, **kwargs)
    a, b = load_series(single.directory), load_series(enhanced.directory)
    np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_allclose(a.affine_lps, b.affine_lps, atol=1e-6)
    assert [s.frame for s in b.slices] == [6, 5, 4, 3, 2, 1]  # frames were stored in reverse order


def test_the_35_slice_series_geometry() -> None:
    volume = load_series(HFS_SERIES)
    assert volume.shape == (256, 256, 35)
    assert volume.orientation_codes == "PIR"
    assert volume.spacing == pytest.approx((1.015625, 1.015625, 4.8), abs=1e-6)
    assert volume.array.dtype == np.uint16


def test_read_series_header_agrees_with_load_series() -> None:
    path = HFS_SERIES
    header = read_series_header(path)
    volume = load_series(path)
    np.testing.assert_array_equal(header.affine_lps, volume.affine_lps)
    attributes = header.as_dict()
    assert (attributes["columns"], attributes["rows"], attributes["slices"]) == volume.shape
    assert attributes["orientation"] == pytest.approx((0, 1, 0, 0, 0, -1))
    assert attributes["origin"] == tuple(volume.affine_lps[:3, 3])
    assert attributes["spacing"] == pytest.approx(volume.spacing)
    assert attributes["modality"] == "MR"
    assert attributes["instance_count"] == 35
    assert attributes["series_instance_uid"] == volume.series_instance_uid
    assert attributes["study_instance_uid"] == volume.study_instance_uid


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_generated_geometry_loads_as_written(name: str, tmp_path: Path) -> None:
    geometry = GEOMETRIES[name]
    series = geometry.write(tmp_path / name)
    volume = load_series(series.directory)
    np.testing.assert_array_equal(volume.array, series.expected)
    np.testing.assert_allclose(volume.affine_lps, series.affine_lps, atol=1e-6)
    if geometry.sheared:
        assert volume.warnings == (
            "slices are sheared by 17.00 degrees (gantry tilt?): the affine keeps the shear, dcm2niix would resample",
        )
    else:
        assert volume.warnings == ()
    header = read_series_header(series.directory)
    np.testing.assert_array_equal(header.affine_lps, volume.affine_lps)
    attributes = header.as_dict()
    assert (attributes["columns"], attributes["rows"], attributes["slices"]) == volume.shape


def test_mixed_series_is_an_error_naming_the_file(make_series: Callable[..., Any], tmp_path: Path) -> None:
    a = make_series(seed=1)
    b = make_series(seed=2)
    stray = a.directory / "zz_other.dcm"
    shutil.copy(b.files[0], stray)
    with pytest.raises(MediaError, match=r"mixed series") as info:
        load_series(a.directory)
    assert "zz_other.dcm" in str(info.value) or str(stray) in str(info.value)


def test_mixed_orientation_is_an_error(make_series: Callable[..., Any]) -> None:
    series = make_series(seed=3)
    ds = pydicom.dcmread(series.files[0])
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    ds.save_as(series.files[0])
    with pytest.raises(MediaError, match=r"ImageOrientationPatient .* differs .*mixed orientations"):
        load_series(series.directory)


@pytest.mark.parametrize("tag", ["ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"])
def test_missing_geometry_tag_is_an_error_naming_file_and_tag(make_series: Callable[..., Any], tag: str) -> None:
    series = make_series(seed=5)
    ds = pydicom.dcmread(series.files[2])
    delattr(ds, tag)
    ds.save_as(series.files[2])
    with pytest.raises(MediaError, match=f"missing {tag}") as info:
        read_series_header(series.directory)
    assert info.value.path == str(series.files[2])


def test_missing_slice_is_kept_with_a_warning(make_series: Callable[..., Any]) -> None:
    series = make_series(slices=6, skip_slices=[3], seed=6)
    volume = load_series(series.directory)
    assert volume.shape[2] == 5
    assert len(volume.warnings) == 1
    assert volume.warnings[0].startswith("1 slice(s) missing between ")
    np.testing.assert_array_equal(volume.array, series.expected)


def test_uneven_spacing_is_kept_with_a_warning(make_series: Callable[..., Any]) -> None:
    series = make_series(slices=5, seed=7, shuffle_names=False, reverse_instance_numbers=False)
    ds = pydicom.dcmread(series.files[4])
    ds.ImagePositionPatient = [float(v) for v in ds.ImagePositionPatient[:2]] + [float(ds.ImagePositionPatient[2]) + 1]
    ds.save_as(series.files[4])
    volume = load_series(series.directory)
    assert any(w.startswith("uneven slice spacing between") for w in volume.warnings), volume.warnings


def test_two_slices_at_one_position_is_an_error(make_series: Callable[..., Any]) -> None:
    series = make_series(seed=8)
    ds = pydicom.dcmread(series.files[0])
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(series.directory / "duplicate.dcm", enforce_file_format=True)
    with pytest.raises(MediaError, match="at the same position"):
        load_series(series.directory)


def test_non_dicom_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("not dicom")
    with pytest.raises(MediaError, match=r"notes\.txt: not a readable DICOM file"):
        read_series_header([note])


def test_non_dicom_file_in_a_directory_is_skipped_with_a_warning(make_series: Callable[..., Any]) -> None:
    series = make_series(seed=10)
    (series.directory / "notes.txt").write_text("not dicom")
    volume = load_series(series.directory)
    assert any("notes.txt" in w for w in volume.warnings)
    np.testing.assert_array_equal(volume.array, series.expected)


def test_directory_without_dicom_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(MediaError, match="no DICOM image found"):
        load_series(tmp_path)
    with pytest.raises(MediaError, match="no such file or directory"):
        load_series(tmp_path / "missing")
