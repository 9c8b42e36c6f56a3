"""labelbox_ndjson passes the format conformance suite."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

from labelport.formats import get_format, labelbox_ndjson
from labelport.formats.base import Record

from ..fixtures import LABELBOX
from .conformance import FormatConformance

ANCHORS = LABELBOX
FIXTURES = (
    *(
        f"{ANCHORS}/ndjson/{name}.json"
        for name in (
            "classification_import",
            "classification_import_global_key",
            "classification_import_name_only",
            "image_import",
            "image_import_global_key",
            "image_import_name_only",
            "nested_import",
            "nested_import_name_only",
            "polyline_import",
            "polyline_import_global_key",
            "polyline_without_confidence_import",
            "rectangle_import",
            "relationship_import",
        )
    ),
    f"{ANCHORS}/derived/dicom_ndjson_from_test_dicom.json",
    f"{ANCHORS}/derived/image_mask_ndjson_from_test_image.json",
    f"{ANCHORS}/derived/video_nested_classification_ndjson_from_test_video.json",
)


class TestLabelboxNdjsonConformance(FormatConformance):
    entry = get_format(labelbox_ndjson.NAME)
    fixtures: ClassVar = FIXTURES
    foreign: ClassVar = (
        b"",
        b"hello world\n",
        b'{"images": [], "annotations": [], "categories": []}\n',  # COCO
        [{"data_row": {"id": "x"}, "projects": {}}],  # Labelbox export_v2, not import NDJSON
        [{"dataRow": {"id": "x"}, "uuid": "u"}],  # no annotation key
        b'[{"label_hash": "x", "data_units": {}}]',  # Encord label row
    )

    def comparable(self, records: Sequence[Record], raw: bytes) -> list[Any]:
        # Objects without a uuid in the input get a fresh one on each read (as the SDK does).
        out = []
        for record in records:
            annotation: Any = record.annotation
            uuid = getattr(annotation, "uuid", None)
            if uuid is not None and uuid.encode() not in raw:
                annotation = dataclasses.replace(annotation, uuid="00000000-0000-4000-8000-000000000000")
            out.append((record.data_row, annotation))
        return out
