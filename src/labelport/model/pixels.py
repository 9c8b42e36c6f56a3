"""Pixels loaded on demand: a 2-D mask plane or a 3-D label volume behind a loader.

Readers hand masks over without decoding them (an Encord RLE string, a NIfTI file, a blob in the store):
``Pixels(load, key)`` decodes on first use and keeps the array. The model stays pure: the loader does any
I/O, and ``key`` (a digest, a file name, the encoded string) identifies the content cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import ValidationError
from labelport.model._checks import non_empty

Array = npt.NDArray[Any]


@dataclass(frozen=True, slots=True, eq=False)
class Pixels:
    """An array (mask plane [row, column], or label volume [column, row, slice]) loaded once, on first use.

    Two ``Pixels`` are equal when their keys are equal, or else when their arrays are (same shape and values).
    """

    load: Callable[[], Array] = field(repr=False)
    key: str
    _cache: list[Array] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        non_empty(self.key, "pixels key")

    @classmethod
    def of(cls, array: npt.ArrayLike, key: str | None = None) -> Pixels:
        """Pixels of an array already in memory (its key: the given one, or a digest of the content)."""
        held = np.asarray(array)
        if key is None:
            import hashlib

            key = f"array:{held.dtype.str}:{held.shape}:{hashlib.sha256(held.tobytes()).hexdigest()}"
        pixels = cls(lambda: held, key)
        pixels._cache.append(held)
        return pixels

    def array(self) -> Array:
        """The array, decoded on the first call; a loader that fails raises ValidationError naming the key."""
        if not self._cache:
            try:
                loaded = np.asarray(self.load())
            except ValidationError:
                raise
            except (OSError, ValueError) as exc:
                raise ValidationError(f"cannot load pixels {self.key!r}: {exc}", field="mask", value=self.key) from exc
            self._cache.append(loaded)
        return self._cache[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pixels):
            return NotImplemented
        if self.key == other.key:
            return True
        a, b = self.array(), other.array()
        return a.shape == b.shape and bool(np.array_equal(a, b))

    def __hash__(self) -> int:
        # Equal pixels may have different keys, so only what equality implies goes into the hash.
        return hash(self.array().shape)


__all__ = ["Array", "Pixels"]
