"""The JSON sidecar beside a NIfTI label map: which label values are which feature and object.

Field names live here only. One sidecar per data row (``<row>.json`` beside ``<row>.nii.gz``)::

    {"format": "labelport-nifti-labels", "version": 1, "layout": "labelmap" | "binary",
     "data_row": {"global_key": ...}, "series": {"row_data": ..., "series_instance_uid": ...},
     "labels": [{"value": 1, "values": [1, 4], "name": "liver", "schema_id": ..., "uuid": ...,
                 "color": "#ff0000", "category": {...}, "property_type": {...}, "file": "row_liver.nii.gz"}]}

``value`` is the object's own label; ``values`` every value it owns (its own and those of the overlaps it is part
of: a value listed by two objects is their overlap). In the binary layout each label names its ``file``, whose
non-zero voxels are the object.
"""

from __future__ import annotations

FORMAT = "format"
FORMAT_NAME = "labelport-nifti-labels"
VERSION = "version"
LAYOUT = "layout"
DATA_ROW = "data_row"
SERIES = "series"
ROW_DATA = "row_data"
MEDIA_TYPE = "media_type"
SERIES_UID = "series_instance_uid"
LABELS = "labels"
VALUE = "value"
VALUES = "values"
NAME = "name"
SCHEMA_ID = "schema_id"
UUID = "uuid"
COLOR = "color"
CATEGORY = "category"
PROPERTY_TYPE = "property_type"
FILE = "file"
