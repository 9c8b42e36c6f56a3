"""Mask codecs, vectorised with numpy: binary and composite PNG, COCO RLE, Encord ``rleString``.

- COCO RLE (pycocotools): run lengths of the **column-major** (Fortran) flattening, starting with a
  run of zeros; ``counts`` either as a list or as pycocotools' compressed string (LEB128-like 5-bit
  groups, offset by 48, each count after the second stored as a difference to the count two before).
- Encord ``rleString`` (notes/encord.md section 4): the same string codec applied to the **row-major**
  (C order) flattening. Same bytes as pycocotools on ``mask.T``.
- Masks larger than ``MAX_MASK_SIDE`` px on a side, or PNGs whose decoded pixels would take more than
  ``MAX_DECODED_BYTES``, are rejected from their header, before any pixel is decoded.

Masks are 2-D arrays [row, column] = [y, x]; any non-zero value is foreground.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from labelport.errors import ValidationError

# Labelbox does not recommend labeling images above 9000 x 9000 px ("annotations may be irretrievable").
MAX_MASK_SIDE = 9000
# A 9000 x 9000 RGB PNG decodes to 243 MB; 16-bit or alpha channels of that size are not masks.
MAX_DECODED_BYTES = 256 * 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # IHDR colour type -> samples per pixel


def check_mask_size(height: int, width: int) -> None:
    """Raise ValidationError naming the size when a side exceeds MAX_MASK_SIDE or is not positive."""
    if height > MAX_MASK_SIDE or width > MAX_MASK_SIDE:
        raise ValidationError(
            f"mask is {width} x {height} px (width x height); masks larger than {MAX_MASK_SIDE} px "
            "on a side are rejected",
            field="mask",
            value=(width, height),
        )
    if height < 1 or width < 1:
        raise ValidationError(
            f"mask is {width} x {height} px (width x height); a mask needs at least 1 px on each side",
            field="mask",
            value=(width, height),
        )


def _as_mask(mask: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ValidationError(f"a mask is a 2-D [row, column] array, found shape {array.shape}", field="mask")
    check_mask_size(array.shape[0], array.shape[1])
    return array if array.dtype == np.bool_ else array != 0


# --- run lengths -------------------------------------------------------------------------------


def runs_of(flat: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Run lengths of a flat boolean array, alternating 0-run, 1-run, ..., starting with zeros."""
    if flat.size == 0:
        return np.zeros(1, dtype=np.int64)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.empty(change.size + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, flat.size
    bounds[1:-1] = change
    counts = np.diff(bounds)
    if flat[0]:
        counts = np.concatenate((np.zeros(1, dtype=np.int64), counts))
    return counts


def flat_from_runs(counts: npt.ArrayLike, size: int) -> npt.NDArray[np.bool_]:
    """A flat boolean array of ``size`` pixels from alternating run lengths (zeros first)."""
    runs = np.asarray(counts, dtype=np.int64)
    if runs.ndim != 1 or (runs.size and runs.min() < 0):
        raise ValidationError(f"run lengths must be a list of counts >= 0, found {runs[:10].tolist()}", field="counts")
    total = int(runs.sum())
    if total != size:
        raise ValidationError(f"run lengths cover {total} pixels but the mask has {size}", field="counts", value=total)
    values = np.zeros(runs.size, dtype=np.bool_)
    values[1::2] = True
    return np.repeat(values, runs)


# --- the compressed-counts string (pycocotools rleToString / rleFrString) -----------------------


def counts_to_string(counts: npt.ArrayLike) -> str:
    """pycocotools' compressed string of run lengths."""
    runs = np.asarray(counts, dtype=np.int64)
    if runs.size == 0:
        return ""
    x = runs.copy()
    x[3:] -= runs[1:-2]  # counts after the second are stored as the difference to two before
    groups: list[npt.NDArray[np.uint8]] = []
    active_rows: list[npt.NDArray[np.bool_]] = []
    active = np.ones(x.size, dtype=np.bool_)
    while True:
        c = x & 0x1F
        x = x >> 5  # arithmetic shift: negative values keep their sign
        more = np.where((c & 0x10) != 0, x != -1, x != 0)
        groups.append((c | (more.astype(np.int64) << 5)) + 48)
        active_rows.append(active)
        active = active & more
        if not active.any():
            break
    chars = np.stack(groups, axis=1).astype(np.uint8)
    valid = np.stack(active_rows, axis=1)
    return chars[valid].tobytes().decode("ascii")


def string_to_counts(text: str | bytes) -> npt.NDArray[np.int64]:
    """Run lengths from pycocotools' compressed string; ValidationError naming a bad character."""
    raw = text.encode("ascii", errors="replace") if isinstance(text, str) else bytes(text)
    c = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return np.zeros(0, dtype=np.int64)
    bad = np.flatnonzero((c < 0) | (c > 63))
    if bad.size:
        position = int(bad[0])
        raise ValidationError(
            f"RLE string has an invalid character {chr(raw[position])!r} at position {position}",
            field="counts",
            value=text[:40],
        )
    last = (c & 0x20) == 0
    if not last[-1]:
        raise ValidationError(f"RLE string ends inside a count: {text[-10:]!r}", field="counts", value=text[:40])
    starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
    lengths = np.diff(np.append(starts, c.size))
    position_in_group = np.arange(c.size) - np.repeat(starts, lengths)
    x = np.add.reduceat((c & 0x1F) << (5 * position_in_group), starts)
    negative = (c[last] & 0x10) != 0
    x[negative] |= -1 << (5 * lengths[negative])
    counts = x.copy()
    counts[1::2] = np.cumsum(x[1::2])
    counts[2::2] = np.cumsum(x[2::2])
    return counts


# --- COCO RLE ----------------------------------------------------------------------------------


def encode_coco_rle(mask: npt.ArrayLike, *, compressed: bool = True) -> dict[str, Any]:
    """COCO RLE ``{"size": [h, w], "counts": str | list[int]}`` (column-major, like pycocotools)."""
    array = _as_mask(mask)
    counts = runs_of(array.ravel(order="F"))
    return {
        "size": [int(array.shape[0]), int(array.shape[1])],
        "counts": counts_to_string(counts) if compressed else counts.tolist(),
    }


def decode_coco_rle(rle: dict[str, Any]) -> npt.NDArray[np.bool_]:
    """Mask [row, column] from a COCO RLE with string, bytes or list counts."""
    try:
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(
            f"a COCO RLE is {{'size': [h, w], 'counts': ...}}, found {str(rle)[:80]}", field="rle"
        ) from exc
    check_mask_size(height, width)
    runs = string_to_counts(counts) if isinstance(counts, str | bytes) else np.asarray(counts, dtype=np.int64)
    return flat_from_runs(runs, height * width).reshape((width, height)).T


# --- Encord rleString --------------------------------------------------------------------------


def encode_encord_rle(mask: npt.ArrayLike) -> str:
    """Encord ``rleString`` of a mask (row-major run lengths in the COCO string codec)."""
    array = _as_mask(mask)
    return counts_to_string(runs_of(array.ravel(order="C")))


def decode_encord_rle(rle_string: str | bytes, height: int, width: int) -> npt.NDArray[np.bool_]:
    """Mask [row, column] of ``height`` x ``width`` from an Encord ``rleString``.

    Encord's decoder zero-fills a string that covers fewer pixels; so do we. More pixels is an error.
    """
    check_mask_size(height, width)
    runs = string_to_counts(rle_string)
    total = int(runs.sum())
    size = height * width
    if total < size:
        runs = np.append(runs, [size - total] if runs.size % 2 == 0 else [0, size - total])
    return flat_from_runs(runs, size).reshape((height, width))


# --- PNG ---------------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG header, without decoding pixels. The error never shows the bytes found (a
    fetched file's content is not the user's to see)."""
    if data[:8] != _PNG_SIGNATURE or len(data) < 26 or data[12:16] != b"IHDR":
        raise ValidationError("not a PNG image (no PNG signature and header)", field="png")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def check_png(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG that may be decoded: its header gives a mask size within ``MAX_MASK_SIDE``
    and decoded pixels within ``MAX_DECODED_BYTES``. Checks the header only: cheap, before any decoding."""
    width, height = png_size(data)
    check_mask_size(height, width)
    depth, colour = data[24], data[25]
    channels = _PNG_CHANNELS.get(colour)
    if channels is None or depth not in (1, 2, 4, 8, 16):
        raise ValidationError(
            f"not a valid PNG header (bit depth {depth}, colour type {colour})", field="png", value=[depth, colour]
        )
    decoded = width * height * channels * (2 if depth == 16 else 1)
    if decoded > MAX_DECODED_BYTES:
        raise ValidationError(
            f"mask PNG is {width} x {height} px with {channels} channel(s) of {depth} bits: {decoded} bytes "
            f"decoded, more than the {MAX_DECODED_BYTES} a mask may take",
            field="png",
            value=[width, height],
        )
    return width, height


