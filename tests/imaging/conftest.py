"""Fixtures for imaging tests: generated DICOM series (pydicom) and the dcm2niix referee.

The repository keeps one real scanner series (tests/fixtures/dicom, a plain sagittal). The geometries it
does not cover (oblique, flipped, shuffled, non-square, gantry tilt) are generated here, some from its
pixels, so every test runs on a fresh clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.fixtures import HFS_SERIES

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
    x, y, z = rng.uniform(-max_degrees, max_degrees, 3)
    return fixed_rotation(x, y, z)


def fixed_rotation(x_degrees: float, y_degrees: float, z_degrees: float) -> npt.NDArray[np.float64]:
    """Rotation by ``x_degrees`` about x, then ``y_degrees`` about y, then ``z_degrees`` about z."""
    cx, cy, cz = np.cos(np.radians([x_degrees, y_degrees, z_degrees]))
    sx, sy, sz = np.sin(np.radians([x_degrees, y_degrees, z_degrees]))
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
    tilt_degrees: float = 0.0,
    seed: int = 0,
    shuffle_names: bool = True,
    reverse_instance_numbers: bool = True,
    shuffle_instance_numbers: bool = False,
    skip_slices: Sequence[int] = (),
    series_uid: str | None = None,
    enhanced: bool = False,
    pixels: npt.NDArray[np.uint16] | None = None,
) -> GeneratedSeries:
    """Write a synthetic MR series; voxel values are random so any misplacement shows.

    ``step`` is the distance along the slice normal from one acquired slice to the next (negative:
    slices acquired in descending order). ``tilt_degrees`` shifts each slice along the column direction
    by ``step * tan(tilt)``, as a tilted CT gantry does, so positions no longer run along the normal.
    ``pixels`` (slices, rows, columns) replaces the random values, e.g. with a real series' pixels.
    """
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    iop = np.asarray(orientation, dtype=np.float64)
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    kept = [k for k in range(slices) if k not in set(skip_slices)]
    if pixels is None:
        pixels = rng.integers(0, 4000, size=(slices, rows, columns), dtype=np.uint16)
    elif pixels.shape != (slices, rows, columns) or pixels.dtype != np.uint16:
        raise ValueError(f"pixels must be uint16 {(slices, rows, columns)}, found {pixels.dtype} {pixels.shape}")
    shear = np.tan(np.radians(tilt_degrees)) * col_dir
    positions = [np.asarray(origin, dtype=np.float64) + k * step * (normal + shear) for k in range(slices)]
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
        numbers = [(slices - k) if reverse_instance_numbers else k + 1 for k in range(slices)]
        if shuffle_instance_numbers:
            rng.shuffle(numbers)
        for index, k in enumerate(kept):
            ds = _base_dataset(MR_IMAGE_STORAGE, series_uid, study_uid, frame_uid)
            ds.InstanceNumber = numbers[k]
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
    written = {k: np.array([float(f"{v:.6f}") for v in positions[k]]) for k in kept}
    ascending = sorted(kept, key=lambda k: float(written[k] @ normal))  # the ITK grid's slice order
    affine = np.eye(4)
    affine[:3, 0] = iop_written[:3] * float(f"{pixel_spacing[1]:.6g}")
    affine[:3, 1] = iop_written[3:] * float(f"{pixel_spacing[0]:.6g}")
    first, last = written[ascending[0]], written[ascending[-1]]
    affine[:3, 2] = (last - first) / max(len(kept) - 1, 1) if len(kept) > 1 else normal * abs(step)
    affine[:3, 3] = first
    expected = np.ascontiguousarray(pixels[ascending].transpose(2, 1, 0))
    return GeneratedSeries(directory, files, expected, affine)


@cache
def hfs_pixels() -> npt.NDArray[np.uint16]:
    """The real series' pixels as (slice, row, column), slices in InstanceNumber order (read with pydicom)."""
    datasets = [pydicom.dcmread(path) for path in sorted(HFS_SERIES.glob("*.dcm"))]
    datasets.sort(key=lambda ds: int(ds.InstanceNumber))
    return np.stack([ds.pixel_array for ds in datasets]).astype(np.uint16)


