"""What a local file holds, by its bytes: DICOM preamble, NIfTI header, video brands, image decoders.

Never by the file name alone. ``sniff_media`` answers with the data row media type, or None.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

from labelport.model.media import MediaType

_VIDEO_BRANDS = (b"ftyp", b"moov", b"mdat")
_NIFTI_HEADER = 352


def _head(path: Path, size: int = 512) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def is_dicom_file(path: Path) -> bool:
    """A DICOM Part 10 file: 128 bytes of preamble, then ``DICM``."""
    head = _head(path, 132)
    return len(head) >= 132 and head[128:132] == b"DICM"


def is_nifti_file(path: Path) -> bool:
    """A NIfTI-1 or NIfTI-2 single file, plain or gzipped, in either byte order."""
    head = _head(path, _NIFTI_HEADER)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(_NIFTI_HEADER)
        except (OSError, EOFError):
            return False
    if len(head) < 348:
        return False
    # sizeof_hdr is 348 (NIfTI-1) or 540 (NIfTI-2), in either byte order, and the magic confirms it.
    little, big = struct.unpack("<i", head[:4])[0], struct.unpack(">i", head[:4])[0]
    return bool({little, big} & {348, 540}) and (head[344:347] in {b"n+1", b"ni1"} or head[4:7] in {b"n+2", b"ni2"})


def is_video_file(path: Path) -> bool:
    """MP4 / QuickTime (an ``ftyp``, ``moov`` or ``mdat`` box first) or Matroska / WebM (EBML magic)."""
    head = _head(path, 12)
    return head[4:8] in _VIDEO_BRANDS or head[:4] == b"\x1aE\xdf\xa3"


def is_image_file(path: Path) -> bool:
    """A still image Pillow can decode (PNG, JPEG, TIFF, ...)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError):
        return False
    return True


def sniff_media(path: Path) -> MediaType | None:
    """The media type of one local file, from its content; None when it is none of ours."""
    if is_dicom_file(path):
        return MediaType.DICOM
    if is_nifti_file(path):
        return MediaType.NIFTI
    if is_video_file(path):
        return MediaType.VIDEO
    if is_image_file(path):
        return MediaType.IMAGE
    return None


__all__ = ["is_dicom_file", "is_image_file", "is_nifti_file", "is_video_file", "sniff_media"]
