"""NIfTI images and label maps (nibabel), and putting a NIfTI onto a Volume's grid without resampling.

NIfTI world space is RAS: ``affine_ras = diag(-1, -1, 1, 1) @ affine_lps``. Array axes stay
[column, row, slice] of the DICOM series, as SimpleITK, 3D Slicer and RedBrick's SEG export write them.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

import nibabel
import numpy as np
import numpy.typing as npt

from labelport.errors import MediaError, ValidationError
from labelport.imaging.volume import LPS_TO_RAS, Grid, Volume

# 1e-3 mm: far below any voxel size, far above float32 round-off of scanner coordinates.
AFFINE_TOLERANCE = 1e-3
_NIFTI_SCANNER = 1  # NIfTI xform code "scanner anatomical"

PathLike = str | os.PathLike[str]
# nibabel's image API is untyped; route calls through one Any alias so the rest stays strictly typed.
nib: Any = nibabel
NiftiImage = nibabel.Nifti1Image


class Placement(StrEnum):
    """How a NIfTI was put onto a Volume's grid."""

    EXACT = "exact"
    REORIENTED = "reoriented"
    BY_INDEX = "by_index"


@dataclass(frozen=True, eq=False)
class PlacedArray:
    """A NIfTI's voxels on a target grid: axes [column, row, slice] of the grid."""

    array: npt.NDArray[Any]
    placement: Placement
    warnings: tuple[str, ...] = ()


def to_nifti_image(volume: Volume) -> NiftiImage:
    """A Nifti1Image of the volume: RAS affine in sform and qform (scanner), rescale in scl_slope/inter."""
    if _has_rescale(volume):
        # nibabel recomputes scl_slope/inter for in-memory arrays; a proxy over our own bytes keeps
        # the stored integers and the DICOM rescale exactly, as dcm2niix writes them.
        return cast(NiftiImage, nib.Nifti1Image.from_bytes(_nifti_bytes(volume)))
    image = nib.Nifti1Image(volume.array, volume.affine_ras)
    _set_header(image, volume.affine_ras)
    return cast(NiftiImage, image)


def write_nifti(volume: Volume, path: PathLike) -> None:
    """Write the volume as a NIfTI image (``.nii`` or ``.nii.gz``)."""
    target = os.fspath(path)
    if not _has_rescale(volume):
        nib.save(to_nifti_image(volume), target)
        return
    payload = _nifti_bytes(volume)
    if target.endswith(".gz"):
        with gzip.open(target, "wb", compresslevel=1) as handle:  # nibabel's default level
            handle.write(payload)
    else:
        with open(target, "wb") as handle:
            handle.write(payload)


def _has_rescale(volume: Volume) -> bool:
    return (volume.rescale_slope, volume.rescale_intercept) != (1.0, 0.0)


def _nifti_bytes(volume: Volume) -> bytes:
    """A single-file NIfTI-1 of the stored values with scl_slope/scl_inter set to the volume's rescale."""
    header: Any = nib.Nifti1Header()
    header.set_data_dtype(volume.array.dtype)
    header.set_data_shape(volume.array.shape)
    header.set_sform(volume.affine_ras, code=_NIFTI_SCANNER)
    header.set_qform(volume.affine_ras, code=_NIFTI_SCANNER)
    header.set_xyzt_units("mm", "sec")
    header.set_data_offset(352)
    header["scl_slope"] = volume.rescale_slope
    header["scl_inter"] = volume.rescale_intercept
    buffer = io.BytesIO()
    header.write_to(buffer)  # 348 bytes plus the 4-byte extension flag of a single-file NIfTI
    buffer.write(np.asarray(volume.array).tobytes(order="F"))
    return buffer.getvalue()


def read_nifti(path: PathLike) -> Volume:
    """Read a 3-D NIfTI image as a Volume (stored values; scl_slope/inter kept as rescale)."""
    image: Any = _load(path)
    proxy = image.dataobj
    # nibabel moves scl_slope/inter from the header into the array proxy when it loads a file.
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    data = np.asanyarray(proxy.get_unscaled() if hasattr(proxy, "get_unscaled") else proxy)
    return Volume(
        array=_as_3d(data, path),
        affine_lps=LPS_TO_RAS @ np.asarray(image.affine, dtype=np.float64),
        rescale_slope=slope if np.isfinite(slope) and slope != 0 else 1.0,
        rescale_intercept=inter if np.isfinite(inter) else 0.0,
    )


def label_map_dtype(labels: npt.NDArray[Any]) -> type[np.unsignedinteger[Any]]:
    """uint8 for labels up to 255, uint16 up to 65535; other values raise ValidationError naming them."""
    if labels.size == 0:
        return np.uint8
    low, high = labels.min(), labels.max()
    if low < 0:
        raise ValidationError(f"label maps hold values >= 0, found {low}", field="labels", value=low)
    if high > 65535:
        raise ValidationError(f"label maps hold values up to 65535, found {high}", field="labels", value=high)
    return np.uint8 if high <= 255 else np.uint16


