"""The bitmasks of one Encord DICOM label row as one label volume on the series grid.

Every mask object of the row gets a value; where objects overlap, the voxels get a value of their own for
that set of objects, and each object owns the values of every set it is in (``VolumeMask.values``). So one
volume holds all the row's masks, overlaps included, however many slices and objects there are.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.model.pixels import Pixels


class MaskVolume:
    """A label volume [column, row, slice] built one object's slice mask at a time."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.array: npt.NDArray[Any] = np.zeros(shape, dtype=np.uint8)
        self.sets: list[frozenset[int]] = [frozenset()]  # value -> the objects its voxels belong to
        self.index: dict[frozenset[int], int] = {frozenset(): 0}

    def _value(self, objects: frozenset[int]) -> int:
        value = self.index.get(objects)
        if value is None:
            value = self.index[objects] = len(self.sets)
            self.sets.append(objects)
            if value > np.iinfo(self.array.dtype).max:
                self.array = self.array.astype(np.uint16 if value <= 0xFFFF else np.uint32)
        return value

    def add(self, obj: int, k: int, mask: npt.NDArray[np.bool_]) -> None:
        """Add object ``obj``'s mask [row, column] on grid slice ``k``."""
        selected = mask.T
        plane = self.array[:, :, k]
        existing = plane[selected]
        updated = existing.copy()
        for value in np.unique(existing):
            updated[existing == value] = self._value(self.sets[int(value)] | {obj})
        plane[selected] = updated

    def values_of(self, obj: int) -> tuple[int, ...]:
        return tuple(value for value, objects in enumerate(self.sets) if obj in objects)

    def pixels(self) -> Pixels:
        digest = hashlib.sha256(self.array.tobytes()).hexdigest()
        return Pixels.of(self.array, f"encord-volume:{self.array.shape}:{digest}")


__all__ = ["MaskVolume"]