def _open_png(data: bytes) -> Image.Image:
    check_png(data)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"cannot decode PNG ({exc})", field="png") from exc
    return image


def encode_png_binary(mask: npt.ArrayLike) -> bytes:
    """Binary mask as a grey PNG holding 0 and 1 (Labelbox's ``mask.png``)."""
    array = _as_mask(mask).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def encode_png_grey(mask: npt.ArrayLike) -> bytes:
    """Binary mask as a grey PNG holding 0 and 255: viewable as it is (the mask PNGs of DICOM exports)."""
    array = _as_mask(mask).astype(np.uint8) * np.uint8(255)
    buffer = io.BytesIO()
    Image.fromarray(array, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def decode_png_binary(data: bytes) -> npt.NDArray[np.bool_]:
    """Mask from a PNG: grey (any non-zero value, so 0/1 and 0/255 both work) or RGB with equal channels."""
    image = _open_png(data)
    if image.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L"):
        grey: npt.NDArray[np.bool_] = np.asarray(image) != 0
        return grey
    rgb: npt.NDArray[np.uint8] = np.asarray(image.convert("RGB"), dtype=np.uint8)
    if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
        raise ValidationError(
            f"a binary mask PNG is grey; found a {image.mode} image with differing channels "
            "(a composite mask? decode it with decode_png_composite)",
            field="png",
            value=image.mode,
        )
    foreground: npt.NDArray[np.bool_] = rgb[..., 0] != 0
    return foreground


def encode_png_composite(rgb: npt.ArrayLike) -> bytes:
    """Composite mask (uint8 H x W x 3, one colour per instance) as an RGB PNG."""
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValidationError(
            f"a composite mask is uint8 H x W x 3, found {array.dtype} {array.shape}",
            field="mask",
            value=array.shape,
        )
    check_mask_size(array.shape[0], array.shape[1])
    buffer = io.BytesIO()
    Image.fromarray(array, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def decode_png_composite(data: bytes) -> npt.NDArray[np.uint8]:
    """Composite mask uint8 H x W x 3 from any PNG (grey stacked to 3 channels, alpha dropped)."""
    image = _open_png(data)
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        grey = np.asarray(image)
        if grey.size and grey.max() > 255:
            raise ValidationError(f"a composite mask holds 0..255 per channel, found {grey.max()}", field="png")
        return np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


__all__ = [
    "MAX_DECODED_BYTES",
    "MAX_MASK_SIDE",
    "check_mask_size",
    "check_png",
    "counts_to_string",
    "decode_coco_rle",
    "decode_encord_rle",
    "decode_png_binary",
    "decode_png_composite",
    "encode_coco_rle",
    "encode_encord_rle",
    "encode_png_binary",
    "encode_png_composite",
    "encode_png_grey",
    "flat_from_runs",
    "png_size",
    "runs_of",
    "string_to_counts",
]
