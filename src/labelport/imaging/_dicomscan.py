"""A lean reader for the common case: single-frame, native little-endian DICOM images.

pydicom parses and converts every element of every file; for a 35-slice MR series that costs more
than dcm2niix's whole conversion. This reader walks the elements once, keeps only the handful of tags
a Volume needs, and skips sequences without building them. Anything else (compressed or big-endian
transfer syntaxes, multi-frame functional groups, malformed files) returns None and the caller
falls back to pydicom, so correctness never depends on this module.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_IMPLICIT_LE = "1.2.840.10008.1.2"
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
# Files with these need pydicom: functional groups (enhanced multi-frame) and frame pointers.
_BAIL_OUT = {0x52009229, 0x52009230, 0x00280009}

# keyword -> (tag, VR) of the tags a Volume reads.
TAGS: dict[str, tuple[int, str]] = {
    "SOPClassUID": (0x00080016, "UI"),
    "SOPInstanceUID": (0x00080018, "UI"),
    "Modality": (0x00080060, "CS"),
    "SeriesDescription": (0x0008103E, "LO"),
    "SliceThickness": (0x00180050, "DS"),
    "SpacingBetweenSlices": (0x00180088, "DS"),
    "StudyInstanceUID": (0x0020000D, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"),
    "InstanceNumber": (0x00200013, "IS"),
    "ImagePositionPatient": (0x00200032, "DS"),
    "ImageOrientationPatient": (0x00200037, "DS"),
    "SamplesPerPixel": (0x00280002, "US"),
    "PhotometricInterpretation": (0x00280004, "CS"),
    "NumberOfFrames": (0x00280008, "IS"),
    "Rows": (0x00280010, "US"),
    "Columns": (0x00280011, "US"),
    "PixelSpacing": (0x00280030, "DS"),
    "BitsAllocated": (0x00280100, "US"),
    "BitsStored": (0x00280101, "US"),
    "PixelRepresentation": (0x00280103, "US"),
    "RescaleIntercept": (0x00281052, "DS"),
    "RescaleSlope": (0x00281053, "DS"),
    "PixelData": (_PIXEL_DATA, "OW"),
}
_BY_TAG = {tag: (keyword, vr) for keyword, (tag, vr) in TAGS.items()}
_TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UT"}


class ScannedHeader:
    """The tags of one file that a Volume needs, parsed; ``get`` mirrors ``Dataset.get``."""

    __slots__ = ("transfer_syntax", "values")

    def __init__(self, values: dict[str, Any], transfer_syntax: str) -> None:
        self.values = values
        self.transfer_syntax = transfer_syntax

    def get(self, keyword: str, default: Any = None) -> Any:
        return self.values.get(keyword, default)

    def __contains__(self, keyword: object) -> bool:
        return keyword in self.values


def parse_value(raw: bytes, vr: str) -> Any:
    """A value from its little-endian bytes: str / list of str, float(s) for DS, int(s) for IS and US."""
    if not raw:
        return None
    if vr in _TEXT_VRS:
        text = raw.decode("ascii", errors="replace").strip(" \x00")
        if not text:
            return None
        parts = [p.strip() for p in text.split("\\")]
        if vr == "DS":
            numbers: list[Any] = [float(p) for p in parts]
        elif vr == "IS":
            numbers = [int(float(p)) for p in parts]
        else:
            return text if len(parts) == 1 else parts
        return numbers[0] if len(numbers) == 1 else numbers
    if vr == "US":
        values = np.frombuffer(raw, dtype="<u2")
        return int(values[0]) if values.size == 1 else [int(v) for v in values]
    return raw


def scan(path: str, *, with_pixels: bool) -> ScannedHeader | None:
    """Read the needed tags of a native little-endian single-frame file, or None to use pydicom."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return _scan(data, with_pixels)
    except (struct.error, IndexError, ValueError, OverflowError, UnicodeDecodeError):
        return None


def _scan(data: bytes, with_pixels: bool) -> ScannedHeader | None:
    if len(data) < 144 or data[128:132] != b"DICM":
        return None
    pos = 132
    syntax = ""
    # File meta information: always explicit VR little endian.
    while pos + 8 <= len(data) and struct.unpack_from("<H", data, pos)[0] == 0x0002:
        tag, _, length, header = _element_header(data, pos, implicit=False)
        pos += header
        if tag == 0x00020010:
            syntax = data[pos : pos + length].decode("ascii").strip(" \x00")
        pos += length
    if syntax not in (_EXPLICIT_LE, _IMPLICIT_LE):
        return None
    implicit = syntax == _IMPLICIT_LE
    values: dict[str, Any] = {}
    end = len(data)
    while pos < end:
        tag, _, length, header = _element_header(data, pos, implicit)
        pos += header
        if tag in _BAIL_OUT:
            return None
        if length == _UNDEFINED:
            if tag == _PIXEL_DATA:
                return None  # encapsulated (compressed) pixels
            pos = _skip_undefined(data, pos, implicit)
            continue
        if pos + length > end:
            return None
        known = _BY_TAG.get(tag)
        if known is not None:
            keyword, known_vr = known
            if tag == _PIXEL_DATA:
                if with_pixels:
                    values[keyword] = data[pos : pos + length]
                else:
                    values[keyword] = b""
                break
            value = parse_value(data[pos : pos + length], known_vr)
            if value is not None:
                values[keyword] = value
        pos += length
    return ScannedHeader(values, syntax)


def _element_header(data: bytes, pos: int, implicit: bool) -> tuple[int, bytes, int, int]:
    """(tag, VR, value length, header size) of the element at ``pos``."""
    group, element = struct.unpack_from("<HH", data, pos)
    tag = (group << 16) | element
    if implicit or group == 0xFFFE:
        return tag, b"", struct.unpack_from("<I", data, pos + 4)[0], 8
    vr = data[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        return tag, vr, struct.unpack_from("<I", data, pos + 8)[0], 12
    return tag, vr, struct.unpack_from("<H", data, pos + 6)[0], 8


def _skip_undefined(data: bytes, pos: int, implicit: bool) -> int:
    """Position after a sequence (or item) of undefined length that starts at ``pos``."""
    while True:
        tag, _, length, header = _element_header(data, pos, implicit)
        pos += header
        if tag in (_SEQUENCE_END, _ITEM_END):
            return pos
        if length == _UNDEFINED:
            pos = _skip_undefined(data, pos, implicit)  # an item, or a nested sequence inside one
        else:
            pos += length
        if pos > len(data):
            raise ValueError("sequence runs past the end of the file")
