"""DICOM SR TID 1500 Measurement Reports (Comprehensive 3D SR): drawings and classifications on a series.

``write`` (``write.py``): drawings on the acquisition plane as SCOORD on their source instance, drawings on
reconstructed planes as SCOORD3D in patient coordinates, classifications as qualitative evaluations; ``read``
(``read.py``) puts them back on the right plane and frame of the referenced series (option ``series``).
Codes: ``codes.py``. Page: docs/formats/dicom-sr.md.
"""

from __future__ import annotations

from labelport.formats.base import Detection, Source
from labelport.formats.dicom_sr.read import SR_CLASSES, read
from labelport.formats.dicom_sr.write import write
from labelport.formats.dicom_support import detect_sop_class

NAME = "dicom_sr"


def detect(source: Source) -> Detection:
    """A DICOM SR: Enhanced, Comprehensive or Comprehensive 3D SR files."""
    return detect_sop_class(source, SR_CLASSES, "a structured report")


__all__ = ["NAME", "detect", "read", "write"]