def label_image(labels: npt.NDArray[Any], grid: Volume | Grid) -> NiftiImage:
    """A label map on ``grid`` as a NIfTI image: uint8, or uint16 when a label is above 255."""
    target = grid.grid if isinstance(grid, Volume) else grid
    if tuple(labels.shape) != target.shape:
        raise ValidationError(
            f"label map shape {tuple(labels.shape)} differs from the grid shape {target.shape}",
            field="labels",
            value=tuple(labels.shape),
        )
    _check_integral(labels, "label map")
    data = labels.astype(label_map_dtype(labels), copy=False)
    image = nib.Nifti1Image(data, target.affine_ras)
    _set_header(image, target.affine_ras)
    image.set_data_dtype(data.dtype)
    return cast(NiftiImage, image)


def write_label_map(labels: npt.NDArray[Any], grid: Volume | Grid, path: PathLike) -> None:
    """Write a label map on the grid of a Volume: uint8, or uint16 when a label is above 255."""
    nib.save(label_image(labels, grid), os.fspath(path))


def encode_label_volume(labels: npt.NDArray[Any], grid: Volume | Grid) -> bytes:
    """A label map on ``grid`` as gzipped single-file NIfTI bytes (RAS affine), built in memory.

    The gzip header carries no time stamp, so the same labels give the same bytes (and one blob): exactly
    ``gzip.compress(image.to_bytes(), compresslevel=1, mtime=0)``, but compressed as nibabel writes, so only
    the compressed bytes are held (never a second copy of the volume).
    """
    sink = _GzipBytes()
    label_image(labels, grid).to_stream(sink)
    return sink.finish()


class _GzipBytes(io.RawIOBase):
    """A write-only stream that gzips what it is given, as ``gzip.compress(data, 1, mtime=0)`` does (zlib's
    gzip wrapper: no time stamp); moving forward writes zeros, as a file would hold them."""

    def __init__(self) -> None:
        super().__init__()
        self._compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._position + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._position:
            raise io.UnsupportedOperation("a gzip stream only moves forward")
        if target > self._position:
            self.write(bytes(target - self._position))
        return self._position

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._parts.append(self._compressor.compress(view))
        self._position += len(view)
        return len(view)

    def finish(self) -> bytes:
        self._parts.append(self._compressor.flush())
        return b"".join(self._parts)


def decode_label_volume(data: bytes) -> npt.NDArray[Any]:
    """The voxels of a label map stored by ``encode_label_volume`` (gzipped or plain NIfTI bytes)."""
    try:
        image = nib.Nifti1Image.from_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    except (OSError, ValueError, EOFError) as exc:
        raise MediaError(f"a stored label volume is not NIfTI ({exc})") from exc
    return np.asarray(image.dataobj)


def read_label_map(source: PathLike | NiftiImage) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """Read a label map: (integer array [i, j, k], RAS affine). Floats must hold whole numbers >= 0."""
    image = source if isinstance(source, NiftiImage) else _load(source)
    name = "<image>" if isinstance(source, NiftiImage) else os.fspath(source)
    data = _as_3d(np.asanyarray(image.dataobj), name)
    _check_integral(data, name)
    if data.size and data.min() < 0:
        raise MediaError(f"{name}: label maps hold values >= 0, found {data.min()}", path=name)
    if not np.issubdtype(data.dtype, np.integer):
        data = data.astype(label_map_dtype(data))
    return data, np.asarray(image.affine, dtype=np.float64)


def place_on_grid(
    source: PathLike | NiftiImage,
    grid: Volume | Grid,
    *,
    atol: float = AFFINE_TOLERANCE,
) -> PlacedArray:
    """Put a NIfTI's voxels on a Volume's grid, never resampling.

    - EXACT when shape and affine agree within ``atol`` mm;
    - REORIENTED (warning) when the NIfTI grid is an axis permutation and/or flip of the target
      (dicom2nifti's LAS output, ``nibabel.as_closest_canonical``'s RAS);
    - BY_INDEX (warning) when the affine is a dummy (+-1 diagonal, zero origin) and the shape matches
      (RedBrick's RTSTRUCT/PNG conversions);
    - otherwise MediaError naming both shapes and affines.
    """
    image = source if isinstance(source, NiftiImage) else _load(source)
    name = "<image>" if isinstance(source, NiftiImage) else os.fspath(source)
    target = grid.grid if isinstance(grid, Volume) else grid
    data = _as_3d(np.asanyarray(image.dataobj), name)
    affine = np.asarray(image.affine, dtype=np.float64)
    target_ras = target.affine_ras
    shape = tuple(int(n) for n in data.shape)
    if shape == target.shape and np.allclose(affine, target_ras, atol=atol, rtol=0):
        return PlacedArray(data, Placement.EXACT)
    mapped = _permutation_onto(data, affine, target.shape, target_ras, atol)
    if mapped is not None:
        return PlacedArray(
            mapped,
            Placement.REORIENTED,
            (
                f"{name}: orientation {_codes(affine)} differs from the series grid {_codes(target_ras)}; "
                "voxels reoriented (axis permutation/flip, no resampling)",
            ),
        )
    if shape == target.shape and _is_dummy(affine):
        return PlacedArray(
            data,
            Placement.BY_INDEX,
            (
                f"{name}: dummy affine (+-1 diagonal, zero origin) with the series shape {shape}; "
                "voxels accepted by index [column, row, slice]",
            ),
        )
    raise MediaError(
        f"{name}: does not fit the series grid: NIfTI shape {shape} with RAS affine\n"
        f"{_fmt_affine(affine)}\nseries shape {target.shape} with RAS affine\n{_fmt_affine(target_ras)}",
        path=name,
    )


