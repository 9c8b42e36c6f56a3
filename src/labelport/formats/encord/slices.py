"""Where the slices of an Encord DICOM (or NIfTI) label row sit on labelport's volume grid and planes.

An Encord DICOM label row is one series; its frames are slices in Encord's display order, which the
client never sees (notes/encord.md section 3.1). Each labelled slice names its instance in
``metadata.dicom_instance_uid`` (and ``multiframe_frame_number`` for a frame of a multi-frame file), and
labelport's data row keeps the SOPInstanceUID of each slice in grid order (``media_attributes.instance_uids``,
``UID#frame`` for a frame of a multi-frame file). So an Encord slice is matched to grid slice k by its UID,
whatever order Encord listed the slices in; by its index only when the row names no UIDs.

A slice image is the instance's own pixels: its columns are voxel axis 0 and its rows voxel axis 1 of the
grid, slice k is voxel index k on axis 2. Geometry drawn on it lands on the patient-aligned plane whose
frames run along the slice axis (axial for an axial acquisition, sagittal for a sagittal one), through
``PlaneView``: the plane may show the image flipped or transposed, and count its frames the other way.
Masks go straight into the label volume at ``[:, :, k]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.imaging.grids import grid_from_attributes
from labelport.imaging.planes import PlaneView
from labelport.model.annotation import FrameRange
from labelport.model.geometry import (
    Ellipse,
    Geometry,
    Line,
    Mask,
    Point,
    Polygon,
    Rectangle,
    RotatedRectangle,
    Skeleton,
)
from labelport.model.media import MediaAttributes, PlaneGroup

SLICE_AXIS = 2


def instance_key(uid: str, frame_number: int | None) -> str:
    """A slice's name as labelport keeps it: the SOPInstanceUID, ``UID#n`` for frame n of a multi-frame file."""
    return uid if frame_number is None else f"{uid}#{frame_number}"


@dataclass(frozen=True, eq=False)
class SliceMap:
    """The slices of one series: Encord's slice images <-> grid slices <-> frames of the slice plane."""

    view: PlaneView
    uids: tuple[str, ...] | None
    columns: int
    rows: int
    slices: int
    linear: tuple[tuple[float, float], tuple[float, float]]  # slice image (x, y) direction -> plane (x, y)

    @classmethod
    def of(cls, attributes: MediaAttributes) -> SliceMap:
        grid = grid_from_attributes(attributes)
        view = next(
            v for v in (PlaneView.of(grid, g) for g in PlaneGroup) if v.axes[2] == SLICE_AXIS
        )  # exactly one plane's frames run along the slice axis: each voxel axis has its own nearest patient axis
        origin = view.from_voxel([0.0, 0.0, 0.0])
        along_x = view.from_voxel([1.0, 0.0, 0.0]) - origin
        along_y = view.from_voxel([0.0, 1.0, 0.0]) - origin
        linear = ((float(along_x[1]), float(along_y[1])), (float(along_x[2]), float(along_y[2])))
        columns, rows, slices = grid.shape
        return cls(view, attributes.instance_uids, columns, rows, slices, linear)

    @property
    def plane(self) -> PlaneGroup:
        return self.view.plane

    # --- slices -----------------------------------------------------------------------------------------

    def slice_of(self, index: int, uid: str | None, frame_number: int | None) -> int:
        """Grid slice k of Encord's slice ``index`` named ``uid``: by the UID when given, else by the index."""
        if uid is not None:
            if not self.uids:
                raise ValidationError(
                    f"slice {index} names instance {uid}, but the data row keeps no instance UIDs to match it to",
                    field="dicom_instance_uid",
                    value=uid,
                )
            key = instance_key(uid, frame_number)
            try:
                return self.uids.index(key)
            except ValueError:
                raise ValidationError(
                    f"slice {index} names instance {key}, which is not in the series",
                    field="dicom_instance_uid",
                    value=key,
                ) from None
        if not 0 <= index < self.slices:
            raise ValidationError(
                f"slice {index} is beyond the series, which has slices 0 to {self.slices - 1}",
                field="frame",
                value=index,
            )
        return index

    def uid_of(self, k: int) -> tuple[str, int | None] | None:
        """The instance UID (and multi-frame frame number) of grid slice k, when the row keeps them."""
        if not self.uids:
            return None
        uid, _, frame = self.uids[k].partition("#")
        return uid, int(frame) if frame else None

    def frame_of(self, k: int) -> int:
        """The frame of the slice plane that shows grid slice k."""
        return self.slices - 1 - k if self.view.flips[2] else k

    def slice_of_frame(self, frame: int) -> int:
        return self.slices - 1 - frame if self.view.flips[2] else frame

    def frames_of(self, slices: Iterable[int]) -> tuple[FrameRange, ...]:
        return ranges(self.frame_of(k) for k in slices)

    # --- geometry -----------------------------------------------------------------------------------------

    def _to_plane(self, point: Point) -> Point:
        # The plane's x and y are the slice image's columns and rows, maybe swapped and flipped: with the
        # continuous pixel convention a flip of an axis of n pixels is n - value (PlaneView.from_voxel).
        source = (point.x, point.y)
        mapped = []
        for d in (0, 1):
            axis = self.view.axes[d]
            value = source[axis]
            mapped.append(self.view.grid.shape[axis] - value if self.view.flips[d] else value)
        return Point(mapped[0], mapped[1])

    def _from_plane(self, point: Point) -> Point:
        plane = (point.x, point.y)
        source = [0.0, 0.0]
        for d in (0, 1):
            axis = self.view.axes[d]
            source[axis] = self.view.grid.shape[axis] - plane[d] if self.view.flips[d] else plane[d]
        return Point(source[0], source[1])

    def to_plane(self, geometry: Geometry) -> Geometry:
        """Geometry drawn on a slice image, on the slice plane (grid slice k is its frame ``frame_of(k)``)."""
        (a, b), (c, d) = self.linear
        return _mapped(geometry, self._to_plane, (a, b, c, d))

    def from_plane(self, geometry: Geometry) -> Geometry:
        """Geometry on a frame of the slice plane, on the image of its grid slice."""
        (a, b), (c, d) = self.linear
        # The linear part is a signed permutation: its inverse is its transpose.
        return _mapped(geometry, self._from_plane, (a, c, b, d))

    def insert(self, volume: npt.NDArray[np.uint8], k: int, mask: npt.NDArray[np.bool_], value: int) -> None:
        """Set ``value`` where the slice image ``mask`` [row, column] is set, in grid slice k."""
        if mask.shape != (self.rows, self.columns):
            raise ValidationError(
                f"mask is {mask.shape[1]} x {mask.shape[0]} px but the slices are {self.columns} x {self.rows}",
                field="bitmask",
                value=[int(mask.shape[1]), int(mask.shape[0])],
            )
        volume[:, :, k][mask.T] = value

    @staticmethod
    def extract(selected: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.bool_]:
        """The slice image [row, column] of grid slice k of a boolean volume."""
        image: npt.NDArray[np.bool_] = selected[:, :, k].T
        return image


