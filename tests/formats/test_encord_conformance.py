"""The Encord formats pass the conformance suite: label rows (read and write) and the export folder."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from labelport.formats import get_format
from labelport.formats.encord.hashes import uuid_of_hash
from labelport.model import DataRowKey, Label, LabeledItem, LabelKind, Relationship, decoded

from .conformance import FormatConformance, WriterConformance
from .encord_helpers import comparable, label_rows, paired

FIXTURES = tuple(path for path, _ in paired())
RELATION = Relationship(
    "00000000-0000-4000-8000-000000000009",
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    name="next to",
)


def _placed(answer: dict[str, Any], frames_named: set[int]) -> list[int] | None:
    """The frames a classification answer holds on (None: the whole row), or [] when it is not placed."""
    spans = answer.get("range")
    if spans:
        return [f for start, end in spans for f in range(start, end + 1)]
    if frames_named:
        return sorted(frames_named)
    return None if spans == [] else []


def _expected_unit(
    row: dict[str, Any], unit: dict[str, Any], sequence: int | None, named: dict[str, set[int]], seen: set[str]
) -> list[str]:
    """The hashes on one item; one already on an earlier image of a group is another annotation there."""
    labels = unit.get("labels") or {}
    frames = [labels] if "objects" in labels else list(labels.values())
    hashes = {o["objectHash"] for frame in frames for o in frame.get("objects", [])}
    for hash_, answer in row.get("classification_answers", {}).items():
        if not answer.get("classifications"):
            continue
        if all(not a.get("answers") for a in answer["classifications"]):
            continue
        placed = _placed(answer, named.get(hash_, set()))
        if placed is None or (placed and (sequence is None or sequence in placed)):
            hashes.add(hash_)
    shown = sorted("derived" if h in seen else h for h in hashes)
    seen.update(hashes)
    return shown


def _named(units: list[dict[str, Any]], image_group: bool) -> dict[str, set[int]]:
    named: dict[str, set[int]] = {}
    for unit in units:
        labels = unit.get("labels") or {}
        frames = {int(unit["data_sequence"]): labels} if "objects" in labels else labels
        for frame, content in frames.items():
            for entry in content.get("classifications", []):
                named.setdefault(entry["classificationHash"], set()).add(int(frame))
    return named


class TestEncordLabelRowsConformance(FormatConformance):
    entry = get_format("encord_label_rows")
    fixtures: ClassVar = FIXTURES
    foreign: ClassVar = (
        b"",
        b"hello world\n",
        b'{"images": [], "annotations": [], "categories": []}\n',
        [{"dataRow": {"id": "x"}, "uuid": "u", "bbox": {"top": 1, "left": 1, "height": 1, "width": 1}}],
        [{"data_row": {"id": "x"}, "projects": {}}],
        b'{"objects": [], "classifications": []}',  # an Encord ontology, not label rows
    )

    def expected(self, path: Path) -> list[Any]:
        # Straight from the JSON: each item's two names, and the object and placed, answered classification
        # hashes on it; an image group gives one item per image, in data_sequence order.
        out = []
        for row in label_rows(path):
            units = list(row["data_units"].values())
            image_group = row["data_type"] == "img_group"
            named = _named(units, image_group)
            seen: set[str] = set()
            if image_group:
                for unit in sorted(units, key=lambda u: int(u["data_sequence"])):
                    names = tuple(dict.fromkeys((unit["data_hash"], unit["data_title"])))
                    out.append((names, _expected_unit(row, unit, int(unit["data_sequence"]), named, seen)))
            else:
                names = tuple(dict.fromkeys((row["data_hash"], row["data_title"])))
                sequence = 0 if row["data_type"] == "image" else None
                out.append((names, _expected_unit(row, units[0], sequence, named, seen)))
        return out

    def summary(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        # Each annotation's hash as the input spells it; a uuid no hash of the input gives is "derived".
        text = raw.decode()
        hashes = set(re.findall(r'"(?:objectHash|classificationHash)":\s*"([^"]+)"', text))
        by_uuid = {uuid_of_hash(h): h for h in hashes}
        return [
            (
                item.data_row.names,
                sorted(
                    by_uuid.get(decoded(a).uuid or "", "derived") for label in item.labels for a in label.annotations
                ),
            )
            for item in items
        ]

    def comparable(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        return comparable(items)

    def unwritable(self) -> tuple[LabeledItem, str]:
        item = LabeledItem(DataRowKey(global_key="row"), (Label(LabelKind.GROUND_TRUTH, (RELATION,)),))
        return item, "relationship"


class TestEncordExportConformance(WriterConformance):
    entry = get_format("encord_export")

    def unwritable(self) -> tuple[LabeledItem, str]:
        item = LabeledItem(DataRowKey(global_key="row"), (Label(LabelKind.GROUND_TRUTH, (RELATION,)),))
        return item, "relationship"

    def test_writes_the_label_rows_beside_the_ontology(self, tmp_path: Path) -> None:
        from labelport.formats.base import ReadContext, WriteContext
        from labelport.formats.encord.ontology import load_ontology

        from ..fixtures import ENCORD
        from .conformance import items_of

        ontology = load_ontology(ENCORD / "ontology/video_data_1_ontology.json").ontology
        items = items_of(
            get_format("encord_label_rows"), ENCORD / "labels/video_data_1.json", ReadContext(ontology=ontology)
        )
        report = self.entry.write(items, tmp_path / "out", WriteContext(ontology=ontology))
        rows = json.loads((tmp_path / "out" / "label_rows.json").read_text())
        written = json.loads((tmp_path / "out" / "ontology.json").read_text())
        assert report.items == len(rows) == 1 and report.losses == []
        features = {o["featureNodeHash"] for o in written["objects"]}
        used = {
            o["featureHash"]
            for f in rows[0]["data_units"].values()
            for fr in f["labels"].values()
            for o in fr["objects"]
        }
        assert used and used <= features
