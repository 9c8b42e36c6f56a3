"""RTSTRUCT (PS3.3 A.19 RT Structure Set): label volumes as closed planar contours in patient coordinates.

``write`` (``write.py``) traces each feature's voxels slice by slice on the series' own grid (``contours.py``)
and maps the contours to LPS through the series' affine; ``read`` (``read.py``) rasterises contours back onto
the referenced series' grid (option ``series``). Correct on any orientation and on non-square images.
Page: docs/formats/rtstruct.md.
"""

from __future__ import annotations

from labelport.formats.base import Detection, Source
from labelport.formats.dicom_support import detect_sop_class
from labelport.formats.rtstruct.read import read
from labelport.formats.rtstruct.write import RTSTRUCT_STORAGE, write

NAME = "rtstruct"


def detect(source: Source) -> Detection:
    """An RTSTRUCT: DICOM files whose SOP class is RT Structure Set Storage."""
    return detect_sop_class(source, {RTSTRUCT_STORAGE: "RTSTRUCT"}, "an RT structure set")


__all__ = ["NAME", "detect", "read", "write"]