def _permutation_onto(
    data: npt.NDArray[Any],
    affine: npt.NDArray[np.float64],
    target_shape: tuple[int, int, int],
    target_affine: npt.NDArray[np.float64],
    atol: float,
) -> npt.NDArray[Any] | None:
    """The data on the target grid when source index -> target index is a signed axis permutation."""
    # T maps a source voxel index to a target voxel index; a pure reorientation has a signed
    # permutation matrix and integer offsets that land the source box exactly on the target box.
    transform = np.linalg.solve(target_affine, affine)
    linear = transform[:3, :3]
    rounded = np.round(linear)
    if not np.allclose(linear, rounded, atol=1e-4):
        return None
    if not (np.all(np.abs(rounded).sum(axis=0) == 1) and np.all(np.abs(rounded).sum(axis=1) == 1)):
        return None
    result = data
    axes = [int(np.flatnonzero(rounded[t])[0]) for t in range(3)]  # target axis t <- source axis axes[t]
    result = np.transpose(result, axes)
    if tuple(int(n) for n in result.shape) != target_shape:
        return None
    for t in range(3):
        sign = rounded[t, axes[t]]
        offset = transform[t, 3]
        # Voxel 0 of the source maps to target index `offset`; it must be a box corner.
        expected = 0.0 if sign > 0 else target_shape[t] - 1
        spacing = float(np.linalg.norm(target_affine[:3, t]))
        if abs(offset - expected) * spacing > atol:
            return None
        if sign < 0:
            result = np.flip(result, axis=t)
    return result


def _is_dummy(affine: npt.NDArray[np.float64]) -> bool:
    linear = affine[:3, :3]
    return bool(
        np.allclose(np.abs(linear), np.eye(3))
        and np.allclose(affine[:3, 3], 0.0)
        and np.allclose(affine[3], [0, 0, 0, 1])
    )


def _check_integral(data: npt.NDArray[Any], name: str) -> None:
    if np.issubdtype(data.dtype, np.integer) or data.dtype == np.bool_:
        return
    if not np.issubdtype(data.dtype, np.floating):
        raise MediaError(f"{name}: label maps hold integers, found dtype {data.dtype}", path=name)
    fractional = data[data != np.round(data)]
    if fractional.size:
        raise MediaError(f"{name}: label maps hold whole numbers, found {float(fractional.flat[0]):g}", path=name)


def _as_3d(data: npt.NDArray[Any], name: PathLike) -> npt.NDArray[Any]:
    # A trailing singleton 4th axis is how some tools write one volume; anything else is not a volume.
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise MediaError(
            f"{os.fspath(name)}: expected a 3-D volume, found shape {tuple(data.shape)}", path=os.fspath(name)
        )
    return data


def _load(path: PathLike) -> NiftiImage:
    try:
        image = nib.load(os.fspath(path))
    except Exception as exc:  # nibabel raises ImageFileError, OSError, EOFError, zlib errors...
        raise MediaError(f"{os.fspath(path)}: not a readable NIfTI file ({exc})", path=os.fspath(path)) from exc
    if not isinstance(image, NiftiImage | nib.Nifti2Image):
        raise MediaError(f"{os.fspath(path)}: not a NIfTI image ({type(image).__name__})", path=os.fspath(path))
    return cast(NiftiImage, image)


def _set_header(image: Any, affine_ras: npt.NDArray[np.float64]) -> None:
    image.set_sform(affine_ras, code=_NIFTI_SCANNER)
    image.set_qform(affine_ras, code=_NIFTI_SCANNER)
    image.header.set_xyzt_units("mm", "sec")


def _codes(affine_ras: npt.NDArray[np.float64]) -> str:
    return "".join(str(c) for c in nib.aff2axcodes(affine_ras))


def _fmt_affine(affine: npt.NDArray[np.float64]) -> str:
    return "\n".join("  [" + ", ".join(f"{v:9.4f}" for v in row) + "]" for row in affine)
