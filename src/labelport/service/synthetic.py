"""Synthetic media for the demo and for tests: a DICOM series written with pydicom and a PNG image.

The series is a real, standard-conforming single-frame MR series (explicit VR little endian), so every
reader (pydicom, dcm2niix, labelport) treats it like one from a scanner.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_series(
    folder: Path,
    *,
    rows: int = 64,
    columns: int = 64,
    slices: int = 16,
    spacing: tuple[float, float, float] = (0.8, 0.8, 2.5),
    orientation: tuple[float, float, float, float, float, float] = (1, 0, 0, 0, 1, 0),
    origin: tuple[float, float, float] = (-25.0, -25.0, -20.0),
    series_description: str = "labelport synthetic phantom",
) -> list[Path]:
    """Write a sphere phantom as one instance per slice; returns the files, slice order ascending."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    row_dir = np.array(orientation[:3], dtype=float)
    col_dir = np.array(orientation[3:], dtype=float)
    normal = np.cross(row_dir, col_dir)
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    yy, xx = np.mgrid[0:rows, 0:columns]
    files = []
    for k in range(slices):
        z = (k - slices / 2) / (slices / 2)
        radius = max(0.0, 1 - z * z) ** 0.5 * min(rows, columns) / 3
        pixels = (((xx - columns / 2) ** 2 + (yy - rows / 2) ** 2) <= radius**2) * 800 + (xx + yy + k)
        position = np.array(origin, dtype=float) + normal * spacing[2] * k
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.FrameOfReferenceUID = frame_of_reference
        ds.Modality = "MR"
        ds.PatientName = "Phantom^Labelport"
        ds.PatientID = "LP0001"
        ds.SeriesDescription = series_description
        ds.SeriesNumber = 1
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.PixelSpacing = [f"{spacing[1]:.6f}", f"{spacing[0]:.6f}"]
        ds.SliceThickness = f"{spacing[2]:.6f}"
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 0
        ds.PixelData = pixels.astype(np.uint16).tobytes()
        path = folder / f"slice_{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def write_image(path: Path, width: int = 128, height: int = 96) -> Path:
    """A small RGB gradient PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1), np.full_like(xx, 128)], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return path


def write_video(path: Path, width: int = 48, height: int = 32, frames: int = 12, fps: float = 10.0) -> Path:
    """A small MP4 (MPEG-4 part 2, OpenCV's own encoder) whose frames brighten one after another."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    try:
        for index in range(frames):
            writer.write(np.full((height, width, 3), (index * 20) % 256, dtype=np.uint8))
    finally:
        writer.release()
    return path
