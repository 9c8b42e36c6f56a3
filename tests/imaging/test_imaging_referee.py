"""dcm2niix is the referee: our NIfTI and its NIfTI, both as closest canonical, agree voxel for voxel."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from labelport.imaging import load_series, to_nifti_image, write_nifti
from tests.fixtures import HFS_SERIES, REDBRICK

from .conftest import GEOMETRIES, assert_same_as_referee, rotation, slice_index_in

# The real scanner series and the RedBrick corpus' synthetic axial and sagittal series.
SERIES = {
    "HFS_t1_fl2d_sag": HFS_SERIES,
    "redbrick_axial": REDBRICK / "dicom/axial",
    "redbrick_sagittal": REDBRICK / "dicom/sagittal",
}


@pytest.mark.referee
@pytest.mark.parametrize("name", list(SERIES))
def test_fixture_series_match_dcm2niix(name: str, dcm2niix: Callable[[Path], Any], tmp_path: Path) -> None:
    ours = tmp_path / "ours.nii.gz"
    write_nifti(load_series(SERIES[name]), ours)
    assert_same_as_referee(nib.load(ours), dcm2niix(SERIES[name]))


@pytest.mark.referee
@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_generated_geometry_matches_dcm2niix(name: str, dcm2niix: Callable[[Path], Any], tmp_path: Path) -> None:
    geometry = GEOMETRIES[name]
    series = geometry.write(tmp_path / name)
    volume = load_series(series.directory)
    np.testing.assert_array_equal(volume.array, series.expected)
    ours = to_nifti_image(volume)
    whole = dcm2niix(series.directory)
    if geometry.sheared:
        # dcm2niix gives an MR series one unsheared affine (no GantryDetectorTilt, so no resampling):
        # the voxels agree, the placement is checked slice by slice below.
        a, b = nib.as_closest_canonical(ours), nib.as_closest_canonical(whole)
        np.testing.assert_array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj))
    else:
        assert_same_as_referee(ours, whole)
    # Each file alone: dcm2niix places its voxels from that file's own position, which no slice order,
    # shear or flip of ours can fake.
    found = []
    for path in series.files:
        alone = tmp_path / "alone" / path.stem
        alone.mkdir(parents=True)
        shutil.copy(path, alone)
        found.append(slice_index_in(ours, dcm2niix(alone)))
    assert sorted(found) == list(range(volume.shape[2]))


@pytest.mark.referee
@pytest.mark.parametrize("seed", range(6))
def test_generated_series_match_dcm2niix(
    seed: int, make_series: Callable[..., Any], dcm2niix: Callable[[Path], Any]
) -> None:
    rng = np.random.default_rng(seed)
    # A random signed axis permutation (any acquisition plane, any in-plane flip) tilted obliquely.
    permutation = np.eye(3)[rng.permutation(3)] * rng.choice([-1.0, 1.0], size=3)
    directions = rotation(rng, 25 if seed % 2 else 0) @ permutation
    series = make_series(
        orientation=(*directions[:, 0], *directions[:, 1]),
        rows=int(rng.integers(4, 12)),
        columns=int(rng.integers(4, 12)),
        slices=int(rng.integers(3, 8)),
        pixel_spacing=(float(rng.uniform(0.5, 2)), float(rng.uniform(0.5, 2))),
        step=float(rng.uniform(1, 4)),
        seed=seed,
    )
    volume = load_series(series.directory)
    np.testing.assert_array_equal(volume.array, series.expected)
    assert_same_as_referee(to_nifti_image(volume), dcm2niix(series.directory))


@pytest.mark.referee
def test_enhanced_multiframe_matches_dcm2niix(make_series: Callable[..., Any], dcm2niix: Callable[[Path], Any]) -> None:
    series = make_series(orientation=(0, 1, 0, 0, 0, -1), enhanced=True, seed=11)
    assert_same_as_referee(to_nifti_image(load_series(series.directory)), dcm2niix(series.directory))
