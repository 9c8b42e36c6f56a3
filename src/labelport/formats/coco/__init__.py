"""COCO (cocodataset.org/#format-data) for image data rows, and for volume slices exported in 2-D.

``write`` (``write.py``): boxes, polygons, RLE masks (pycocotools-compatible, column-major), points, categories
from the ontology; option ``slices`` exports a volume's frames of one plane as images named in ``file_name``.
``read`` (``read.py``) reads COCO from any tool. Field names: ``fields.py``. Page: docs/formats/coco.md.
"""

from __future__ import annotations

from labelport.formats.base import Detection, Source, sniff
from labelport.formats.coco import fields as f
from labelport.formats.coco.read import read
from labelport.formats.coco.write import parse_options, write

NAME = "coco"


def detect(source: Source) -> Detection:
    """One JSON object with ``images``, ``annotations`` and ``categories`` lists."""
    head = sniff(source, 2)
    if isinstance(head, Detection):
        return head
    if not head or len(head) != 1 or head[0].error is not None or not isinstance(head[0].value, dict):
        return Detection(0.0, "not one JSON object")
    value = head[0].value
    keys = [k for k in (f.IMAGES, f.ANNOTATIONS, f.CATEGORIES) if isinstance(value.get(k), list)]
    if len(keys) == 3:
        return Detection(0.9, "a JSON object with images, annotations and categories lists")
    return Detection(0.0, f"a JSON object without COCO's lists (found {', '.join(keys) or 'none'})")


__all__ = ["NAME", "detect", "parse_options", "read", "write"]