def _turned(
    width: float, height: float, angle: float, m: tuple[float, float, float, float]
) -> tuple[float, float, float]:
    """Size and angle of a box (or ellipse) under the signed permutation ``m``, exactly.

    A box is the same box turned by 180 degrees, so a flip negates the angle, and a transposition swaps the
    sides and negates it too (the side of ``height`` now runs at minus the angle).
    """
    a, b, c, d = m
    if b == 0 and c == 0:
        return width, height, angle if a * d > 0 else -angle
    return height, width, -angle if b * c > 0 else angle


def _mapped(geometry: Geometry, point: Callable[[Point], Point], m: tuple[float, float, float, float]) -> Geometry:
    if isinstance(geometry, Point):
        return point(geometry)
    if isinstance(geometry, Rectangle):
        return Rectangle(point(geometry.start), point(geometry.end))
    if isinstance(geometry, Polygon):
        return Polygon(tuple(point(p) for p in geometry.points))
    if isinstance(geometry, Line):
        return Line(tuple(point(p) for p in geometry.points))
    if isinstance(geometry, RotatedRectangle):
        return RotatedRectangle(point(geometry.center), *_turned(geometry.width, geometry.height, geometry.angle, m))
    if isinstance(geometry, Ellipse):
        return Ellipse(point(geometry.center), *_turned(geometry.radius_x, geometry.radius_y, geometry.angle, m))
    if isinstance(geometry, Skeleton):
        nodes = tuple(type(n)(n.name, point(n.point), n.visible) for n in geometry.nodes)
        return Skeleton(nodes, geometry.edges)
    if isinstance(geometry, Mask):
        raise ValidationError("masks on a series are label volumes, not plane geometry", field="bitmask")
    raise ValidationError(f"cannot place {type(geometry).__name__} on a plane", field="shape")


def ranges(frames: Iterable[int]) -> tuple[FrameRange, ...]:
    """Inclusive ranges of consecutive frames."""
    ordered = sorted(set(frames))
    out: list[FrameRange] = []
    for frame in ordered:
        if out and out[-1].end == frame - 1:
            out[-1] = FrameRange(out[-1].start, frame)
        else:
            out.append(FrameRange(frame, frame))
    return tuple(out)


def frames_in(spans: Sequence[FrameRange]) -> list[int]:
    return [f for span in spans for f in range(span.start, span.end + 1)]


__all__ = ["SliceMap", "frames_in", "instance_key", "ranges"]
