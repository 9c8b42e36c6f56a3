"""Imaging work the service used to do itself: grids from stored attributes, label volumes in memory,
grey mask PNGs, recognising files by their bytes. Series are generated here (pydicom), nothing is read
from outside the repository."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from labelport.errors import ValidationError
from labelport.imaging import (
    LPS_TO_RAS,
    decode_label_volume,
    decode_png_binary,
    encode_label_volume,
    encode_png_grey,
    grid_from_attributes,
    is_dicom_file,
    is_nifti_file,
    load_series,
    nifti_attributes,
    plane_from_attributes,
    read_label_map,
    read_series_header,
    sniff_media,
    write_label_map,
)
from labelport.model.media import MediaAttributes, MediaType, PlaneGroup
from tests.imaging.conftest import GeneratedSeries, rotation


def _stored(series: GeneratedSeries) -> MediaAttributes:
    """The attributes a DICOM data row stores (as ``service.media.dicom_attributes`` fills them)."""
    header = read_series_header(series.files)
    return MediaAttributes(
        columns=header.columns,
        rows=header.rows,
        slices=header.slices,
        spacing=header.spacing,
        orientation=header.orientation,
        origin=header.origin,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_grid_of_stored_attributes_is_the_grid_the_series_loads_on(
    make_series: Callable[..., GeneratedSeries], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    r = rotation(rng, 25)
    series = make_series(orientation=(*r[:, 0], *r[:, 1]), pixel_spacing=(0.9, 0.7), step=2.5, seed=seed)
    grid = grid_from_attributes(_stored(series))
    volume = load_series(series.directory)
    assert grid.shape == volume.shape
    np.testing.assert_allclose(grid.affine_lps, volume.affine_lps, atol=1e-4)
    # The plane views cut from the attributes are the volume's own.
    view = plane_from_attributes(_stored(series), PlaneGroup.AXIAL)
    assert view.grid.shape == volume.shape
    np.testing.assert_allclose(view.grid.affine_lps, volume.affine_lps, atol=1e-4)


def test_a_row_without_volume_geometry_has_no_grid() -> None:
    with pytest.raises(ValidationError, match="no volume geometry"):
        grid_from_attributes(MediaAttributes(width=10, height=10))


@pytest.mark.parametrize("highest", [3, 300])
def test_a_label_volume_made_in_memory_decodes_as_the_file_written_before(
    make_series: Callable[..., GeneratedSeries], tmp_path: Path, highest: int
) -> None:
    series = make_series(orientation=(0, 1, 0, 0, 0, -1))  # sagittal: a grid that is not the identity
    grid = load_series(series.directory).grid
    labels = np.random.default_rng(4).integers(0, highest + 1, size=grid.shape)
    # Before: nibabel wrote a temporary .nii.gz and the bytes were read back.
    write_label_map(labels, grid, tmp_path / "labels.nii.gz")
    file_array, file_affine = read_label_map(tmp_path / "labels.nii.gz")

    data = encode_label_volume(labels, grid)
    assert data[:2] == b"\x1f\x8b" and data == encode_label_volume(labels, grid)  # gzip, the same bytes each time
    image: Any = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    array, affine = read_label_map(image)
    np.testing.assert_array_equal(array, file_array)
    np.testing.assert_array_equal(affine, file_affine)
    np.testing.assert_allclose(affine, LPS_TO_RAS @ grid.affine_lps, atol=1e-5)
    assert array.dtype == file_array.dtype == (np.uint8 if highest <= 255 else np.uint16)
    assert (int(image.header["sform_code"]), int(image.header["qform_code"])) == (1, 1)
    np.testing.assert_array_equal(decode_label_volume(data), labels)


def test_a_label_volume_off_its_grid_is_refused(make_series: Callable[..., GeneratedSeries]) -> None:
    grid = load_series(make_series().directory).grid
    with pytest.raises(ValidationError, match="differs from the grid shape"):
        encode_label_volume(np.zeros((2, 2, 2), np.uint8), grid)


@settings(max_examples=40, deadline=None)
@given(mask=hnp.arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_a_grey_mask_png_holds_0_and_255_and_decodes_back(mask: np.ndarray[Any, Any]) -> None:
    png = encode_png_grey(mask)
    image = Image.open(io.BytesIO(png))
    assert (image.mode, image.size) == ("L", (mask.shape[1], mask.shape[0]))
    pixels = np.asarray(image)
    assert set(np.unique(pixels)) <= {0, 255}
    np.testing.assert_array_equal(pixels == 255, mask)
    np.testing.assert_array_equal(decode_png_binary(png), mask)


def test_files_are_recognised_by_their_bytes_not_their_names(
    make_series: Callable[..., GeneratedSeries], tmp_path: Path
) -> None:
    series = make_series()
    dicom = tmp_path / "scan.png"
    dicom.write_bytes(series.files[0].read_bytes())
    nifti = tmp_path / "labels.dcm"
    grid = load_series(series.directory).grid
    write_label_map(np.ones(grid.shape, np.uint8), grid, tmp_path / "real.nii.gz")
    nifti.write_bytes((tmp_path / "real.nii.gz").read_bytes())
    plain = tmp_path / "plain.bin"
    plain.write_bytes(gzip.decompress(nifti.read_bytes()))
    image = tmp_path / "picture.nii.gz"
    Image.new("RGB", (5, 4)).save(image, format="PNG")
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(nifti.read_bytes()[:40])
    text = tmp_path / "notes.dcm"
    text.write_text("not an image" * 20)

    assert (is_dicom_file(dicom), is_nifti_file(dicom)) == (True, False)
    assert (is_dicom_file(nifti), is_nifti_file(nifti), is_nifti_file(plain)) == (False, True, True)
    assert [sniff_media(p) for p in (dicom, nifti, plain, image, broken, text)] == [
        MediaType.DICOM,
        MediaType.NIFTI,
        MediaType.NIFTI,
        MediaType.IMAGE,
        None,
        None,
    ]


def test_nifti_attributes_give_the_grid_back_in_lps(
    make_series: Callable[..., GeneratedSeries], tmp_path: Path
) -> None:
    grid = load_series(make_series(orientation=(1, 0, 0, 0, 0, -1)).directory).grid
    write_label_map(np.zeros(grid.shape, np.uint8), grid, tmp_path / "v.nii.gz")
    attributes = nifti_attributes(tmp_path / "v.nii.gz")
    assert (attributes.columns, attributes.rows, attributes.slices) == grid.shape
    np.testing.assert_allclose(attributes.origin, grid.affine_lps[:3, 3], atol=1e-4)
    np.testing.assert_allclose(attributes.spacing, grid.spacing, atol=1e-5)
