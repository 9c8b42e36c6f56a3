"""The Labelbox formats pass the format conformance suite: NDJSON, export_v2 rows and the legacy export."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from labelport.formats import get_format
from labelport.formats.base import WriteContext
from labelport.formats.labelbox import export_v2, ndjson
from labelport.formats.labelbox.export_v2_read import feature_uuid
from labelport.model import (
    ClassificationAnnotation,
    DataRowKey,
    Ellipse,
    FrameMasks,
    Label,
    LabeledItem,
    LabelKind,
    ObjectAnnotation,
    Point,
    Relationship,
    TrackedObject,
    decoded,
)

from ..fixtures import LABELBOX
from .conformance import FormatConformance, WriterConformance, annotations

ANCHORS = LABELBOX
FIXTURES = (
    *(
        ANCHORS / "ndjson" / f"{name}.json"
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
    ANCHORS / "derived" / "dicom_ndjson_from_test_dicom.json",
    ANCHORS / "derived" / "image_mask_ndjson_from_test_image.json",
    ANCHORS / "derived" / "video_nested_classification_ndjson_from_test_video.json",
)
GEOMETRY_KEYS = {"Rectangle": "bbox", "Polygon": "polygon", "Line": "line", "Point": "point", "Mask": "mask"}
RAW_KEYS = ("bbox", "polygon", "line", "point", "mask", "segments", "masks", "relationship", "answer", "answers")
ELLIPSE = ObjectAnnotation("00000000-0000-4000-8000-000000000001", Ellipse(Point(5, 5), 2, 3), name="blob")


def _kind(annotation: Any) -> str:
    if isinstance(annotation, ObjectAnnotation):
        return GEOMETRY_KEYS[type(annotation.geometry).__name__]
    if isinstance(annotation, TrackedObject):
        return "segments"
    if isinstance(annotation, FrameMasks):
        return "masks"
    if isinstance(annotation, Relationship):
        return "relationship"
    assert isinstance(annotation, ClassificationAnnotation)
    return "answer"


class TestLabelboxNdjsonConformance(FormatConformance):
    entry = get_format(ndjson.NAME)
    fixtures: ClassVar = FIXTURES
    foreign: ClassVar = (
        b"",
        b"hello world\n",
        b'{"images": [], "annotations": [], "categories": []}\n',  # COCO
        [{"data_row": {"id": "x"}, "projects": {}}],  # Labelbox export_v2, not import NDJSON
        [{"dataRow": {"id": "x"}, "uuid": "u"}],  # no annotation key
        b'[{"label_hash": "x", "data_units": {}}]',  # Encord label row
    )

    def expected(self, path: Path) -> list[Any]:
        # Straight from the JSON: each line's data row, its uuid when it has one, and its annotation key.
        out = []
        for line in json.loads(path.read_text()):
            kind = next(k for k in RAW_KEYS if k in line)
            out.append((line["dataRow"], line.get("uuid"), "answer" if kind == "answers" else kind))
        return out

    def summary(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        out = []
        for item in items:
            for label in item.labels:
                for a in label.annotations:
                    model = decoded(a)
                    uuid = getattr(model, "uuid", None)
                    # Lines without a uuid get a fresh one (as the SDK does): only uuids of the input count.
                    shown = next((u for u in _spellings(raw, uuid)), None) if uuid else None
                    out.append((ndjson_row(item.data_row), shown, _kind(model)))
        return out

    def unwritable(self) -> tuple[LabeledItem, str]:
        return LabeledItem(DataRowKey(global_key="row"), (Label(LabelKind.GROUND_TRUTH, (ELLIPSE,)),)), "Ellipse"

    def comparable(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        # Objects without a uuid in the input get a fresh one on each read (as the SDK does).
        out = []
        for data_row, kind, anns in annotations(items):
            fixed = tuple(
                dataclasses.replace(a, uuid="00000000-0000-4000-8000-000000000000")
                if getattr(a, "uuid", None) and not list(_spellings(raw, a.uuid))
                else a
                for a in anns
            )
            out.append((data_row, kind, fixed))
        return out


def _spellings(raw: bytes, uuid: str) -> list[str]:
    """The spelling of ``uuid`` in the input, if it occurs there (upper case or braces included)."""
    text = raw.decode()
    hexes = uuid.replace("-", "")
    import re

    found = re.findall(r'"uuid"\s*:\s*"([^"]+)"', text)
    return [f for f in found if f.strip("{}").replace("-", "").lower() == hexes]


def ndjson_row(key: DataRowKey) -> dict[str, str]:
    return {"id": key.id} if key.id is not None else {"globalKey": key.global_key or ""}


def export_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


EXPORT_FIXTURES = (LABELBOX / "export_v2_rows.ndjson",)


class TestLabelboxExportV2Conformance(FormatConformance):
    entry = get_format(export_v2.NAME)
    fixtures: ClassVar = EXPORT_FIXTURES
    foreign: ClassVar = (
        b"",
        b'{"images": [], "annotations": [], "categories": []}\n',
        [{"dataRow": {"id": "x"}, "uuid": "u", "bbox": {"top": 1, "left": 1, "height": 1, "width": 1}}],
        b'[{"label_hash": "x", "data_units": {}}]',
    )

    def write_context(self) -> WriteContext:
        # Masks keep the URL they were read with.
        return WriteContext(link_mask=lambda link, item: (link.raster.uri if link.raster else None) or "")

    def expected(self, path: Path) -> list[Any]:
        # Each row's data row and the feature ids of its objects, classifications and relationships.
        out = []
        for row in export_rows(path):
            ids: list[str] = []
            for block in row["projects"].values():
                for label in block["labels"]:
                    annotations = label["annotations"]
                    ids += [o["feature_id"] for o in annotations.get("objects", [])]
                    for frames in [annotations.get("frames", {})] + [
                        g["frames"] for g in annotations.get("groups", {}).values()
                    ]:
                        for frame in frames.values():
                            ids += list(frame["objects"])
                            ids += [c["feature_id"] for c in frame["classifications"]]
                    ids += [c["feature_id"] for c in annotations.get("classifications", [])]
                    ids += [r["feature_id"] for r in annotations.get("relationships", [])]
            data_row = row["data_row"]
            # Labelbox's feature ids are cuids; a uuid is derived from each (ours are uuids already).
            out.append((data_row["id"], data_row.get("global_key"), sorted({feature_uuid(i) for i in ids})))
        return out

    def summary(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        return [
            (
                item.data_row.id,
                item.data_row.global_key,
                sorted({getattr(decoded(a), "uuid", None) or "" for label in item.labels for a in label.annotations}),
            )
            for item in items
        ]

    def unwritable(self) -> tuple[LabeledItem, str]:
        return LabeledItem(DataRowKey(global_key="row"), (Label(LabelKind.GROUND_TRUTH, (ELLIPSE,)),)), "Ellipse"


class TestLabelboxExportLabelsConformance(WriterConformance):
    entry = get_format("labelbox_export_labels")

    def unwritable(self) -> tuple[LabeledItem, str]:
        return LabeledItem(DataRowKey(global_key="row"), (Label(LabelKind.GROUND_TRUTH, (ELLIPSE,)),)), "Ellipse"

    def test_writes_the_labels_file_in_its_folder(self, tmp_path: Path) -> None:
        items = [i for i in self.entry_items() if i.media is not None]
        folder = tmp_path / "legacy"
        context = WriteContext(link_mask=lambda link, item: (link.raster.uri if link.raster else None) or "")
        report = self.entry.write(items, folder, context)
        labels = json.loads((folder / "labels.json").read_text())
        assert report.items == len(items) == len(labels) == 3
        assert [label["DataRow ID"] for label in labels] == [i.media.id for i in items if i.media]
        video = json.loads(next(folder.glob("frames/*/video.ndjson")).read_text().splitlines()[0])
        assert video["frameNumber"] == 13 and video["objects"][0]["bbox"]["top"] == 98.0

    @staticmethod
    def entry_items() -> list[LabeledItem]:
        from .conformance import items_of

        return items_of(get_format(export_v2.NAME), EXPORT_FIXTURES[0])
