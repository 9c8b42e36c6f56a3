"""NIfTI label maps: a DICOM (or NIfTI) data row's masks on its own grid, with a JSON sidecar naming the labels.

``write`` (``write.py``) puts each data row's masks into one uint8/uint16 label map (or one binary file per object,
option ``layout=binary``) whose RAS affine is the series' LPS affine converted as DESIGN.md says, so it lines up
with dcm2niix's NIfTI of the series; ``read`` (``read.py``) reads ours and bare label maps of other tools.
Sidecar fields: ``sidecar.py``. Page: docs/formats/nifti.md.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

from labelport.formats.base import Detection, Source
from labelport.formats.nifti.read import _is_sidecar as is_sidecar
from labelport.formats.nifti.read import is_nifti_name, read, sidecar_of
from labelport.formats.nifti.write import parse_options, write

NAME = "nifti"
# NIfTI-1 datatype codes of integer voxels (uint8, int16, int32, int8, uint16, uint32, int64, uint64).
_INTEGER_TYPES = {2, 4, 8, 256, 512, 768, 1024, 1280}


def _header(path: Path) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(352)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(352)
        except OSError:
            return b""
    return head


def _datatype(path: Path) -> int | None:
    """The NIfTI-1 datatype code of a file, or None when it is not NIfTI-1."""
    head = _header(path)
    if len(head) < 348 or head[344:347] not in (b"n+1", b"ni1"):
        return None
    order = "<" if struct.unpack("<i", head[:4])[0] == 348 else ">"
    return int(struct.unpack(f"{order}h", head[70:72])[0])


def detect(source: Source) -> Detection:
    """Ours (a sidecar, a label map with its sidecar, a folder of them) or a NIfTI file of integer voxels."""
    if not isinstance(source, str | Path):
        return Detection(0.0, "NIfTI label maps are files, not bytes or records")
    path = Path(source)
    if path.is_dir():
        sidecars = [p for p in path.glob("*.json") if is_sidecar(p)]
        if sidecars:
            return Detection(0.95, f"a folder with {len(sidecars)} labelport NIfTI label map sidecar(s)")
        return Detection(0.0, "a folder without NIfTI label map sidecars")
    if not path.is_file():
        return Detection(0.0, f"{path} does not exist")
    if path.suffix == ".json":
        return (
            Detection(0.95, "a labelport NIfTI label map sidecar")
            if is_sidecar(path)
            else Detection(0.0, "a JSON file that is not a NIfTI label map sidecar")
        )
    try:
        datatype = _datatype(path)
    except OSError as exc:
        return Detection(0.0, f"cannot read the input: {exc}")
    if datatype is None:
        return Detection(0.0, "not a NIfTI-1 file (no n+1 magic)")
    if is_nifti_name(path) and sidecar_of(path) is not None:
        return Detection(0.95, "a NIfTI label map with its labelport sidecar")
    if datatype in _INTEGER_TYPES:
        return Detection(0.7, f"a NIfTI-1 file of integer voxels (datatype {datatype}): a label map")
    return Detection(0.3, f"a NIfTI-1 file of datatype {datatype}: an image rather than a label map")


__all__ = ["NAME", "detect", "parse_options", "read", "write"]
