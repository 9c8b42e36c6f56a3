"""DICOM SEG (PS3.3 A.51 Segmentation IOD): voxel masks on a DICOM series, written with highdicom.

``write`` makes one Segmentation per data row (``write.py``: BINARY or LABELMAP, on the source series' grid,
frames referencing the source instances, empty frames left out, LABELMAP optionally JPEG-LS or RLE
compressed); ``read`` reads SEGs from labelport and other tools back onto the referenced series' grid
(``read.py``). Options: ``segmentation_type`` (BINARY, LABELMAP), ``compression`` (none, jpegls, rle);
reading takes ``series`` (the referenced series' ``DataRow``). Page: docs/formats/dicom-seg.md.
"""

from __future__ import annotations

from labelport.formats.base import Detection, Source
from labelport.formats.dicom_seg.read import SEG_CLASSES, read
from labelport.formats.dicom_seg.write import parse_options, write
from labelport.formats.dicom_support import detect_sop_class

NAME = "dicom_seg"


def detect(source: Source) -> Detection:
    """A DICOM SEG: DICOM files whose SOP class is Segmentation or Label Map Segmentation Storage."""
    return detect_sop_class(source, SEG_CLASSES, "a segmentation")


__all__ = ["NAME", "detect", "parse_options", "read", "write"]
