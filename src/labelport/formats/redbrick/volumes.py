"""Segmentation files of a series, checked and put on the series grid before they are merged.

RedBrick merges files by array index and checks none of this (notes/redbrick.md §2, §5). Each check here is
an error naming the file and the values found:

- the file is NIfTI-1/2 (or a PNG mask, with ``pngMask``) holding a 3-D volume;
- its shape is the series' (columns x rows x slices, the DICOM instance count), up to axis order;
- it lies on the series grid: a NIfTI whose affine is the series' in another axis order or with flipped
  axes is reoriented onto it (nibabel orientations, never resampled, never copied by index); an affine
  that disagrees beyond the tolerance is refused, showing both; a dummy affine (+-1 diagonal, zero
  origin, as RedBrick's own PNG and RTSTRUCT conversions write) with the series shape is taken by index;
- its values are whole numbers from 0 to 65535 (RedBrick rounds fractions and wraps negative values).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError
from labelport.formats.redbrick.merge import MAX_VALUE, nonzero_values, slabs
from labelport.formats.redbrick.segment_map import RecordError
from labelport.imaging.nifti import AFFINE_TOLERANCE, place_on_grid
from labelport.imaging.volume import LPS_TO_RAS, Grid

Array = npt.NDArray[Any]
SHOWN = 5  # offending values listed in a message
READ_CHUNK = 1 << 24


def _nib() -> Any:
    import nibabel

    return nibabel


def format_affine(affine: npt.NDArray[np.float64]) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{v:g}" for v in np.round(row, 4)) + "]" for row in affine) + "]"


@dataclass(eq=False)
class SegmentationFile:
    """One segmentation file of a series (``name`` as the items list gives it), read onto ``grid``.

    ``inspect`` checks it and returns its non-zero values; ``load`` gives its voxels on the grid as a fresh
    array (the merge's ``LabelFile``). With ``keep``, the array of ``inspect`` is kept for the first ``load``
    (a series with one file is then read once).
    """

    name: str
    path: Path
    grid: Grid
    what: str
    png: bool = False
    tolerance: float = AFFINE_TOLERANCE
    keep: bool = False
    instances: int | None = None
    shape: tuple[int, ...] | None = None
    _kept: list[Array] = field(default_factory=list, repr=False)

    def header_shape(self) -> tuple[int, ...]:
        """The array shape the file declares (read from the header only)."""
        if self.shape is None:
            if self.png:
                from PIL import Image

                with Image.open(self.path) as image:
                    self.shape = (image.width, image.height, 1)
            else:
                self.shape = tuple(int(s) for s in self._image().shape)
        return self.shape

    def _image(self) -> Any:
        try:
            image = _nib().load(str(self.path))
        except Exception as exc:  # nibabel raises ImageFileError, OSError, EOFError, zlib errors
            raise RecordError(f"{self.what}: segmentation {self.name!r} is not a readable NIfTI file ({exc})") from None
        nib = _nib()
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise RecordError(
                f"{self.what}: segmentation {self.name!r} is {type(image).__name__}, not NIfTI-1 or NIfTI-2"
            )
        return image

    def _placed(self) -> Array:
        shape = self.header_shape()
        if len(shape) != 3:
            raise RecordError(
                f"{self.what}: segmentation {self.name!r} has {len(shape)} dimensions (shape {shape}); it must be a "
                "3-D volume [column, row, slice]",
                value=list(shape),
            )
        if sorted(shape) != sorted(self.grid.shape):
            raise RecordError(f"{self.what}: {self._shape_mismatch(shape)}", value=list(shape))
        if self.png:
            return self._png()
        image = self._image()
        try:
            placed = place_on_grid(_in_memory(image, self.path), self.grid, atol=self.tolerance)
        except MediaError:
            ras = np.asarray(image.affine, dtype=np.float64)
            raise RecordError(
                f"{self.what}: segmentation {self.name!r} does not lie on the series grid: its affine (RAS) is "
                f"{format_affine(ras)}, the series' {format_affine(LPS_TO_RAS @ self.grid.affine_lps)} "
                f"(tolerance {self.tolerance:g} mm)",
                value=ras.tolist(),
            ) from None
        return placed.array

    def _shape_mismatch(self, shape: tuple[int, ...]) -> str:
        columns, rows, slices = self.grid.shape
        if tuple(shape[:2]) == (columns, rows) and shape[2] != slices:
            count = f" ({self.instances} DICOM instances)" if self.instances is not None else ""
            return f"segmentation {self.name!r} has {shape[2]} slices but the series has {slices}{count}"
        return (
            f"segmentation {self.name!r} has shape {shape}; the series is {columns} columns x {rows} rows x "
            f"{slices} slices"
        )

    def _png(self) -> Array:
        from PIL import Image

        with Image.open(self.path) as image:
            pixels = np.asarray(image.convert("RGBA") if image.mode in ("P", "LA", "PA") else image)
        on = pixels.any(axis=2) if pixels.ndim == 3 else pixels != 0
        # RedBrick's convert_png_to_nii: x (column) first, y (row) second, one slice.
        return np.ascontiguousarray(on.T, dtype=np.uint8)[:, :, np.newaxis]

    def _streamed(self) -> StreamedLabels | None:
        """The file read slab by slab when it needs no work on the way: uint8 or uint16 labels exactly on the
        grid (shape and affine), unscaled. Anything else (reorientation, other types) is read whole."""
        if self.png or self.keep or self.header_shape() != self.grid.shape:
            return None
        image = self._image()
        header = image.header
        dtype = header.get_data_dtype()
        slope, inter = header.get_slope_inter()
        if (
            dtype not in (np.dtype(np.uint8), np.dtype(np.uint16))
            or slope not in (None, 1.0)
            or inter
            not in (
                None,
                0.0,
            )
        ):
            return None
        if not np.allclose(image.affine, LPS_TO_RAS @ self.grid.affine_lps, atol=self.tolerance, rtol=0):
            return None
        offset = int(getattr(image.dataobj, "offset", 0) or header["vox_offset"])
        return StreamedLabels(self.path, self.grid.shape, dtype, offset, self.name)

    def inspect(self) -> frozenset[int]:
        """Check the file (shape, grid, values) and return its non-zero values; raises RecordError."""
        streamed = self._streamed()
        if streamed is not None:  # uint8/uint16: nothing to check but the grid, done from the header
            return nonzero_values(cast(Array, streamed))  # it slices as an array does
        array = self._placed()
        check_values(array, self.name, self.what)
        labels = as_labels(array)
        values = nonzero_values(labels)
        if self.keep:
            self._kept.append(labels)
        return values

    def load(self) -> Array:
        """The voxels on the grid: a fresh array, or (a file needing no work) its slabs read as they are asked
        for, so the merge never holds a later file whole."""
        if self._kept:
            return self._kept.pop()
        streamed = self._streamed()
        if streamed is not None:
            return cast(Array, streamed)  # the merge slices it as an array
        return as_labels(self._placed())


class StreamedLabels:
    """A label file's voxels [column, row, slice] read in slabs of slices, in order, from the file (gzip
    decompressed as it goes, restarted when an earlier slab is asked for): ``labels[..., k0:k1]`` gives an
    array. ``np.asarray`` reads it whole."""

    ndim = 3

    def __init__(self, path: Path, shape: tuple[int, int, int], dtype: np.dtype[Any], offset: int, name: str):
        self.path = path
        self.shape = shape
        self.dtype = dtype
        self.offset = offset
        self.name = name
        self._stream: Any = None
        self._next = 0

    def _open(self) -> None:
        import gzip

        self.close()
        with self.path.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        # closed when the last slab is read, or by close(): the stream lives across __getitem__ calls
        self._stream = gzip.open(self.path, "rb") if gzipped else self.path.open("rb")  # noqa: SIM115
        self._stream.seek(self.offset)
        self._next = 0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __getitem__(self, key: Any) -> Array:
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] is Ellipsis and isinstance(key[1], slice)):
            raise TypeError(f"streamed labels are read as labels[..., start:stop], not {key!r}")
        start, stop, _ = key[1].indices(self.shape[2])
        if self._stream is None or start < self._next:
            self._open()
        plane = self.shape[0] * self.shape[1] * self.dtype.itemsize
        if start > self._next:
            self._stream.seek(self.offset + start * plane)  # gzip seeks forward by reading
        data = np.empty((self.shape[0], self.shape[1], max(stop - start, 0)), dtype=self.dtype, order="F")
        view = memoryview(data.T.data).cast("B")
        position = 0
        while position < len(view):
            read = self._stream.readinto(view[position : position + READ_CHUNK])
            if not read:
                raise RecordError(f"segmentation {self.name!r} ends before its data does")
            position += read
        self._next = stop
        if stop >= self.shape[2]:
            self.close()
        return data

    def __array__(self, dtype: Any = None, copy: Any = None) -> Array:
        whole = self[..., 0 : self.shape[2]]
        return whole if dtype is None else whole.astype(dtype)


def _in_memory(image: Any, path: Path) -> Any:
    """The image with its voxels read once into one array.

    nibabel reads a gzipped file's data by decompressing all of it into a bytes object and copying that
    into the array (twice the volume at once); here the data is decompressed in chunks straight into the
    array. Uncompressed files (memory-mapped by nibabel) and scaled data are left to nibabel.
    """
    header = image.header
    slope, inter = header.get_slope_inter()
    with path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    if not gzipped or slope not in (None, 1.0) or inter not in (None, 0.0):
        return image
    import gzip

    shape = tuple(int(s) for s in image.shape)
    data = np.empty(shape, dtype=header.get_data_dtype(), order="F")
    # The transpose of an F-order array is C-contiguous over the same bytes, in the order the file holds them.
    view = memoryview(data.T.data).cast("B")
    with gzip.open(path, "rb") as stream:
        # The proxy knows where the data starts (a loaded header may report offset 0).
        stream.seek(int(getattr(image.dataobj, "offset", 0) or header["vox_offset"]))
        position = 0
        while position < len(view):
            read = stream.readinto(view[position : position + READ_CHUNK])
            if not read:
                raise RecordError(f"segmentation {path.name!r} ends before its data does ({position} bytes read)")
            position += read
    return (
        _nib().Nifti1Image(data, image.affine, header)
        if isinstance(image, _nib().Nifti1Image)
        else _nib().Nifti2Image(data, image.affine, header)
    )


def check_values(array: Array, name: str, what: str) -> None:
    """Whole numbers 0..65535 only, slab by slab; otherwise a RecordError naming the values found."""
    if array.dtype in (np.uint8, np.uint16, np.bool_):
        return
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise RecordError(f"{what}: segmentation {name!r} holds {array.dtype} values, not integers")
    fractions: set[float] = set()
    negative: set[float] = set()
    large: set[float] = set()
    floating = np.issubdtype(array.dtype, np.floating)
    for part in slabs(array.shape):
        block = array[..., part]
        if floating:
            bad = block[~np.isfinite(block) | (block != np.round(block))]
            fractions.update(float(v) for v in np.unique(bad)[:SHOWN])
        negative.update(float(v) for v in np.unique(block[block < 0])[:SHOWN])
        large.update(float(v) for v in np.unique(block[block > MAX_VALUE])[:SHOWN])
    for found, kind in (
        (fractions, "non-integer values"),
        (negative, "negative values"),
        (large, f"values above {MAX_VALUE}"),
    ):
        if found:
            shown = ", ".join(f"{v:g}" for v in sorted(found)[:SHOWN])
            raise RecordError(
                f"{what}: segmentation {name!r} holds {kind} ({shown}); a segmentation holds whole numbers "
                f"0..{MAX_VALUE} (RedBrick would round or wrap them)",
                value=sorted(found)[:SHOWN],
            )


def as_labels(array: Array) -> Array:
    """Checked values as uint8 (all below 256) or uint16, without a copy when they already are."""
    if array.dtype in (np.uint8, np.uint16):
        return array
    if array.dtype == np.bool_:
        return array.view(np.uint8)
    top = max((int(array[..., p].max(initial=0)) for p in slabs(array.shape)), default=0)
    return array.astype(np.uint8 if top < 256 else np.uint16)


def files_differ(files: list[SegmentationFile]) -> Iterator[str]:
    """Messages for files whose shape is not the first file's (up to axis order, which the grid settles)."""
    first = files[0]
    for other in files[1:]:
        if sorted(other.header_shape()) != sorted(first.header_shape()):
            yield (
                f"segmentation {other.name!r} has shape {other.header_shape()} but {first.name!r} (the first "
                f"file) has {first.header_shape()}"
            )


__all__ = ["SegmentationFile", "as_labels", "check_values", "files_differ", "format_affine"]
