"""Uploaded archives (``service.archives``), fuzzed: random bytes, and zips and tars with their bytes mutated
(flipped, cut, spliced) or their members made strange (encrypted flags, unknown compression methods, huge
declared sizes). ``check`` and ``extract`` may only refuse with a ValidationError; nothing else escapes, and
a refused extraction leaves no folder behind.

``make test`` runs a few seconds (``LABELPORT_FUZZ_EXAMPLES``); ``make fuzz`` the long budget.
"""

from __future__ import annotations

import io
import shutil
import struct
import tarfile
import tempfile
import zipfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from labelport.errors import ValidationError
from labelport.service import archives
from tests.fuzz.factory import budget, fuzz_settings

MAX_BYTES = 1 << 20


def _zip(method: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as out:
        out.writestr("items.json", b'[{"name": "t", "series": [{"items": "series/a.dcm"}]}]')
        out.writestr("series/", b"")
        out.writestr("series/a.dcm", b"DICM" * 64)
    return buffer.getvalue()


def _tar(mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as out:  # type: ignore[call-overload]
        for name, data in (("items.json", b"[]"), ("series/a.dcm", b"DICM" * 64)):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


SEEDS = [
    _zip(zipfile.ZIP_STORED),
    _zip(zipfile.ZIP_DEFLATED),
    _zip(zipfile.ZIP_BZIP2),
    _zip(zipfile.ZIP_LZMA),
    _tar("w"),
    _tar("w:gz"),
    _tar("w:bz2"),
    _tar("w:xz"),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "splice", "word"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif how == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif data:  # a 16- or 32-bit field (flags, method, sizes, offsets) set to an edge value
            width = draw(st.sampled_from([2, 4]))
            value = draw(st.sampled_from([0, 1, 8, 12, 99, 0xFFFF, 0xFFFFFFFF]))
            packed = struct.pack("<H" if width == 2 else "<I", value & (0xFFFF if width == 2 else 0xFFFFFFFF))
            data[at : at + width] = packed
    return bytes(data)


INPUTS = st.one_of(st.binary(max_size=512), mutated())


@given(INPUTS)
@fuzz_settings(budget())
def test_archives_refuse_only_with_a_validation_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "upload"
        archive.write_bytes(data)
        target = Path(scratch) / "out"
        try:
            archives.check(archive, max_bytes=MAX_BYTES)
            archives.extract(archive, target, max_bytes=MAX_BYTES)
        except ValidationError as refused:
            assert str(refused)
            assert not target.exists(), "a refused extraction left its folder"
        finally:
            shutil.rmtree(target, ignore_errors=True)
