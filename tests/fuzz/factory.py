"""One Hypothesis test factory for every reader of the registry: fuzz it, count what it read.

``make test`` runs a few seconds per reader (``LABELPORT_FUZZ_EXAMPLES``, default 150); ``make fuzz`` runs
100,000 inputs per reader. A reader may end an input with a labelport error (a clean, named failure); any
other exception fails the test, and Hypothesis shrinks the input that caused it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelport.errors import LabelportError
from labelport.formats import get_format
from labelport.formats.base import Problem, ReadContext
from labelport.model import LabeledItem, decoded
from labelport.model.encoded import EncodedAnnotation
from labelport.service.hub import Settings
from labelport.service.masks import FileResolver


def budget(variable: str = "LABELPORT_FUZZ_EXAMPLES", default: int = 150) -> int:
    text = os.environ.get(variable, "")
    return int(text) if text.isdigit() else default


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def consume(items: object) -> int:
    """Walk what a reader yields as an importer would; the number of items."""
    count = 0
    for item in items:  # type: ignore[attr-defined]
        count += 1
        assert isinstance(item, LabeledItem | Problem), item
        if isinstance(item, Problem):
            str(item)
            continue
        str(item.data_row)
        for label in item.labels:
            for annotation in label.annotations:
                if type(annotation) is EncodedAnnotation:
                    decoded(annotation)
    return count


def reader_fuzz(name: str, inputs: st.SearchStrategy[bytes], examples: int) -> Callable[[], int]:
    """A test that reads ``examples`` inputs drawn from ``inputs`` with the registered reader ``name`` (and
    detects them); it returns how many inputs it read."""
    entry = get_format(name, reading=True)
    # A resolver that reads no local file and fetches nothing: fuzzed references fail as they would served.
    ctx = ReadContext(resolver=FileResolver(Settings(serving=True)))
    seen = [0]

    def run(data: bytes) -> None:
        seen[0] += 1
        try:
            entry.detect(data)
            consume(entry.read(data, ctx))
        except LabelportError:
            pass  # a clean, named failure of the whole input

    # Named after the reader, so Hypothesis keeps (and replays first) each reader's failures apart.
    run.__name__ = run.__qualname__ = f"fuzz_{name}"
    fuzzed = fuzz_settings(examples)(given(inputs)(run))

    def test() -> int:
        fuzzed()
        return seen[0]

    return test


__all__ = ["budget", "consume", "fuzz_settings", "reader_fuzz"]