@dataclass(frozen=True)
class Geometry:
    """A named acquisition geometry the real series does not cover, as ``write_series`` arguments."""

    name: str
    description: str
    arguments: dict[str, Any] = field(default_factory=dict)
    # (first slice, first row, first column, slice stride, rows, columns) cut from the real series' pixels.
    real_pixels: tuple[int, int, int, int, int, int] | None = None

    @property
    def sheared(self) -> bool:
        return bool(self.arguments.get("tilt_degrees"))

    def write(self, directory: Path) -> GeneratedSeries:
        arguments = dict(self.arguments)
        if self.real_pixels is not None:
            first, row, column, stride, rows, columns = self.real_pixels
            cut = hfs_pixels()[first::stride][: arguments["slices"], row : row + rows, column : column + columns]
            arguments.update(rows=rows, columns=columns, pixels=np.ascontiguousarray(cut))
        return write_series(directory, **arguments)


_OBLIQUE = fixed_rotation(20, -15, 10)
GEOMETRIES = {
    g.name: g
    for g in (
        Geometry(
            "oblique",
            "an axial series rotated 20, -15 and 10 degrees about x, y and z (real pixels)",
            {"orientation": (*_OBLIQUE[:, 0], *_OBLIQUE[:, 1]), "slices": 7, "step": 3.0, "seed": 21},
            real_pixels=(3, 60, 50, 4, 48, 48),
        ),
        Geometry(
            "flipped",
            "a sagittal series with reversed row and column directions, slices acquired in descending order",
            {
                "orientation": (0, -1, 0, 0, 0, 1),
                "step": -3.5,
                "slices": 6,
                "rows": 11,
                "columns": 13,
                "shuffle_names": False,
                "reverse_instance_numbers": False,
                "seed": 22,
            },
        ),
        Geometry(
            "shuffled",
            "an axial series whose file names and InstanceNumbers are both in random order",
            {"slices": 9, "shuffle_instance_numbers": True, "seed": 23},
        ),
        Geometry(
            "non_square",
            "a coronal series of 40 rows x 64 columns, pixel spacing 0.55 x 1.3 mm, 3.3 mm slices (real pixels)",
            {"orientation": (1, 0, 0, 0, 0, -1), "slices": 5, "pixel_spacing": (0.55, 1.3), "step": 3.3, "seed": 24},
            real_pixels=(15, 100, 90, 1, 40, 64),
        ),
        Geometry(
            "gantry_tilt",
            "an axial series tilted 17 degrees: each slice shifted along the columns, off the slice normal",
            {"slices": 6, "rows": 10, "columns": 12, "tilt_degrees": 17.0, "step": 2.0, "seed": 25},
        ),
    )
}


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


def slice_index_in(ours: Any, referee_slice: Any) -> int:
    """The slice of ``ours`` that dcm2niix's image of one DICOM file is: every referee voxel centre must be a
    voxel centre of that slice of ours (same world point to 1e-3 voxel) holding the same value.

    This checks sheared grids too (gantry tilt), which one affine of dcm2niix's cannot hold unresampled.
    """
    values = np.asanyarray(referee_slice.dataobj)
    values = values.reshape(values.shape[:2])
    i, j = np.meshgrid(np.arange(values.shape[0]), np.arange(values.shape[1]), indexing="ij")
    voxels = np.stack([i.ravel(), j.ravel(), np.zeros(i.size), np.ones(i.size)])
    in_ours = (np.linalg.inv(ours.affine) @ referee_slice.affine @ voxels)[:3]
    nearest = np.round(in_ours)
    np.testing.assert_allclose(in_ours, nearest, atol=1e-3, rtol=0)
    index = nearest.astype(int)
    shape = np.asarray(ours.shape)[:, None]
    assert ((index >= 0) & (index < shape)).all(), "referee voxels outside our grid"
    slices = set(index[2].tolist())
    assert len(slices) == 1, f"one DICOM slice spread over our slices {sorted(slices)}"
    np.testing.assert_array_equal(np.asanyarray(ours.dataobj)[index[0], index[1], index[2]], values.ravel())
    return slices.pop()
