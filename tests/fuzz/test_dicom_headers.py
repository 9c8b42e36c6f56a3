"""DICOM series headers, fuzzed: three instances of a real series (tests/fixtures/dicom) with bytes flipped
and elements rewritten (empty, odd lengths, ``1\\``, NaN, several values, garbage), read by every path a data
row or an import takes: the fast header scan, the series header, the full volume, and the data row service.
Each malformed series must end in a clean MediaError or ValidationError, never anything else.

``make test`` reads ``LABELPORT_FUZZ_DICOM_EXAMPLES`` series (default 40); ``make fuzz`` 3,000.
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelport.errors import LabelportError
from labelport.imaging import load_series, read_series_header
from labelport.imaging._dicomscan import scan
from labelport.service import media
from labelport.service.files import FilePolicy
from tests.fixtures import HFS_SERIES
from tests.fuzz.factory import budget, fuzz_settings

INSTANCES = [p.read_bytes() for p in sorted(HFS_SERIES.iterdir())[:3]]
_LONG = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_PIXELS = 0x7FE00010


def elements(data: bytes) -> list[tuple[int, int, int, bool]]:
    """(offset, header size, value length, long form) of each explicit-VR element before the pixels."""
    out = []
    pos = 132
    while pos + 8 <= len(data):
        group, element = struct.unpack_from("<HH", data, pos)
        vr = data[pos + 4 : pos + 6]
        long_form = vr in _LONG
        header = 12 if long_form else 8
        length = struct.unpack_from("<I" if long_form else "<H", data, pos + (8 if long_form else 6))[0]
        if (group << 16 | element) == _PIXELS or length == 0xFFFFFFFF or pos + header + length > len(data):
            break
        out.append((pos, header, length, long_form))
        pos += header + length
    return out


ELEMENTS = [elements(data) for data in INSTANCES]
VALUES = st.sampled_from(
    [
        b"",
        b"1\\",
        b"\\",
        b"abc",
        b"nan",
        b"inf",
        b"-inf\\1",
        b"1e400",
        b"\x00",
        b"1\\2\\3\\4\\5\\6\\7",
        b"0\\0\\0\\0\\0\\0",
    ]
) | st.binary(max_size=12)


@st.composite
def mutated_instance(draw: st.DrawFn, index: int) -> bytes:
    data = INSTANCES[index]
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            at = draw(st.integers(128, min(len(data), 4000) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
            continue
        found = elements(data) or ELEMENTS[index]
        pos, header, length, long_form = draw(st.sampled_from(found))
        value = draw(VALUES)
        head = (
            data[pos : pos + 8] + struct.pack("<I", len(value))
            if long_form
            else data[pos : pos + 6] + struct.pack("<H", len(value))
        )
        data = data[:pos] + head + value + data[pos + header + length :]
    return data


series = st.tuples(*(st.one_of(st.just(INSTANCES[i]), mutated_instance(i)) for i in range(len(INSTANCES))))


@fuzz_settings(budget("LABELPORT_FUZZ_DICOM_EXAMPLES", 40))
@given(series)
def test_malformed_series_fail_cleanly(files: tuple[bytes, ...]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, data in enumerate(files):
            path = Path(folder) / f"{i:04d}.dcm"
            path.write_bytes(data)
            paths.append(path)
        for read in (
            lambda: [scan(str(p), with_pixels=True) for p in paths],
            lambda: read_series_header(paths),
            lambda: load_series(paths),
            lambda: media.describe(folder, None, "data row 0", FilePolicy((Path(folder).resolve(),))),
        ):
            with contextlib.suppress(LabelportError):
                read()


@pytest.mark.parametrize(
    ("tag", "value", "reason"),
    [
        (0x00280030, b"1\\", "PixelSpacing"),  # the finding: one value and a separator
        (0x00280010, b"\x01", "cannot be read"),  # Rows, an odd-length US element
        (0x00180088, b"nan ", "SpacingBetweenSlices must be finite"),
        (0x00200013, b"1\\2 ", "InstanceNumber holds 2 values"),
    ],
)
def test_the_findings_fail_their_row_with_a_reason(tag: int, value: bytes, reason: str, tmp_path: Path) -> None:
    data = INSTANCES[0]
    for pos, header, length, _long in elements(data):
        if struct.unpack_from("<HH", data, pos) == (tag >> 16, tag & 0xFFFF):
            head = data[pos : pos + 6] + struct.pack("<H", len(value))
            data = data[:pos] + head + value + data[pos + header + length :]
            break
    else:
        pytest.fail(f"tag {tag:08x} not in the fixture")
    (tmp_path / "bad.dcm").write_bytes(data)
    with pytest.raises(LabelportError, match=reason):
        media.describe(str(tmp_path / "bad.dcm"), None, "data row 0", FilePolicy((tmp_path.resolve(),)))
