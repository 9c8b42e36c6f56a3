"""External annotation formats: an explicit, ordered registry (no directory scanning, no plugins).

Each entry names a module with the shape of ``formats/base.py``: field-name constants, ``detect``,
``read`` and ``write``. ``detect_format`` asks each in order and never decides by file extension.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO

from labelport.errors import LabelportError
from labelport.formats import labelbox_ndjson
from labelport.formats.base import Detection, Problem, Record, Source

# Below this confidence a format does not claim an input; between two claims closer than the margin, the
# caller must choose.
THRESHOLD = 0.5
AMBIGUITY_MARGIN = 0.2


@dataclass(frozen=True, slots=True)
class FormatEntry:
    """A registered format: its command-line name, a one-line description, and its module."""

    name: str
    description: str
    module: ModuleType

    def detect(self, source: Source) -> Detection:
        detect: Callable[[Source], Detection] = self.module.detect
        return detect(source)

    def read(self, source: Source) -> Iterator[Record | Problem]:
        read: Callable[[Source], Iterator[Record | Problem]] = self.module.read
        return read(source)

    def write(self, records: Iterable[Record], out: str | Path | IO[bytes]) -> int:
        write: Callable[[Iterable[Record], str | Path | IO[bytes]], int] = self.module.write
        return write(records, out)


FORMATS: tuple[FormatEntry, ...] = (
    FormatEntry(labelbox_ndjson.NAME, "Labelbox NDJSON annotation import (MAL / label import)", labelbox_ndjson),
)


class FormatDetectionError(LabelportError):
    """No registered format, or more than one, claims an input; ``candidates`` holds every detection."""

    def __init__(self, message: str, candidates: tuple[tuple[str, Detection], ...]) -> None:
        super().__init__(message)
        self.candidates = candidates


def get_format(name: str) -> FormatEntry:
    """The registered format called ``name``."""
    for entry in FORMATS:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in FORMATS)
    raise LabelportError(f"unknown format {name!r}; known formats: {known}")


def detect_format(source: Source, formats: tuple[FormatEntry, ...] = FORMATS) -> FormatEntry:
    """The one format that claims ``source``; fails naming the candidates and ``--format`` otherwise."""
    results = tuple((entry.name, entry.detect(source)) for entry in formats)
    claims = sorted(
        ((name, d) for name, d in results if d.confidence >= THRESHOLD), key=lambda item: -item[1].confidence
    )
    listing = "; ".join(f"{name} ({d.confidence:.2f}: {d.reason})" for name, d in results)
    if not claims:
        raise FormatDetectionError(
            f"no known format recognises this input. Candidates: {listing}. Pass --format NAME to choose one.",
            results,
        )
    if len(claims) > 1 and claims[0][1].confidence - claims[1][1].confidence < AMBIGUITY_MARGIN:
        close = ", ".join(name for name, d in claims if claims[0][1].confidence - d.confidence < AMBIGUITY_MARGIN)
        raise FormatDetectionError(
            f"the input matches several formats ({close}). Candidates: {listing}. Pass --format NAME to choose one.",
            results,
        )
    return get_format(claims[0][0]) if formats is FORMATS else next(e for e in formats if e.name == claims[0][0])


__all__ = ["FORMATS", "FormatDetectionError", "FormatEntry", "detect_format", "get_format"]
