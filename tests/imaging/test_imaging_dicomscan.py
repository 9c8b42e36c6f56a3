"""The lean DICOM reader agrees with pydicom on every tag it reads, and hands back what it cannot read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from labelport.imaging import load_series
from labelport.imaging._dicomscan import TAGS, scan
from tests.fixtures import HFS_SERIES, REDBRICK

DIRS = [HFS_SERIES, REDBRICK / "dicom/axial", REDBRICK / "dicom/sagittal"]


def assert_agrees_with_pydicom(path: Path) -> None:
    scanned = scan(str(path), with_pixels=True)
    assert scanned is not None
    ds = pydicom.dcmread(path)
    for keyword in TAGS:
        expected = ds.get(keyword)
        if expected is None or expected == "":
            assert keyword not in scanned, keyword
            continue
        found = scanned.get(keyword)
        if keyword == "PixelData":
            assert found == expected
        elif isinstance(expected, pydicom.multival.MultiValue):
            assert found == pytest.approx([float(v) for v in expected]), keyword
        elif isinstance(expected, float | int):
            assert found == pytest.approx(float(expected)), keyword
        else:
            assert found == str(expected), keyword


@pytest.mark.parametrize("directory", DIRS, ids=[d.name for d in DIRS])
def test_scan_agrees_with_pydicom_on_fixture_files(directory: Path) -> None:
    for path in sorted(directory.iterdir())[:6]:
        assert_agrees_with_pydicom(path)


def test_implicit_vr_files_are_read_too(make_series: Callable[..., Any]) -> None:
    series = make_series(seed=12)
    explicit = load_series(series.directory)
    for path in series.files:
        ds = pydicom.dcmread(path)
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        ds.save_as(path, implicit_vr=True, little_endian=True)
        assert_agrees_with_pydicom(path)
    implicit = load_series(series.directory)
    np.testing.assert_array_equal(implicit.array, explicit.array)
    np.testing.assert_array_equal(implicit.affine_lps, explicit.affine_lps)


def test_enhanced_and_non_dicom_files_fall_back_to_pydicom(make_series: Callable[..., Any], tmp_path: Path) -> None:
    enhanced = make_series(enhanced=True, seed=13)
    assert scan(str(enhanced.files[0]), with_pixels=True) is None
    text = tmp_path / "x.txt"
    text.write_text("hello")
    assert scan(str(text), with_pixels=True) is None
    truncated = tmp_path / "t.dcm"
    truncated.write_bytes(DIRS[1].joinpath("img_000.dcm").read_bytes()[:400])
    assert scan(str(truncated), with_pixels=True) is None or "PixelData" not in scan(str(truncated), with_pixels=True)
