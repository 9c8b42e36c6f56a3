"""NIfTI images and label maps, and putting a NIfTI onto a Volume's grid (never resampling)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from labelport.errors import MediaError, ValidationError
from labelport.imaging import (
    Grid,
    Placement,
    Volume,
    label_map_dtype,
    load_series,
    place_on_grid,
    read_label_map,
    read_nifti,
    to_nifti_image,
    write_label_map,
    write_nifti,
)
from tests.fixtures import REDBRICK


@pytest.fixture(scope="module")
def axial() -> Volume:
    return load_series(REDBRICK / "dicom/axial")


@pytest.fixture(scope="module")
def sagittal() -> Volume:
    return load_series(REDBRICK / "dicom/sagittal")


def test_image_round_trip_keeps_voxels_affine_and_rescale(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    affine = np.array([[0, 0, 2.0, -3], [0.5, 0, 0, 7], [0, -1.5, 0, 20], [0, 0, 0, 1]])
    volume = Volume(array, affine, rescale_slope=2.0, rescale_intercept=-1024.0)
    write_nifti(volume, tmp_path / "v.nii.gz")
    back = read_nifti(tmp_path / "v.nii.gz")
    np.testing.assert_array_equal(back.array, array)
    np.testing.assert_allclose(back.affine_lps, affine, atol=1e-6)
    assert (back.rescale_slope, back.rescale_intercept) == (2.0, -1024.0)
    loaded = nib.load(tmp_path / "v.nii.gz")
    assert int(loaded.header["sform_code"]) == 1 and int(loaded.header["qform_code"]) == 1
    assert loaded.get_data_dtype() == np.int16
    np.testing.assert_array_equal(loaded.get_fdata(), array * 2.0 - 1024)
    # The in-memory image reads the same real-world values (stored integers + DICOM rescale).
    image = to_nifti_image(volume)
    assert image.get_data_dtype() == np.int16
    np.testing.assert_array_equal(image.get_fdata(), array * 2.0 - 1024)


def test_ras_is_lps_with_x_and_y_negated(axial: Volume) -> None:
    image = to_nifti_image(axial)
    np.testing.assert_allclose(image.affine, np.diag([-1.0, -1, 1, 1]) @ axial.affine_lps, atol=1e-6)
    assert "".join(nib.aff2axcodes(image.affine)) == "LPS"


def test_label_map_dtype_is_uint8_then_uint16() -> None:
    assert label_map_dtype(np.array([0, 255])) is np.uint8
    assert label_map_dtype(np.array([0, 256])) is np.uint16
    with pytest.raises(ValidationError, match="found -1"):
        label_map_dtype(np.array([-1, 2]))
    with pytest.raises(ValidationError, match="found 70000"):
        label_map_dtype(np.array([70000]))


@pytest.mark.parametrize(("top", "dtype"), [(3, np.uint8), (300, np.uint16)])
def test_label_map_write_and_read(axial: Volume, tmp_path: Path, top: int, dtype: type) -> None:
    labels = np.zeros(axial.shape, dtype=np.int64)
    labels[1:3, 2:4, 1] = top
    write_label_map(labels, axial, tmp_path / "seg.nii.gz")
    image = nib.load(tmp_path / "seg.nii.gz")
    assert image.get_data_dtype() == dtype
    data, affine = read_label_map(tmp_path / "seg.nii.gz")
    np.testing.assert_array_equal(data, labels)
    np.testing.assert_allclose(affine, axial.affine_ras, atol=1e-5)
    placed = place_on_grid(tmp_path / "seg.nii.gz", axial)
    assert placed.placement is Placement.EXACT and placed.warnings == ()


def test_label_map_with_wrong_shape_is_rejected(axial: Volume, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"label map shape \(2, 2, 2\) differs from the grid shape \(12, 10, 6\)"):
        write_label_map(np.zeros((2, 2, 2), np.uint8), axial, tmp_path / "x.nii.gz")


def test_float_label_map_must_hold_whole_numbers(tmp_path: Path) -> None:
    path = tmp_path / "f.nii.gz"
    nib.save(nib.Nifti1Image(np.full((2, 2, 2), 1.5, np.float32), np.eye(4)), path)
    with pytest.raises(MediaError, match=r"whole numbers, found 1\.5"):
        read_label_map(path)
    with pytest.raises(MediaError, match=r"float\.nii\.gz: label maps hold whole numbers, found 0\.49"):
        read_label_map(REDBRICK / "nifti/inputs/float.nii.gz")  # RedBrick rounds; we refuse to guess
    path = tmp_path / "whole.nii.gz"
    nib.save(nib.Nifti1Image(np.full((2, 2, 2), 2.0, np.float32), np.eye(4)), path)
    data, _ = read_label_map(path)
    assert data.dtype == np.uint8 and np.all(data == 2)


def test_redbrick_label_map_is_on_the_axial_grid(axial: Volume) -> None:
    placed = place_on_grid(REDBRICK / "nifti/inputs/axial_seg_labelmap.nii.gz", axial)
    assert placed.placement is Placement.EXACT
    # SOURCES.md: value 1 at c0-2, r0-1, k0; value 2 at c8-11, r7-9, k4-5.
    assert np.all(placed.array[0:3, 0:2, 0] == 1)
    assert np.all(placed.array[8:12, 7:10, 4:6] == 2)


@pytest.mark.parametrize("name", ["axial", "sagittal"])
def test_dicom2nifti_las_output_is_reoriented_onto_the_grid(name: str, axial: Volume, sagittal: Volume) -> None:
    volume = axial if name == "axial" else sagittal
    placed = place_on_grid(REDBRICK / f"nifti/reference/{name}_image_dicom2nifti_LAS.nii.gz", volume)
    assert placed.placement is Placement.REORIENTED
    assert "orientation LAS differs from the series grid" in placed.warnings[0]
    np.testing.assert_array_equal(placed.array, volume.array)


def test_closest_canonical_ras_is_reoriented_back(sagittal: Volume) -> None:
    canonical = nib.as_closest_canonical(to_nifti_image(sagittal))
    placed = place_on_grid(canonical, sagittal)
    assert placed.placement is Placement.REORIENTED
    np.testing.assert_array_equal(placed.array, sagittal.array)


def test_dummy_affine_with_matching_shape_is_accepted_by_index(axial: Volume) -> None:
    data = np.random.default_rng(0).integers(0, 3, axial.shape).astype(np.uint8)
    for dummy in (np.eye(4), np.diag([-1.0, -1, 1, 1])):
        placed = place_on_grid(nib.Nifti1Image(data, dummy), axial)
        assert placed.placement is Placement.BY_INDEX
        assert "dummy affine" in placed.warnings[0]
        np.testing.assert_array_equal(placed.array, data)


def test_mismatch_names_both_shapes_and_affines(axial: Volume) -> None:
    with pytest.raises(MediaError) as info:
        place_on_grid(REDBRICK / "nifti/inputs/mismatch_big.nii.gz", axial)
    message = str(info.value)
    assert "mismatch_big.nii.gz: does not fit the series grid: NIfTI shape (14, 10, 6)" in message
    assert "series shape (12, 10, 6)" in message
    assert "-0.8000" in message and "2.5000" in message  # the series affine is printed


def test_rotated_affine_with_the_right_shape_is_rejected(axial: Volume) -> None:
    affine = axial.affine_ras.copy()
    angle = np.radians(10)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine[:3, :3] = rot @ affine[:3, :3]
    with pytest.raises(MediaError, match="does not fit the series grid"):
        place_on_grid(nib.Nifti1Image(np.zeros(axial.shape, np.uint8), affine), axial)


def test_shifted_grid_is_rejected_not_reoriented(axial: Volume) -> None:
    affine = axial.affine_ras.copy()
    affine[:3, 3] += (0, 0, 2.5)  # one slice off
    with pytest.raises(MediaError, match="does not fit"):
        place_on_grid(nib.Nifti1Image(np.zeros(axial.shape, np.uint8), affine), Grid(axial.shape, axial.affine_lps))


@pytest.mark.parametrize(("name", "shape"), [("flat2d", "(4, 4)"), ("vol4d", None)])
def test_non_volumes_are_rejected(axial: Volume, name: str, shape: str | None) -> None:
    with pytest.raises(MediaError) as info:
        place_on_grid(REDBRICK / f"nifti/inputs/{name}.nii.gz", axial)
    if shape:
        assert f"expected a 3-D volume, found shape {shape}" in str(info.value)
    else:  # (4, 4, 2, 1) is one volume; its shape just does not match
        assert "NIfTI shape (4, 4, 2)" in str(info.value)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"nope")
    with pytest.raises(MediaError, match=r"bad\.nii\.gz: not a readable NIfTI file"):
        read_nifti(bad)
