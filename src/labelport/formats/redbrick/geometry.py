"""Where RedBrick's points are on a series, and where ours go: voxel points, image points, planes.

- A ``VoxelPoint`` ``{i, j, k}`` is a continuous voxel index on the series grid: i the column, j the row, k
  the slice in sorted order (notes/redbrick.md §5.7-5.8), integers at voxel centres, so its patient position
  is ``affine @ (i, j, k, 1)`` (LPS mm, RedBrick's ``absolutePoint``).
- A 2-D point ``{xNorm, yNorm}`` on slice ``frameIndex`` is in the image of that DICOM slice: ``xNorm *
  columns`` and ``yNorm * rows`` are continuous pixel coordinates (pixel (c, r) covers [c, c+1)).
- labelport keeps objects on one slice of a plane (axial, sagittal, coronal): a point or measurement goes to
  the acquisition plane when its points share a slice, else to the plane whose slice they share; 2-D objects
  to the acquisition plane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.formats.redbrick import fields as f
from labelport.formats.redbrick.segment_map import RecordError
from labelport.imaging.planes import PlaneView
from labelport.imaging.volume import Grid
from labelport.model.media import PlaneGroup

Points = npt.NDArray[np.float64]
_FRAME_TOLERANCE = 1e-6


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not np.isfinite(raw):
        raise RecordError(f"{where}: expected a number, found {raw!r}", where, raw)
    return float(raw)


def _triple(raw: Any, names: tuple[str, str, str], where: str) -> Points:
    if not isinstance(raw, dict) or any(n not in raw for n in names):
        raise RecordError(f"{where}: expected {{{', '.join(names)}}}, found {raw!r}", where, raw)
    return np.array([_number(raw[n], f"{where}.{n}") for n in names], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SeriesGeometry:
    """A series' grid with its three plane views and its acquisition plane (the one along the slices)."""

    grid: Grid
    views: dict[PlaneGroup, PlaneView]
    acquisition: PlaneGroup

    @classmethod
    def of(cls, grid: Grid) -> SeriesGeometry:
        views = {g: PlaneView.of(grid, g) for g in PlaneGroup}
        acquisition = next((g for g, v in views.items() if v.axes[2] == 2), PlaneGroup.AXIAL)
        return cls(grid, views, acquisition)

    @property
    def is_volume(self) -> bool:
        return self.grid.shape[2] > 1

    # --- import ------------------------------------------------------------------------------------

    def voxel(self, point: Any, absolute: Any, where: str, absolute_where: str) -> Points:
        """A VoxelPoint, from ``point`` or else ``absolute`` (LPS mm); both given must agree within a voxel."""
        if point is None and absolute is None:
            raise RecordError(f"{where}: the point is missing", where, None)
        affine = self.grid.affine_lps
        if point is not None:
            ijk = _triple(point, (f.I, f.J, f.K), where)
            if absolute is not None:
                given = _triple(absolute, (f.X, f.Y, f.Z), absolute_where)
                computed = affine[:3, :3] @ ijk + affine[:3, 3]
                reach = float(np.linalg.norm(self.grid.spacing))
                if float(np.linalg.norm(computed - given)) > reach:
                    raise RecordError(
                        f"{absolute_where}: {_show(given)} mm is not where voxel point {_show(ijk)} lies on "
                        f"this series: that is {_show(computed)} mm, more than a voxel ({reach:.3g} mm) away",
                        absolute_where,
                        absolute,
                    )
            return ijk
        lps = _triple(absolute, (f.X, f.Y, f.Z), absolute_where)
        return np.asarray(np.linalg.solve(affine[:3, :3], lps - affine[:3, 3]), dtype=np.float64)

    def image_voxels(self, xy_norm: list[tuple[float, float]], frame: int, where: str) -> Points:
        """Continuous voxel indices of 2-D image points (normalised x, y) on sorted slice ``frame``."""
        columns, rows, slices = self.grid.shape
        if not 0 <= frame < slices:
            raise RecordError(
                f"{where}: slice {frame} is out of range: the series has slices 0..{slices - 1}", where, frame
            )
        return np.array([(x * columns - 0.5, y * rows - 0.5, float(frame)) for x, y in xy_norm], dtype=np.float64)

    def place(
        self, ijk: Points, where: str, *, planes: tuple[PlaneGroup, ...] | None = None
    ) -> tuple[PlaneGroup, int, list[tuple[float, float]]]:
        """The plane, frame and in-plane points (continuous pixels) of voxel points that share a slice."""
        order = planes or (self.acquisition, *[g for g in PlaneGroup if g is not self.acquisition])
        for group in order:
            view = self.views[group]
            plane = view.from_voxel(ijk)
            frames = plane[:, 0]
            frame = float(np.round(frames[0]))
            if np.all(np.abs(frames - frame) <= _FRAME_TOLERANCE) and 0 <= frame < view.frames:
                return group, int(frame), [(float(x), float(y)) for x, y in plane[:, 1:]]
        shown = ", ".join(_show(p) for p in ijk)
        raise RecordError(
            f"{where}: voxel point(s) {shown} do not lie on one slice of a plane; labelport keeps points and "
            "measurements on a slice (axial, sagittal or coronal)",
            where,
            ijk.tolist(),
        )

    # --- export ------------------------------------------------------------------------------------

    def to_voxels(self, group: PlaneGroup, frame: int, points: list[tuple[float, float]]) -> Points:
        view = self.views[group]
        return view.to_voxel([(frame, x, y) for x, y in points])

    def to_lps(self, ijk: Points) -> Points:
        affine = self.grid.affine_lps
        return np.asarray(ijk @ affine[:3, :3].T + affine[:3, 3], dtype=np.float64)

    def normal(self, group: PlaneGroup) -> list[float]:
        """The plane's normal as a voxel axis (``[0, 0, 1]``: the acquisition plane)."""
        out = [0.0, 0.0, 0.0]
        out[self.views[group].axes[2]] = 1.0
        return out

    def on_acquisition_slice(
        self, group: PlaneGroup, frame: int, points: list[tuple[float, float]]
    ) -> tuple[int, list[tuple[float, float]]] | None:
        """(sorted slice, normalised image points) of points on a plane, or None if the plane is not along the
        slices (an object drawn on a reformatted plane has no DICOM image)."""
        if self.views[group].axes[2] != 2:
            return None
        columns, rows, _ = self.grid.shape
        ijk = self.to_voxels(group, frame, points)
        slice_index = int(np.round(ijk[0, 2]))
        return slice_index, [((i + 0.5) / columns, (j + 0.5) / rows) for i, j in ijk[:, :2]]


def voxel_json(ijk: Points) -> dict[str, float | int]:
    return {name: _clean(v) for name, v in zip((f.I, f.J, f.K), ijk, strict=True)}


def world_json(lps: Points) -> dict[str, float | int]:
    return {name: _clean(v) for name, v in zip((f.X, f.Y, f.Z), lps, strict=True)}


def _clean(value: float) -> float | int:
    """Round-off of the plane mapping removed (1e-9), whole numbers as ints (RedBrick writes both)."""
    rounded = round(float(value), 9)
    return int(rounded) if rounded == int(rounded) else rounded


def clean(value: float) -> float | int:
    return _clean(value)


def _show(values: Points) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


__all__ = ["SeriesGeometry", "clean", "voxel_json", "world_json"]
