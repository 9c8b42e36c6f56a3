"""The conformance suite every registered format passes (STYLE.md §4): subclass it and name the fixtures.

A subclass sets ``entry`` (the registry entry), ``fixtures`` (inputs the format must read without problems),
``foreign`` (inputs of other formats, or none, it must not claim) and implements ``expected``: what reading a
fixture must give, worked out from the raw file independently of the reader (identifiers, annotation kinds,
uuids). ``summary`` turns items into the same shape. ``unwritable`` is an item holding something the format
cannot hold, and ``lost`` what the write report must name for it. A write-only format sets ``reads = False``
and gives ``items`` to write instead of fixtures.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from labelport.formats import FORMATS, THRESHOLD, FormatEntry, detect_format
from labelport.formats.base import Problem, ReadContext, WriteContext
from labelport.model import LabeledItem, decoded


def items_of(entry: FormatEntry, source: Any, ctx: ReadContext | None = None) -> list[LabeledItem]:
    """All items of ``source``; fails listing the problems if there are any."""
    read = list(entry.read(source, ctx))
    problems = [str(i) for i in read if isinstance(i, Problem)]
    assert not problems, "\n".join(problems)
    return [i for i in read if isinstance(i, LabeledItem)]


def annotations(items: Sequence[LabeledItem]) -> list[Any]:
    """(data row, label kind, decoded annotations) of each item: what a round trip must keep."""
    return [
        (item.data_row, label.kind, tuple(decoded(a) for a in label.annotations))
        for item in items
        for label in item.labels
    ]


class FormatConformance:
    entry: ClassVar[FormatEntry]
    fixtures: ClassVar[Sequence[Path]] = ()
    foreign: ClassVar[Sequence[Any]] = ()
    reads: ClassVar[bool] = True

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "fixture_path" in metafunc.fixturenames:
            metafunc.parametrize("fixture_path", self.fixtures, ids=[Path(f).name for f in self.fixtures])

    # --- hooks -------------------------------------------------------------------------------------

    def expected(self, path: Path) -> list[Any]:
        """What reading ``path`` must give, from the raw file (compared with ``summary`` of the items)."""
        raise NotImplementedError

    def summary(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        raise NotImplementedError

    def unwritable(self) -> tuple[LabeledItem, str]:
        """An item with something the format cannot hold, and the ``what`` its loss report names."""
        raise NotImplementedError

    def write_context(self) -> WriteContext:
        return WriteContext()

    def comparable(self, items: Sequence[LabeledItem], raw: bytes) -> list[Any]:
        """What two reads of the same input must agree on; a format that invents ids leaves them out."""
        return annotations(items)

    # --- the suite ---------------------------------------------------------------------------------

    def test_registered(self) -> None:
        assert self.entry in FORMATS
        assert self.entry.reads is self.reads

    def test_detects_itself(self, fixture_path: Path) -> None:
        detection = self.entry.detect(fixture_path)
        assert detection.confidence >= THRESHOLD, detection.reason
        assert detect_format(fixture_path) is self.entry

    def test_other_formats_do_not_claim_its_fixtures(self, fixture_path: Path) -> None:
        for other in FORMATS:
            if other is not self.entry:
                assert other.detect(fixture_path).confidence < THRESHOLD, other.name

    def test_does_not_claim_foreign_input(self) -> None:
        for source in self.foreign:
            detection = self.entry.detect(source)
            assert detection.confidence < THRESHOLD, (source, detection)
            assert detection.reason

    def test_reads_fixture_to_expected_values(self, fixture_path: Path) -> None:
        items = items_of(self.entry, fixture_path)
        assert self.summary(items, fixture_path.read_bytes()) == self.expected(fixture_path)

    def test_write_then_read_round_trips(self, fixture_path: Path) -> None:
        items = items_of(self.entry, fixture_path)
        buffer = io.BytesIO()
        report = self.entry.write(items, buffer, self.write_context())
        assert report.losses == [] and report.problems == []
        again = items_of(self.entry, buffer.getvalue())
        assert self.comparable(again, buffer.getvalue()) == self.comparable(items, buffer.getvalue())

    def test_write_to_file_equals_write_to_stream(self, fixture_path: Path, tmp_path: Path) -> None:
        items = items_of(self.entry, fixture_path)
        buffer = io.BytesIO()
        self.entry.write(items, buffer, self.write_context())
        target = tmp_path / "out"
        self.entry.write(items, target, self.write_context())
        assert target.read_bytes() == buffer.getvalue()
        self.entry.write(items, str(target), self.write_context())
        assert target.read_bytes() == buffer.getvalue()

    def test_reads_every_input_kind_alike(self, fixture_path: Path) -> None:
        data = fixture_path.read_bytes()
        from_path = self.comparable(items_of(self.entry, fixture_path), data)
        assert self.comparable(items_of(self.entry, data), data) == from_path
        assert self.comparable(items_of(self.entry, io.BytesIO(data)), data) == from_path

    def test_write_report_names_what_the_format_cannot_hold(self) -> None:
        item, what = self.unwritable()
        report = self.entry.write([item], io.BytesIO(), self.write_context())
        assert [loss.what for loss in report.losses] == [what], report.losses
        assert report.losses[0].reason and str(item.data_row) in str(report.losses[0])


class WriterConformance:
    """The part of the suite a write-only format passes: registered as such, refuses to read, writes items to
    its output, and names in its report what it cannot hold. A subclass gives ``entry`` and ``unwritable``;
    ``output(tmp_path)`` is where it writes (a folder for folder formats)."""

    entry: ClassVar[FormatEntry]

    def unwritable(self) -> tuple[LabeledItem, str]:
        raise NotImplementedError

    def output(self, tmp_path: Path) -> Path:
        return tmp_path / "out"

    def write_context(self) -> WriteContext:
        return WriteContext()

    def test_registered_as_written_only(self) -> None:
        from labelport.errors import LabelportError

        assert self.entry in FORMATS and self.entry.writes and not self.entry.reads
        with pytest.raises(LabelportError, match="cannot be read"):
            self.entry.read(b"")

    def test_detects_nothing(self) -> None:
        for source in (b"", b"{}", b'{"data_row": {}}'):
            assert self.entry.detect(source).confidence < THRESHOLD

    def test_write_report_names_what_the_format_cannot_hold(self, tmp_path: Path) -> None:
        item, what = self.unwritable()
        report = self.entry.write([item], self.output(tmp_path), self.write_context())
        assert [loss.what for loss in report.losses] == [what], report.losses
        assert report.items == 1 and str(item.data_row) in str(report.losses[0])
