"""Fixtures for imaging tests: generated DICOM series (pydicom) and the dcm2niix referee."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SHARED = Path("../shared")
DECUBITUS = SHARED / "data/dicom/dcm_qa_decubitus"
REDBRICK = SHARED / "anchors/redbrick"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"


@dataclass
class GeneratedSeries:
    """A series written by ``make_series`` and the volume it must load as."""

    directory: Path
    files: list[Path]
    expected: npt.NDArray[np.uint16]  # [column, row, slice], slices ascending along the normal
    affine_lps: npt.NDArray[np.float64]


def rotation(rng: np.random.Generator, max_degrees: float) -> npt.NDArray[np.float64]:
    """A random rotation of at most ``max_degrees`` about each axis."""
    angles = np.radians(rng.uniform(-max_degrees, max_degrees, 3))
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return np.asarray(rz @ ry @ rx, dtype=np.float64)


def _base_dataset(sop_class: str, series_uid: str, study_uid: str, frame_uid: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    sop_uid = generate_uid()
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.PatientName = "Phantom^Generated"
    ds.PatientID = "GEN001"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.SeriesDate = "20240101"
    ds.SeriesTime = "120000"
    ds.AcquisitionTime = "120000"
    ds.Modality = "MR"
    ds.SeriesNumber = 7
    ds.AcquisitionNumber = 1
    ds.SeriesDescription = "generated"
    ds.Manufacturer = "labelport-tests"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    return ds


def write_series(
    directory: Path,
    *,
    rows: int = 7,
    columns: int = 9,
    slices: int = 5,
    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    origin: Sequence[float] = (-20.0, 15.0, 40.0),
    pixel_spacing: tuple[float, float] = (0.9, 0.7),  # (between rows, between columns)
    step: float = 2.5,
    seed: int = 0,
    shuffle_names: bool = True,
    reverse_instance_numbers: bool = True,
    skip_slices: Sequence[int] = (),
    series_uid: str | None = None,
    enhanced: bool = False,
) -> GeneratedSeries:
    """Write a synthetic MR series; voxel values are random so any misplacement shows."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    iop = np.asarray(orientation, dtype=np.float64)
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    kept = [k for k in range(slices) if k not in set(skip_slices)]
    pixels = rng.integers(0, 4000, size=(slices, rows, columns), dtype=np.uint16)
    positions = [np.asarray(origin, dtype=np.float64) + k * step * normal for k in range(slices)]
    series_uid = series_uid or generate_uid()
    study_uid, frame_uid = generate_uid(), generate_uid()
    files: list[Path] = []
    if enhanced:
        ds = _base_dataset(ENHANCED_MR_IMAGE_STORAGE, series_uid, study_uid, frame_uid)
        ds.InstanceNumber = 1
        ds.Rows, ds.Columns = rows, columns
        # Frames stored in reverse spatial order: the reader must sort by position, not frame number.
        frame_order = list(reversed(kept))
        ds.NumberOfFrames = len(frame_order)
        shared = Dataset()
        measures = Dataset()
        measures.PixelSpacing = [f"{pixel_spacing[0]:.6g}", f"{pixel_spacing[1]:.6g}"]
        measures.SliceThickness = step
        measures.SpacingBetweenSlices = step
        shared.PixelMeasuresSequence = DicomSequence([measures])
        plane = Dataset()
        plane.ImageOrientationPatient = [f"{v:.8f}" for v in iop]
        shared.PlaneOrientationSequence = DicomSequence([plane])
        ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
        per_frame = []
        for k in frame_order:
            item = Dataset()
            pos = Dataset()
            pos.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
            item.PlanePositionSequence = DicomSequence([pos])
            per_frame.append(item)
        ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
        ds.PixelData = np.ascontiguousarray(pixels[frame_order]).tobytes()
        path = directory / "enhanced.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    else:
        names = list(range(len(kept)))
        if shuffle_names:
            rng.shuffle(names)
        for index, k in enumerate(kept):
            ds = _base_dataset(MR_IMAGE_STORAGE, series_uid, study_uid, frame_uid)
            ds.InstanceNumber = (slices - k) if reverse_instance_numbers else k + 1
            ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
            ds.ImageOrientationPatient = [f"{v:.8f}" for v in iop]
            ds.PixelSpacing = [f"{pixel_spacing[0]:.6g}", f"{pixel_spacing[1]:.6g}"]
            ds.SliceThickness = step
            ds.Rows, ds.Columns = rows, columns
            ds.PixelData = pixels[k].tobytes()
            path = directory / f"im{names[index]:03d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
    # Values written as decimal strings: expected geometry uses the same rounding.
    iop_written = np.array([float(f"{v:.8f}") for v in iop])
    affine = np.eye(4)
    affine[:3, 0] = iop_written[:3] * float(f"{pixel_spacing[1]:.6g}")
    affine[:3, 1] = iop_written[3:] * float(f"{pixel_spacing[0]:.6g}")
    first = np.array([float(f"{v:.6f}") for v in positions[kept[0]]])
    last = np.array([float(f"{v:.6f}") for v in positions[kept[-1]]])
    affine[:3, 2] = (last - first) / max(len(kept) - 1, 1) if len(kept) > 1 else normal * step
    affine[:3, 3] = first
    expected = np.ascontiguousarray(pixels[kept].transpose(2, 1, 0))
    return GeneratedSeries(directory, files, expected, affine)


@pytest.fixture
def make_series(tmp_path: Path) -> Callable[..., GeneratedSeries]:
    """Factory writing a generated series under tmp_path/<name>."""
    counter = iter(range(1000))

    def factory(**kwargs: Any) -> GeneratedSeries:
        return write_series(tmp_path / f"series{next(counter)}", **kwargs)

    return factory


def dcm2niix_binary() -> str | None:
    """Path of dcm2niix; fails under CI when it is missing, else None (the caller skips)."""
    found = shutil.which("dcm2niix")
    if found is None and os.environ.get("CI"):
        pytest.fail("dcm2niix is required under CI (Debian package dcm2niix, installed by .ci/run)")
    return found


@pytest.fixture
def dcm2niix(tmp_path: Path) -> Callable[[Path], Any]:
    """Run dcm2niix on a series directory and return its NIfTI image (the referee)."""
    binary = dcm2niix_binary()
    if binary is None:
        pytest.skip("dcm2niix not installed (apt-get install dcm2niix); CI is not set, so skipping")
    counter = iter(range(1000))

    def run(series: Path) -> Any:
        out = tmp_path / f"dcm2niix{next(counter)}"
        out.mkdir()
        result = subprocess.run(
            [binary, "-z", "y", "-f", "out", "-o", str(out), str(series)],
            capture_output=True,
            text=True,
            check=False,
        )
        produced = sorted(out.glob("*.nii.gz"))
        assert result.returncode == 0 and len(produced) == 1, (result.stdout, result.stderr, produced)
        return nib.load(produced[0])

    return run


def assert_same_as_referee(ours: Any, referee: Any) -> None:
    """Voxel-identical and affines within 1e-3 mm after both go to the closest canonical orientation."""
    a = nib.as_closest_canonical(ours)
    b = nib.as_closest_canonical(referee)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj))
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-3, rtol=0)
