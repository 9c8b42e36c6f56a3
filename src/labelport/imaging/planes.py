"""Axial, coronal and sagittal views of a volume: axis permutations and flips, never resampling.

Radiological display (DESIGN.md), directions in patient LPS:

========  ===================  ======================  ===================================
plane     x (image columns)    y (image rows, down)    frame (slice index, ascending)
========  ===================  ======================  ===================================
axial     to patient left +L   to posterior +P         inferior -> superior (+S)
coronal   to patient left +L   to inferior -S          anterior -> posterior (+P)
sagittal  to posterior +P      to inferior -S          right -> left (+L)
========  ===================  ======================  ===================================

Each volume axis is matched to its nearest patient axis (``nibabel.orientations.io_orientation``), so
an oblique series maps exactly, on its own voxels. Plane points are continuous pixel coordinates:
pixel (x, y) covers [x, x+1) x [y, y+1), so the centre of the voxel with index i sits at x = i + 0.5.
Frames count from ``frame_base`` (0 inside labelport, 1 for Labelbox); ``slice_order`` DESCENDING
reverses the frame axis for a platform that stacks the other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import nibabel.orientations
import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.imaging.volume import Grid, Volume
from labelport.model.media import PlaneGroup

# nibabel's orientation helpers are untyped; one typed alias keeps mypy --strict meaningful elsewhere.
_nio: Any = nibabel.orientations


class SliceOrder(StrEnum):
    """Order of frames along the plane normal: ASCENDING is +LPS (axial: inferior to superior)."""

    ASCENDING = "ascending"
    DESCENDING = "descending"

    @classmethod
    def parse(cls, value: str | SliceOrder) -> SliceOrder:
        try:
            return cls(value.lower() if isinstance(value, str) else value)
        except ValueError:
            raise ValidationError(
                f"slice order must be 'ascending' or 'descending', found {value!r}",
                field="slice_order",
                value=value,
            ) from None


# (LPS axis, sign) of the display x, display y and frame directions for each plane.
_DISPLAY: dict[PlaneGroup, tuple[tuple[int, int], tuple[int, int], tuple[int, int]]] = {
    PlaneGroup.AXIAL: ((0, 1), (1, 1), (2, 1)),
    PlaneGroup.CORONAL: ((0, 1), (2, -1), (1, 1)),
    PlaneGroup.SAGITTAL: ((1, 1), (2, -1), (0, 1)),
}


@dataclass(frozen=True, eq=False)
class PlaneView:
    """One patient-aligned plane of a volume grid, with point mapping plane <-> voxel <-> LPS mm.

    ``axes`` are the volume axes shown as (x, y, frame); ``flips`` tell which run backwards.
    """

    plane: PlaneGroup
    grid: Grid
    axes: tuple[int, int, int]
    flips: tuple[bool, bool, bool]
    frame_base: int = 0
    slice_order: SliceOrder = SliceOrder.ASCENDING

    @classmethod
    def of(
        cls,
        volume: Volume | Grid,
        plane: str | PlaneGroup,
        *,
        frame_base: int = 0,
        slice_order: str | SliceOrder = SliceOrder.ASCENDING,
    ) -> PlaneView:
        """The view of ``plane`` (axial, coronal, sagittal) on a Volume or Grid."""
        grid = volume.grid if isinstance(volume, Volume) else volume
        group = PlaneGroup.parse(plane)
        order = SliceOrder.parse(slice_order)
        if frame_base not in (0, 1):
            raise ValidationError(
                f"frame_base must be 0 or 1, found {frame_base!r}", field="frame_base", value=frame_base
            )
        # io_orientation gives, per voxel axis, the nearest world axis and its sign (here LPS world).
        ornt = _nio.io_orientation(grid.affine_lps)
        axes: list[int] = []
        flips: list[bool] = []
        for world_axis, sign in _DISPLAY[group]:
            voxel_axis = int(np.flatnonzero(ornt[:, 0] == world_axis)[0])
            axes.append(voxel_axis)
            flips.append(bool(ornt[voxel_axis, 1] != sign))
        if order is SliceOrder.DESCENDING:
            flips[2] = not flips[2]
        return cls(group, grid, (axes[0], axes[1], axes[2]), (flips[0], flips[1], flips[2]), frame_base, order)

    @property
    def width(self) -> int:
        """Image columns (x)."""
        return self.grid.shape[self.axes[0]]

    @property
    def height(self) -> int:
        """Image rows (y)."""
        return self.grid.shape[self.axes[1]]

    @property
    def frames(self) -> int:
        """Number of frames along the plane normal."""
        return self.grid.shape[self.axes[2]]

    @property
    def pixel_spacing(self) -> tuple[float, float]:
        """(x, y) pixel size in mm."""
        spacing = self.grid.spacing
        return (spacing[self.axes[0]], spacing[self.axes[1]])

    def stack(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """The volume array seen as [frame, y, x] (a numpy view: writes go to the volume)."""
        self._check_volume_array(array)
        view = np.transpose(array, (self.axes[2], self.axes[1], self.axes[0]))
        flip_axes = tuple(a for a, f in zip((2, 1, 0), self.flips, strict=True) if f)
        flipped: npt.NDArray[Any] = np.flip(view, axis=flip_axes) if flip_axes else view
        return flipped

    def extract(self, array: npt.NDArray[Any], frame: int) -> npt.NDArray[Any]:
        """The 2-D image [y, x] of one frame (a view; copy it before changing it)."""
        image: npt.NDArray[Any] = self.stack(array)[self._frame_index(frame)]
        return image

    def voxel_index(self, frame: int) -> int:
        """The index along the volume axis ``axes[2]`` that holds ``frame``."""
        index = self._frame_index(frame)
        return (self.frames - 1 - index) if self.flips[2] else index

    def orient(self, section: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """A 2-D section of the volume at one index of ``axes[2]`` (its two other axes in volume order) as the
        [y, x] image of that frame: ``extract(array, f)`` equals
        ``orient(np.take(array, voxel_index(f), axis=axes[2]))``, so one slice read alone displays the same."""
        others = [a for a in range(3) if a != self.axes[2]]
        expected = (self.grid.shape[others[0]], self.grid.shape[others[1]])
        if section.shape != expected:
            raise ValidationError(
                f"a section across volume axis {self.axes[2]} has shape {expected}, found {section.shape}",
                field="section",
                value=section.shape,
            )
        image = section.T if self.axes[0] == others[0] else section
        flip_axes = tuple(a for a, f in ((1, self.flips[0]), (0, self.flips[1])) if f)
        oriented: npt.NDArray[Any] = np.flip(image, axis=flip_axes) if flip_axes else image
        return oriented

    def insert(self, array: npt.NDArray[Any], frame: int, image: npt.NDArray[Any]) -> None:
        """Write a 2-D image [y, x] (height x width) into one frame of the volume array, in place."""
        if image.shape != (self.height, self.width):
            raise ValidationError(
                f"{self.plane.value} frame {frame} is {self.height} x {self.width} px (rows x columns); "
                f"found an image of shape {image.shape}",
                field="image",
                value=image.shape,
            )
        self.stack(array)[self._frame_index(frame)] = image

    def to_voxel(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Plane points (..., 3) as (frame, x, y) -> continuous voxel indices (..., 3) as (i, j, k)."""
        fxy = np.asarray(points, dtype=np.float64)
        self._check_points(fxy)
        shape = self.grid.shape
        out = np.empty_like(fxy)
        frame = fxy[..., 0] - self.frame_base
        coords = (fxy[..., 1] - 0.5, fxy[..., 2] - 0.5, frame)  # voxel centres are at integer indices
        for d in range(3):
            axis = self.axes[d]
            value = coords[d]
            out[..., axis] = (shape[axis] - 1) - value if self.flips[d] else value
        return out

    def from_voxel(self, voxels: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Continuous voxel indices (..., 3) as (i, j, k) -> plane points (..., 3) as (frame, x, y)."""
        ijk = np.asarray(voxels, dtype=np.float64)
        self._check_points(ijk)
        shape = self.grid.shape
        coords = []
        for d in range(3):
            axis = self.axes[d]
            value = ijk[..., axis]
            coords.append((shape[axis] - 1) - value if self.flips[d] else value)
        out = np.empty_like(ijk)
        out[..., 0] = coords[2] + self.frame_base
        out[..., 1] = coords[0] + 0.5
        out[..., 2] = coords[1] + 0.5
        return out

    def to_lps(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Plane points (..., 3) as (frame, x, y) -> patient LPS mm (..., 3)."""
        ijk = self.to_voxel(points)
        affine = self.grid.affine_lps
        return np.asarray(ijk @ affine[:3, :3].T + affine[:3, 3], dtype=np.float64)

    def from_lps(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Patient LPS mm (..., 3) -> plane points (..., 3) as (frame, x, y); frame may be fractional."""
        lps = np.asarray(points, dtype=np.float64)
        self._check_points(lps)
        affine = self.grid.affine_lps
        ijk = np.linalg.solve(affine[:3, :3], (lps - affine[:3, 3]).reshape(-1, 3).T).T.reshape(lps.shape)
        return self.from_voxel(ijk)

    def _frame_index(self, frame: int) -> int:
        index = int(frame) - self.frame_base
        if not 0 <= index < self.frames or int(frame) != frame:
            last = self.frames - 1 + self.frame_base
            raise ValidationError(
                f"{self.plane.value} frame {frame!r} is out of range {self.frame_base}..{last}",
                field="frame",
                value=frame,
            )
        return index

    def _check_volume_array(self, array: npt.NDArray[Any]) -> None:
        if tuple(array.shape[:3]) != self.grid.shape or array.ndim != 3:
            raise ValidationError(
                f"array shape {array.shape} differs from the volume grid {self.grid.shape}",
                field="array",
                value=array.shape,
            )

    @staticmethod
    def _check_points(points: npt.NDArray[np.float64]) -> None:
        if points.ndim == 0 or points.shape[-1] != 3:
            raise ValidationError(
                f"points need 3 coordinates on the last axis, found shape {points.shape}",
                field="points",
                value=points.shape,
            )


def plane_views(
    volume: Volume | Grid, *, frame_base: int = 0, slice_order: str | SliceOrder = SliceOrder.ASCENDING
) -> dict[PlaneGroup, PlaneView]:
    """The three views of a volume, keyed by plane."""
    return {g: PlaneView.of(volume, g, frame_base=frame_base, slice_order=slice_order) for g in PlaneGroup}
