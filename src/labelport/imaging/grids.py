"""Grids of stored data rows: the voxel grid from media attributes, and label volumes as bytes on a grid.

A DICOM or NIfTI data row keeps its geometry in its media attributes (``model.media.MediaAttributes``): the
4 x 4 ``affine`` when known (it holds shears such as a gantry tilt's), else ``orientation``, ``spacing`` and
``origin``. Label volumes are stored as gzipped NIfTI on that grid.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.imaging.planes import PlaneView
from labelport.imaging.volume import Grid
from labelport.model.geometry import VolumeSource
from labelport.model.media import MediaAttributes, PlaneGroup, VolumeGrid


def grid_from_attributes(attributes: MediaAttributes) -> Grid:
    """The voxel grid of a DICOM or NIfTI data row from its stored media attributes."""
    if attributes.columns is None or attributes.rows is None or attributes.slices is None:
        raise ValidationError("the data row has no volume geometry (columns, rows, slices)", field="media_attributes")
    shape = (attributes.columns, attributes.rows, attributes.slices)
    if attributes.affine is not None:
        return Grid(shape, np.asarray(attributes.affine, dtype=np.float64).reshape(4, 4))
    orientation = attributes.orientation or (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
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


def plane_of(attributes: MediaAttributes, group: PlaneGroup | str) -> PlaneView:
    """The plane view ``group`` (axial, sagittal, coronal) of a stored data row's grid."""
    return PlaneView.of(grid_from_attributes(attributes), group)


def grid_of_volume_grid(grid: VolumeGrid) -> Grid:
    return Grid(grid.shape, np.asarray(grid.affine, dtype=np.float64).reshape(4, 4))


def volume_grid(grid: Grid) -> VolumeGrid:
    """The model's (pure, hashable) form of a grid."""
    return VolumeGrid(grid.shape, tuple(float(v) for v in grid.affine_lps.reshape(-1)))


def encode_label_volume(volume: npt.NDArray[Any], grid: Grid) -> bytes:
    """A label volume as gzipped NIfTI bytes on ``grid`` (RAS affine, smallest unsigned type), in memory."""
    from labelport.imaging.nifti import label_image

    # Streamed through gzip: only the compressed bytes are held, never a second full copy of the volume.
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6) as stream:
        label_image(np.asarray(volume), grid).to_stream(stream)
    return buffer.getvalue()


def volume_on_grid(source: VolumeSource, grid: Grid, local_file: Callable[[str], Path]) -> npt.NDArray[Any]:
    """The voxels of a label volume source on ``grid`` [column, row, slice]: as they are when they lie on it,
    reoriented (axis permutation and flips, never resampled) when their own grid differs only so; otherwise
    a MediaError names both grids. ``local_file`` turns a source's URI into a path it may read."""
    from labelport.imaging.nifti import label_image, place_on_grid

    if source.pixels is not None:
        array = np.asarray(source.pixels.array())
        if source.grid is None:
            if tuple(array.shape) != grid.shape:
                raise ValidationError(
                    f"label volume {source.pixels.key!r} has shape {tuple(array.shape)}; the series grid is "
                    f"{grid.shape} (columns, rows, slices)",
                    field="mask",
                    value=list(array.shape),
                )
            return array
        return place_on_grid(label_image(array, grid_of_volume_grid(source.grid)), grid).array
    if source.uri is not None:
        return place_on_grid(local_file(source.uri), grid).array
    raise ValidationError("a stored label volume is read from the blob store, not placed again", field="mask")


def decode_label_volume(data: bytes) -> npt.NDArray[Any]:
    """The array [column, row, slice] of a stored label volume (gzipped or plain NIfTI bytes)."""
    import nibabel as nib

    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    image = nib.Nifti1Image.from_bytes(raw)
    return np.asarray(image.dataobj)


__all__ = [
    "decode_label_volume",
    "encode_label_volume",
    "grid_from_attributes",
    "grid_of_volume_grid",
    "plane_of",
    "volume_grid",
    "volume_on_grid",
]
