"""Every registered reader, fuzzed: random bytes, random JSON and near-valid inputs (``strategies.py``); no
input may raise anything but a labelport error. A reader a later format registers is fuzzed at once."""

from __future__ import annotations

import pytest

from labelport.formats import FORMATS
from tests.fuzz.factory import budget, reader_fuzz
from tests.fuzz.strategies import NEAR_VALID, SEEDS, every_input

READERS = [entry.name for entry in FORMATS if entry.reads]


def test_strategies_name_registered_readers() -> None:
    assert set(SEEDS) | set(NEAR_VALID) <= set(READERS)


@pytest.mark.parametrize("name", READERS)
def test_reader_never_raises_unhandled(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    read = reader_fuzz(name, every_input(name), budget())()
    with capsys.disabled():
        print(f"\nfuzzed reader {name}: {read} inputs, 0 unhandled exceptions")
