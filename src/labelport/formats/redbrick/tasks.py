"""The registered RedBrick AI format: items lists (and exported ``tasks.json``, the same shape) read as items
that bring their media (``items.py``), projects written as ``tasks.json`` with a folder of NIfTI
segmentations (``tasks_write.py``). docs/formats/redbrick.md describes both."""

from __future__ import annotations

from labelport.formats.redbrick.items import NAME, ReadOptions, detect, read, with_files
from labelport.formats.redbrick.tasks_write import parse_options, write

__all__ = ["NAME", "ReadOptions", "detect", "parse_options", "read", "with_files", "write"]
