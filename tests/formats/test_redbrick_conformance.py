"""The RedBrick format passes the conformance suite. Two things differ from a one-file format, and the suite's
tests that depend on them are given their folder form here: an items list names files (series, segmentations),
so it is read with a resolver that may open the fixture folder; and the export is a folder (tasks.json and
segmentation files), so writing is to a folder and "file equals stream" becomes "two writes give the same
files". What is checked stays the same."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from labelport.formats import get_format
from labelport.formats.base import ReadContext, WriteContext
from labelport.formats.redbrick import tasks as redbrick
from labelport.model import DataRowKey, Label, LabeledItem, LabelKind, Relationship, VolumeMask, decoded
from labelport.model.media import DataRow, MediaType
from labelport.service.hub import Settings
from labelport.service.masks import FileResolver

from ..fixtures import LABELBOX, REDBRICK
from .conformance import FormatConformance, annotations, items_of

FIXTURE = REDBRICK / "items" / "items_fixture.json"
KINDS = {
    "segmentMap": "VolumeMask",
    "landmarks3d": "ObjectAnnotation",
    "measurements": "ObjectAnnotation",
    "boundingBoxes": "ObjectAnnotation",
    "cuboids": "TrackedObject",
}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class TestRedBrickConformance(FormatConformance):
    entry = get_format(redbrick.NAME)
    fixtures: ClassVar = (FIXTURE,)
    foreign: ClassVar = (
        b"",
        b"hello world\n",
        LABELBOX / "ndjson" / "image_import.json",
        LABELBOX / "export_v2_rows.ndjson",
        b'[{"label_hash": "x", "data_units": {}}]',  # Encord label row
        b'[{"name": "x", "items": "not a list"}]',
        b'[{"name": "x", "series": [{"name": "no items"}]}]',
    )

    def read_context(self, folder: Path = FIXTURE.parent) -> ReadContext:
        resolver = FileResolver(Settings.from_env(), (REDBRICK, folder))
        return ReadContext(resolver=resolver, options={"base_folder": str(FIXTURE.parent)})

    def expected(self, path: Path) -> list[Any]:
        """Per series of each task: its global key and the kinds of annotation its JSON holds, counted."""
        out = []
        for task in json.loads(path.read_text()):
            for index, series in enumerate(task["series"]):
                name = series.get("name") or chr(ord("A") + index)
                counts: dict[str, int] = {}
                for key, kind in KINDS.items():
                    value = series.get(key) or {}
                    number = len([k for k in value if k not in ("binaryMask", "semanticMask", "pngMask")])
                    if number:
                        counts[kind] = counts.get(kind, 0) + number
                classes = len(series.get("classifications", ())) + len(series.get("instanceClassifications", ()))
                classes += len(task.get("classification", {}).get("attributes", {})) if index == 0 else 0
                if classes:
                    counts["ClassificationAnnotation"] = classes
                out.append((f"{task['name']}/{name}", counts))
        return out

    def summary(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        out = []
        for item in items:
            counts: dict[str, int] = {}
            for label in item.labels:
                for annotation in label.annotations:
                    kind = type(decoded(annotation)).__name__
                    counts[kind] = counts.get(kind, 0) + 1
            out.append((item.data_row.global_key, counts))
        return out

    def unwritable(self) -> tuple[LabeledItem, str]:
        relation = Relationship(
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000002",
            "00000000-0000-4000-8000-000000000003",
            name="next to",
        )
        [item] = [
            i for i in items_of(self.entry, FIXTURE, self.read_context()) if i.data_row.global_key == "objects/SAG"
        ]
        label = Label(LabelKind.GROUND_TRUTH, (relation,))
        return LabeledItem(item.data_row, (label,), media=item.media), "Relationship"

    def comparable(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        """Annotations with volume masks compared by their voxels and values (an export writes new files)."""
        out = []
        for data_row, kind, anns in annotations(items):
            shown = []
            for a in anns:
                if isinstance(a, VolumeMask):
                    pixels = a.source.pixels
                    assert pixels is not None
                    import numpy as np

                    shown.append((a.uuid, a.name, a.values, np.isin(pixels.array(), a.values).tobytes()))
                else:
                    shown.append(_rounded(a))
            out.append((data_row, kind, tuple(shown)))
        return out

    # --- the suite's tests in their folder form ----------------------------------------------------

    def test_reads_fixture_to_expected_values(self, fixture_path: Path) -> None:
        items = items_of(self.entry, fixture_path, self.read_context())
        assert self.summary(items, fixture_path.read_bytes()) == self.expected(fixture_path)

    def test_write_then_read_round_trips(self, fixture_path: Path, tmp_path: Path) -> None:
        items = items_of(self.entry, fixture_path, self.read_context())
        report = self.entry.write(items, tmp_path, self.write_context())
        assert report.losses == [] and report.problems == []
        again = items_of(self.entry, tmp_path / "tasks.json", self.read_context(tmp_path))
        raw = (tmp_path / "tasks.json").read_bytes()
        assert self.comparable(again, raw) == self.comparable(items, raw)

    def test_write_to_file_equals_write_to_stream(self, fixture_path: Path, tmp_path: Path) -> None:
        items = items_of(self.entry, fixture_path, self.read_context())
        self.entry.write(items, tmp_path / "a", self.write_context())
        self.entry.write(items, str(tmp_path / "b"), self.write_context())
        assert _files(tmp_path / "a") == _files(tmp_path / "b")
        with pytest.raises(Exception, match="a RedBrick export is a folder"):
            self.entry.write(items, io.BytesIO(), self.write_context())

    def test_reads_every_input_kind_alike(self, fixture_path: Path) -> None:
        data = fixture_path.read_bytes()
        ctx = self.read_context()
        from_path = self.comparable(items_of(self.entry, fixture_path, ctx), data)
        assert self.comparable(items_of(self.entry, data, ctx), data) == from_path
        assert self.comparable(items_of(self.entry, io.BytesIO(data), ctx), data) == from_path

    def test_write_report_names_what_the_format_cannot_hold(self, tmp_path: Path) -> None:  # type: ignore[override]
        item, what = self.unwritable()
        report = self.entry.write([item], tmp_path, WriteContext())
        assert [loss.what for loss in report.losses] == [what], report.losses
        assert report.losses[0].reason and str(item.data_row) in str(report.losses[0])

    def test_an_image_row_is_named_in_the_report(self, tmp_path: Path) -> None:
        row = DataRow("r", "/x.png", MediaType.IMAGE, global_key="x.png")
        report = self.entry.write([LabeledItem(DataRowKey(global_key="x.png"), media=row)], tmp_path)
        assert [str(loss) for loss in report.losses] == [
            "global key 'x.png': image data row dropped: RedBrick tasks hold DICOM series and NIfTI volumes"
        ]


def _rounded(annotation: Any) -> Any:
    import dataclasses

    from labelport.model import Point

    def fix(value: Any) -> Any:
        if isinstance(value, Point):
            return Point(round(value.x, 6), round(value.y, 6))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: fix(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
            return dataclasses.replace(value, **changes)
        if isinstance(value, tuple):
            return tuple(fix(v) for v in value)
        return value

    return fix(annotation)
