"""Label volumes and the model's grids: a label volume source put on a data row's grid, and the model's pure
``VolumeGrid`` to and from imaging's ``Grid``.

The grid of a stored data row comes from its media attributes (``imaging.attributes``); stored label volumes
are gzipped NIfTI on that grid (``imaging.nifti.encode_label_volume`` / ``decode_label_volume``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError, ValidationError
from labelport.imaging.attributes import grid_from_attributes, plane_from_attributes
from labelport.imaging.nifti import decode_label_volume, encode_label_volume, place_on_grid
from labelport.imaging.volume import Grid
from labelport.model.geometry import VolumeSource
from labelport.model.media import VolumeGrid

plane_of = plane_from_attributes


def grid_of_volume_grid(grid: VolumeGrid) -> Grid:
    return Grid(grid.shape, np.asarray(grid.affine, dtype=np.float64).reshape(4, 4))


def volume_grid(grid: Grid) -> VolumeGrid:
    """The model's (pure, hashable) form of a grid."""
    return VolumeGrid(grid.shape, tuple(float(v) for v in grid.affine_lps.reshape(-1)))


def volume_on_grid(source: VolumeSource, grid: Grid, local_file: Callable[[str], Path]) -> npt.NDArray[Any]:
    """The voxels of a label volume source on ``grid`` [column, row, slice]: as they are when they lie on it,
    reoriented (axis permutation and flips, never resampled) when their own grid differs only so; otherwise
    a MediaError names both grids. ``local_file`` turns a source's URI into a path it may read."""
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
