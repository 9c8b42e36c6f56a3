"""Geometry to and from a data row's media attributes: the voxel grid they describe, and the attributes
of a NIfTI volume or an image file read from its header.

Stored attributes keep DICOM's terms (``orientation`` = ImageOrientationPatient, ``spacing`` = the voxel
size along the array axes [column, row, slice], ``origin`` = the first voxel's centre in LPS mm), so the
grid of a series is rebuilt from them as ``load_series`` builds it, without reading a file again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from labelport.errors import ValidationError
from labelport.imaging.planes import PlaneView
from labelport.imaging.volume import Grid, SeriesHeader
from labelport.model.media import MediaAttributes, PlaneGroup

_AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def grid_from_attributes(attributes: MediaAttributes) -> Grid:
    """The voxel grid of a DICOM or NIfTI data row from its stored media attributes.

    The stored 4 x 4 ``affine`` decides when there is one (it holds what orientation and spacing cannot, such
    as a gantry tilt's shear); otherwise missing orientation, spacing or origin default to axial, 1 mm and the
    origin. Raises ValidationError when columns, rows or slices are missing.
    """
    if attributes.columns is None or attributes.rows is None or attributes.slices is None:
        raise ValidationError("the data row has no volume geometry (columns, rows, slices)", field="media_attributes")
    shape = (attributes.columns, attributes.rows, attributes.slices)
    if attributes.affine is not None:
        return Grid(shape, np.asarray(attributes.affine, dtype=np.float64).reshape(4, 4))
    orientation = attributes.orientation or _AXIAL
    spacing = attributes.spacing or (1.0, 1.0, 1.0)
    origin = attributes.origin or (0.0, 0.0, 0.0)
    row_dir = np.array(orientation[:3], dtype=np.float64)
    col_dir = np.array(orientation[3:], dtype=np.float64)
    affine = np.eye(4)
    affine[:3, 0] = row_dir * spacing[0]
    affine[:3, 1] = col_dir * spacing[1]
    affine[:3, 2] = np.cross(row_dir, col_dir) * spacing[2]
    affine[:3, 3] = origin
    return Grid(shape, affine)


def plane_from_attributes(attributes: MediaAttributes, group: PlaneGroup) -> PlaneView:
    """The plane view (axial, sagittal, coronal) of a volume data row, from its stored attributes."""
    return PlaneView.of(grid_from_attributes(attributes), group)


def nifti_attributes(path: Path) -> MediaAttributes:
    """Size, spacing and origin of a NIfTI volume from its header (no voxels are read)."""
    import nibabel

    nib: Any = nibabel
    image = nib.load(str(path))
    shape = tuple(int(s) for s in image.shape)
    if len(shape) < 3:
        shape = (*shape, 1, 1)[:3]
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    affine = np.asarray(image.affine, dtype=np.float64)
    return MediaAttributes(
        mime_type="application/x-nifti",
        width=shape[0],
        height=shape[1],
        frames=shape[2],
        columns=shape[0],
        rows=shape[1],
        slices=shape[2],
        spacing=(*zooms, 1.0, 1.0, 1.0)[:3],  # type: ignore[arg-type]
        # NIfTI is RAS; the origin is reported in LPS like DICOM's, and the affine too.
        origin=(-float(affine[0, 3]), -float(affine[1, 3]), float(affine[2, 3])),
        affine=tuple(float(v) for v in (np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine).reshape(-1)),
    )


def series_attributes(header: SeriesHeader, instance_count: int) -> MediaAttributes:
    """The attributes of a DICOM series from its header (``read_series_header``): size, geometry, UIDs, and
    each slice's SOPInstanceUID in grid order (a frame of a multi-frame instance as ``UID#frame``; none when
    a slice has no UID)."""
    sources = header.slice_sources
    uids = None
    if sources and all(s.sop_instance_uid for s in sources):
        uids = tuple(f"{s.sop_instance_uid}" if s.frame is None else f"{s.sop_instance_uid}#{s.frame}" for s in sources)
    return MediaAttributes(
        mime_type="application/dicom",
        width=header.columns,
        height=header.rows,
        frames=header.slices,
        rows=header.rows,
        columns=header.columns,
        slices=header.slices,
        spacing=header.spacing,
        orientation=header.orientation,
        origin=header.origin,
        modality=header.modality,
        study_instance_uid=header.study_instance_uid,
        series_instance_uid=header.series_instance_uid,
        series_description=header.series_description,
        instance_count=instance_count,
        affine=tuple(float(v) for v in header.affine_lps.reshape(-1)),
        instance_uids=uids,
    )


def image_attributes(path: Path) -> MediaAttributes:
    """Size and MIME type of an image file from its header."""
    from PIL import Image

    with Image.open(path) as image:
        mime = Image.MIME.get(image.format or "", None)
        return MediaAttributes(mime_type=mime, width=image.width, height=image.height)


def video_attributes(path: Path) -> MediaAttributes:
    """Frame size, frame count and frame rate of a video file, read by OpenCV (FFmpeg) from its container.

    A file OpenCV cannot open keeps only its MIME type: the platforms accept videos they cannot decode yet, and
    frame ranges are then not checked against its length.
    """
    import os

    import cv2

    # FFmpeg prints to stderr on its own (``moov atom not found``); the caller reports what matters.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    with path.open("rb") as handle:
        head = handle.read(12)
    mime = "video/webm" if head[:4] == b"\x1aE\xdf\xa3" else "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return MediaAttributes(mime_type=mime)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        rate = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return MediaAttributes(
        mime_type=mime,
        width=width if width > 0 else None,
        height=height if height > 0 else None,
        frames=frames if frames > 0 else None,
        frame_rate=round(rate, 6) if rate > 0 else None,
    )


__all__ = ["grid_from_attributes", "image_attributes", "nifti_attributes", "plane_from_attributes", "video_attributes"]
