"""The conformance suite every format passes (STYLE.md §4): subclass it and name the fixtures.

A subclass sets ``entry`` (the registry entry), ``fixtures`` (inputs the format must read without
problems), ``foreign`` (inputs of other formats or none it must not claim) and ``equal`` (how two lists
of records compare; formats whose writer normalises may loosen it).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from labelport.formats import FORMATS, THRESHOLD, FormatEntry, detect_format
from labelport.formats.base import Problem, Record


def records_of(entry: FormatEntry, source: Any) -> list[Record]:
    """All records of ``source``; fails listing the problems if there are any."""
    items = list(entry.read(source))
    problems = [str(i) for i in items if isinstance(i, Problem)]
    assert not problems, "\n".join(problems)
    return [i for i in items if isinstance(i, Record)]


def annotations(records: Sequence[Record]) -> list[Any]:
    return [(r.data_row, r.annotation) for r in records]


class FormatConformance:
    entry: ClassVar[FormatEntry]
    fixtures: ClassVar[Sequence[str]] = ()
    foreign: ClassVar[Sequence[Any]] = ()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "fixture_path" in metafunc.fixturenames:
            names = [Path(f).name for f in self.fixtures]
            metafunc.parametrize("fixture_path", self.fixtures, ids=names, indirect=True)

    @pytest.fixture
    def fixture_path(self, request: pytest.FixtureRequest) -> Path:
        return Path(request.param)

    def test_registered(self) -> None:
        assert self.entry in FORMATS

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

    def test_reads_fixture(self, fixture_path: Path) -> None:
        assert records_of(self.entry, fixture_path)

    def test_write_then_read_round_trips(self, fixture_path: Path) -> None:
        records = records_of(self.entry, fixture_path)
        buffer = io.BytesIO()
        assert self.entry.write(records, buffer) == len(records)
        again = records_of(self.entry, buffer.getvalue())
        assert annotations(again) == annotations(records)

    def test_write_to_file_equals_write_to_stream(self, fixture_path: Path, tmp_path: Path) -> None:
        records = records_of(self.entry, fixture_path)
        buffer = io.BytesIO()
        self.entry.write(records, buffer)
        target = tmp_path / "out"
        self.entry.write(records, target)
        assert target.read_bytes() == buffer.getvalue()
        self.entry.write(records, str(target))
        assert target.read_bytes() == buffer.getvalue()

    def comparable(self, records: Sequence[Record], raw: bytes) -> list[Any]:
        """What two reads of the same input must agree on; a format that invents ids leaves them out."""
        return annotations(records)

    def test_reads_every_input_kind_alike(self, fixture_path: Path) -> None:
        data = fixture_path.read_bytes()
        from_path = self.comparable(records_of(self.entry, fixture_path), data)
        assert self.comparable(records_of(self.entry, data), data) == from_path
        assert self.comparable(records_of(self.entry, io.BytesIO(data)), data) == from_path
