"""Grids of stored data rows: the voxel grid from media attributes, and label volumes as bytes on a grid.

A DICOM or NIfTI data row keeps its geometry in its media attributes (``model.media.MediaAttributes``): the
4 x 4 ``affine`` when known (it holds shears such as a gantry tilt's), else ``orientation``, ``spacing`` and
``origin``. Label volumes are stored as gzipped NIfTI on that grid.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError, ValidationError
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

    raw: bytes = label_image(np.asarray(volume), grid).to_bytes()
    return gzip.compress(raw, compresslevel=6)


def volume_on_grid(source: VolumeSource, grid: Grid, local_file: Callable[[str], Path]) -> npt.NDArray[Any]:
    """The voxels of a label volume source on ``grid`` [column, row, slice]: as they are when they lie on it,
    reoriented (axis permutation and flips, never resampled) when their own grid differs only so; otherwise
    a MediaError names both grids. ``local_file`` turns a source's URI into a path it may read."""
    from labelport.imaging.nifti import place_on_grid

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
        return embed_on_grid(array, grid_of_volume_grid(source.grid), grid, source.pixels.key)
    if source.uri is not None:
        return place_on_grid(local_file(source.uri), grid).array
    raise ValidationError("a stored label volume is read from the blob store, not placed again", field="mask")


def embed_on_grid(array: npt.NDArray[Any], source: Grid, target: Grid, name: str) -> npt.NDArray[Any]:
    """A label volume on ``source`` put onto ``target`` without resampling: the source grid must be a signed
    axis permutation of the target's at whole-voxel offsets, inside it (a SEG whose empty slices were left out
    covers part of its series). Voxels outside the source are 0. Otherwise a MediaError shows both grids."""
    transform = np.linalg.solve(target.affine_lps, source.affine_lps)  # source voxel -> target voxel
    linear, offset = transform[:3, :3], transform[:3, 3]
    signed = np.round(linear)
    fits = (
        np.allclose(linear, signed, atol=1e-4)
        and bool(np.all(np.abs(signed).sum(axis=0) == 1))
        and bool(np.all(np.abs(signed).sum(axis=1) == 1))
        and np.allclose(offset, np.round(offset), atol=1e-3)
    )
    if fits:
        axes = [int(np.flatnonzero(signed[t])[0]) for t in range(3)]  # target axis t <- source axis axes[t]
        moved = np.transpose(array, axes)
        starts = []
        for t in range(3):
            size = moved.shape[t]
            if signed[t, axes[t]] < 0:
                moved = np.flip(moved, axis=t)
                starts.append(round(offset[t]) - size + 1)
            else:
                starts.append(round(offset[t]))
        if all(start >= 0 and start + moved.shape[t] <= target.shape[t] for t, start in enumerate(starts)):
            if tuple(moved.shape) == target.shape:
                return moved
            out = np.zeros(target.shape, dtype=array.dtype)
            out[tuple(slice(start, start + moved.shape[t]) for t, start in enumerate(starts))] = moved
            return out
    raise MediaError(
        f"{name}: does not lie on the series grid: shape {tuple(array.shape)} with LPS affine\n"
        f"{affine_text(source.affine_lps)}\nseries shape {target.shape} with LPS affine\n"
        f"{affine_text(target.affine_lps)}",
        path=name,
    )


def affine_text(affine: npt.NDArray[Any]) -> str:
    """A 4 x 4 affine as aligned rows, for messages that show two grids."""
    return "\n".join("  [" + ", ".join(f"{v:9.4f}" for v in row) + "]" for row in np.asarray(affine))


def decode_label_volume(data: bytes) -> npt.NDArray[Any]:
    """The array [column, row, slice] of a stored label volume (gzipped or plain NIfTI bytes)."""
    import nibabel as nib

    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    image = nib.Nifti1Image.from_bytes(raw)
    return np.asarray(image.dataobj)


__all__ = [
    "affine_text",
    "decode_label_volume",
    "embed_on_grid",
    "encode_label_volume",
    "grid_from_attributes",
    "grid_of_volume_grid",
    "plane_of",
    "volume_grid",
    "volume_on_grid",
]
