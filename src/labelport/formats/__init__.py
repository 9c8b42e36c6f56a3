"""External annotation formats: an explicit, ordered registry (no directory scanning, no plugins).

Each entry names a module with the shape of ``formats/base.py`` (``detect``, ``read``, ``write``) and says
what it can do: read, write, which media kinds, whether it writes one file or a folder. Callers (the CLI,
the SDK, jobs) reach a format only through ``get_format`` or ``detect_format``; ``detect_format`` asks each
entry in order and never decides by file extension.

A vendor name is an alias: ``labelbox`` reads as Labelbox NDJSON (what users import) and writes as export_v2
(what Labelbox exports).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from labelport.errors import LabelportError
from labelport.formats.base import (
    Detection,
    ErrorPolicy,
    Problem,
    ReadContext,
    Sink,
    Source,
    WriteContext,
    WriteReport,
)
from labelport.model.item import LabeledItem
from labelport.model.media import MediaType

# Below this confidence a format does not claim an input; between two claims closer than the margin, the
# caller must choose.
THRESHOLD = 0.5
AMBIGUITY_MARGIN = 0.2


class FormatModule(Protocol):
    """What a format module offers (readers and writers leave out what they do not do)."""

    NAME: str

    def detect(self, source: Source) -> Detection: ...


class Output(StrEnum):
    """What a writer produces: one file (or stream), or a folder of files."""

    FILE = "file"
    FOLDER = "folder"


@dataclass(frozen=True, slots=True)
class FormatEntry:
    """A registered format: its name, description, module and capabilities.

    ``read_alias`` / ``write_alias``: a short name that selects this entry for reading / writing.
    ``brings_media``: its items carry the data rows to create (``item.media``), so an import creates them
    first (``service.items``) rather than naming rows that exist.
    """

    name: str
    description: str
    module: FormatModule
    reads: bool
    writes: bool
    media: frozenset[MediaType]
    output: Output = Output.FILE
    read_alias: str | None = None
    write_alias: str | None = None
    doc: str = ""
    brings_media: bool = False

    def detect(self, source: Source) -> Detection:
        return self.module.detect(source)

    def read(self, source: Source, ctx: ReadContext | None = None) -> Iterator[LabeledItem | Problem]:
        """Items and problems of ``source``; with ``ErrorPolicy.STOP`` the first problem raises ParseError."""
        if not self.reads:
            raise LabelportError(f"format {self.name!r} cannot be read; it is written only")
        ctx = ctx or ReadContext()
        items: Iterator[LabeledItem | Problem] = self.module.read(source, ctx)  # type: ignore[attr-defined]
        if ctx.policy is ErrorPolicy.SKIP:
            return items
        return _stopping(items)

    def write(self, items: Iterable[LabeledItem], sink: Sink, ctx: WriteContext | None = None) -> WriteReport:
        if not self.writes:
            raise LabelportError(f"format {self.name!r} cannot be written; it is read only")
        report: WriteReport = self.module.write(items, sink, ctx or WriteContext())  # type: ignore[attr-defined]
        return report

    @property
    def abilities(self) -> str:
        return "/".join(word for word, able in (("read", self.reads), ("write", self.writes)) if able)


def _stopping(items: Iterator[LabeledItem | Problem]) -> Iterator[LabeledItem | Problem]:
    for item in items:
        if isinstance(item, Problem):
            raise item.as_error()
        yield item


def _registry() -> tuple[FormatEntry, ...]:
    from labelport.formats import coco, dicom_seg, dicom_sr, nifti, rtstruct
    from labelport.formats.encord import export as encord_export
    from labelport.formats.encord import rows as encord_rows
    from labelport.formats.labelbox import export_labels, export_v2, ndjson
    from labelport.formats.redbrick import tasks as redbrick_tasks

    everything = frozenset(MediaType)
    volumes = frozenset({MediaType.DICOM})
    return (
        FormatEntry(
            ndjson.NAME,
            "Labelbox NDJSON annotation import (MAL pre-labels and label import), one annotation per line",
            ndjson,
            reads=True,
            writes=True,
            media=frozenset({MediaType.IMAGE, MediaType.VIDEO, MediaType.DICOM}),
            read_alias="labelbox",
            doc="docs/formats/labelbox-ndjson.md",
        ),
        FormatEntry(
            export_v2.NAME,
            "Labelbox export_v2 / export() rows: one data row per line with its labels and project details",
            export_v2,
            reads=True,
            writes=True,
            media=everything,
            write_alias="labelbox",
            doc="docs/formats/labelbox-export-v2.md",
        ),
        FormatEntry(
            export_labels.NAME,
            "Labelbox legacy export_labels JSON (one label per element; video and DICOM frames in files)",
            export_labels,
            reads=False,
            writes=True,
            media=everything,
            output=Output.FOLDER,
            doc="docs/formats/labelbox-export-v2.md",
        ),
        FormatEntry(
            nifti.NAME,
            "NIfTI label maps on each data row's grid (RAS affine) with a JSON sidecar naming the labels",
            nifti,
            reads=True,
            writes=True,
            media=frozenset({MediaType.DICOM, MediaType.NIFTI}),
            output=Output.FOLDER,
            doc="docs/formats/nifti.md",
        ),
        FormatEntry(
            dicom_seg.NAME,
            "DICOM SEG (BINARY or LABELMAP segmentation) on the source series, one per data row (highdicom)",
            dicom_seg,
            reads=True,
            writes=True,
            media=volumes,
            output=Output.FOLDER,
            read_alias="seg",
            write_alias="seg",
            doc="docs/formats/dicom-seg.md",
        ),
        FormatEntry(
            dicom_sr.NAME,
            "DICOM SR TID 1500: drawings (SCOORD on the acquisition plane, SCOORD3D on others), classifications",
            dicom_sr,
            reads=True,
            writes=True,
            media=volumes,
            output=Output.FOLDER,
            read_alias="sr",
            write_alias="sr",
            doc="docs/formats/dicom-sr.md",
        ),
        FormatEntry(
            rtstruct.NAME,
            "RTSTRUCT: each feature's voxels as closed planar contours in patient coordinates, one per data row",
            rtstruct,
            reads=True,
            writes=True,
            media=volumes,
            output=Output.FOLDER,
            doc="docs/formats/rtstruct.md",
        ),
        FormatEntry(
            coco.NAME,
            "COCO JSON: boxes, polygons, RLE masks and points on images (volumes as 2-D slices of one plane)",
            coco,
            reads=True,
            writes=True,
            media=frozenset({MediaType.IMAGE, MediaType.DICOM, MediaType.NIFTI}),
            doc="docs/formats/coco.md",
        ),
        FormatEntry(
            redbrick_tasks.NAME,
            "RedBrick AI items list with NIfTI segmentations (import, media included); tasks.json with a "
            "segmentations folder (export)",
            redbrick_tasks,
            reads=True,
            writes=True,
            media=frozenset({MediaType.DICOM, MediaType.NIFTI}),
            output=Output.FOLDER,
            read_alias="redbrick",
            write_alias="redbrick",
            doc="docs/formats/redbrick.md",
            brings_media=True,
        ),
        FormatEntry(
            encord_rows.NAME,
            "Encord label rows (LabelRowV2 dicts, an Encord export): image, image group, video, DICOM, NIfTI",
            encord_rows,
            reads=True,
            writes=True,
            media=everything,
            read_alias="encord",
            doc="docs/formats/encord.md",
        ),
        FormatEntry(
            encord_export.NAME,
            "Encord export folder: label_rows.json with the Encord ontology.json they pair with",
            encord_export,
            reads=False,
            writes=True,
            media=everything,
            output=Output.FOLDER,
            write_alias="encord",
            doc="docs/formats/encord.md",
        ),
    )


FORMATS: tuple[FormatEntry, ...] = _registry()


class FormatDetectionError(LabelportError):
    """No registered format, or more than one, claims an input; ``candidates`` holds every detection."""

    def __init__(self, message: str, candidates: tuple[tuple[str, Detection], ...]) -> None:
        super().__init__(message)
        self.candidates = candidates


def get_format(name: str, *, reading: bool | None = None) -> FormatEntry:
    """The registered format called ``name`` (or with that alias for reading / writing)."""
    for entry in FORMATS:
        if entry.name == name:
            return entry
    for entry in FORMATS:
        if (reading is not False and entry.read_alias == name and entry.reads) or (
            reading is not True and entry.write_alias == name and entry.writes
        ):
            return entry
    able = [e for e in FORMATS if reading is None or (e.reads if reading else e.writes)]
    names = sorted({n for e in able for n in (e.name, e.read_alias if reading else e.write_alias) if n})
    what = "" if reading is None else (" to read" if reading else " to write")
    raise LabelportError(f"unknown format {name!r}{what}; known: {', '.join(names)} (see `labelport formats`)")


def detect_format(source: Source, formats: tuple[FormatEntry, ...] | None = None) -> FormatEntry:
    """The one format that claims ``source``; fails naming the candidates and ``--format`` otherwise."""
    candidates = formats if formats is not None else tuple(e for e in FORMATS if e.reads)
    results = tuple((entry.name, entry.detect(source)) for entry in candidates)
    claims = sorted(
        ((name, d) for name, d in results if d.confidence >= THRESHOLD), key=lambda item: -item[1].confidence
    )
    listing = "; ".join(f"{name} ({d.confidence:.2f}: {d.reason})" for name, d in results)
    if not claims:
        raise FormatDetectionError(
            f"no known format recognises this input. Candidates: {listing}. Name the format to choose one.",
            results,
        )
    if len(claims) > 1 and claims[0][1].confidence - claims[1][1].confidence < AMBIGUITY_MARGIN:
        close = ", ".join(name for name, d in claims if claims[0][1].confidence - d.confidence < AMBIGUITY_MARGIN)
        raise FormatDetectionError(
            f"the input matches several formats ({close}). Candidates: {listing}. Name the format to choose one.",
            results,
        )
    return next(e for e in candidates if e.name == claims[0][0])


__all__ = [
    "FORMATS",
    "FormatDetectionError",
    "FormatEntry",
    "Output",
    "detect_format",
    "get_format",
]
