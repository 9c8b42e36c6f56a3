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

from labelport.errors import ValidationError
from labelport.imaging.attributes import grid_from_attributes, plane_from_attributes
from labelport.imaging.nifti import decode_label_volume, encode_label_volume, label_image, place_on_grid
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
        return place_on_grid(label_image(array, grid_of_volume_grid(source.grid)), grid).array
    if source.uri is not None:
        return place_on_grid(local_file(source.uri), grid).array
    raise ValidationError("a stored label volume is read from the blob store, not placed again", field="mask")


__all__ = [
    "decode_label_volume",
    "encode_label_volume",
    "grid_from_attributes",
    "grid_of_volume_grid",
    "plane_of",
    "volume_grid",
    "volume_on_grid",
]
