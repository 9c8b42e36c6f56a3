"""dcm2niix is the referee: our NIfTI and its NIfTI, both as closest canonical, agree voxel for voxel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from labelport.imaging import load_series, to_nifti_image, write_nifti

from .conftest import assert_same_as_referee, rotation

SERIES = [
    "../shared/data/dicom/dcm_qa_decubitus/HFDL_t1_fl2d_sag",
    "../shared/data/dicom/dcm_qa_decubitus/HFDR_t1_fl2d_sag",
    "../shared/data/dicom/dcm_qa_decubitus/HFP_t1_fl2d_sag",
    "../shared/data/dicom/dcm_qa_decubitus/HFS_t1_fl2d_sag",
    "../shared/anchors/redbrick/dicom/axial",
    "../shared/anchors/redbrick/dicom/sagittal",
]


@pytest.mark.referee
@pytest.mark.parametrize("series", SERIES, ids=[Path(s).name for s in SERIES])
def test_shared_series_match_dcm2niix(series: str, dcm2niix: Callable[[Path], Any], tmp_path: Path) -> None:
    ours = tmp_path / "ours.nii.gz"
    write_nifti(load_series(series), ours)
    assert_same_as_referee(nib.load(ours), dcm2niix(Path(series)))


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
