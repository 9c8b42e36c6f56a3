"""Converting annotations between any two registered formats, offline, without a store.

``convert`` reads the input with its format (named, or recognised from the content), groups the items of each
data row, joins the DICOM series an item references when the target needs geometry (``--series``: one series
folder or a folder of series folders, matched by SeriesInstanceUID or by the data row's name; or the series an
item names in its own ``row_data``), and writes the target. The result carries what the reader refused
(``problems``) and the writer's report: what the target cannot hold, per item (``report.losses``).

Media are described exactly as ``labelport data-rows add`` describes them (``service.media.describe``), and the
writer reads pixels through ``FilePixels`` (arrays, inline PNGs and permitted files), never the blob store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labelport.errors import LabelportError, ValidationError
from labelport.formats import detect_format, get_format
from labelport.formats.base import ErrorPolicy, Problem, ReadContext, Sink, WriteContext, WriteReport
from labelport.imaging.codecs import decode_png_composite, encode_png_binary
from labelport.imaging.grids import grid_from_attributes, volume_on_grid
from labelport.imaging.nifti import place_on_grid
from labelport.model.geometry import RasterSource, VolumeSource
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.media import DataRow, MediaType
from labelport.service.hub import Settings
from labelport.service.masks import FileResolver
from labelport.service.media import describe, is_dicom_file

# Targets that write on a data row's voxel grid or reference its instances.
GEOMETRY_FORMATS = frozenset({"nifti", "dicom_seg", "dicom_sr", "rtstruct", "coco"})


class FilePixels:
    """Pixels for writers outside the store (``formats.base.PixelStore``): arrays in memory, inline PNGs, and
    files the resolver permits; label volumes are put on the data row's grid (reoriented, never resampled)."""

    def __init__(self, resolver: FileResolver) -> None:
        self.resolver = resolver

    def png(self, source: RasterSource) -> bytes:
        if source.png is not None:
            return source.png
        if source.pixels is not None:
            return encode_png_binary(np.asarray(source.pixels.array()))
        if source.uri is not None:
            return self.resolver.read_bytes(source.uri, "mask file")
        raise ValidationError(f"mask {source.blob!r} is in a store; a conversion reads files", field="mask")

    def plane(self, source: RasterSource) -> npt.NDArray[Any]:
        if source.pixels is not None:
            return np.asarray(source.pixels.array())
        return decode_png_composite(self.png(source))

    def volume(self, source: VolumeSource, media: Any) -> npt.NDArray[Any]:
        if not isinstance(media, DataRow):
            raise ValidationError("a label volume is placed on its data row's grid, and the data row is not known")
        grid = grid_from_attributes(media.media_attributes)
        if source.uri is not None:
            return place_on_grid(self.resolver.local_path(source.uri, "label volume"), grid).array
        return volume_on_grid(source, grid, lambda uri: self.resolver.local_path(uri, "label volume"))


def _dicom_files(folder: Path) -> bool:
    return any(p.is_file() and not p.name.startswith(".") and is_dicom_file(p) for p in folder.iterdir())


def is_image_series(path: Path) -> bool:
    """A folder holding DICOM image instances (what ``convert SERIES --to nifti`` turns into a NIfTI image)."""
    if not path.is_dir():
        return False
    try:
        from labelport.imaging import read_series_header

        read_series_header(path)
    except LabelportError:
        return False
    return True


@dataclass
class SeriesCatalog:
    """The DICOM series a conversion may join to its items: ``root`` is one series folder, or a folder whose
    sub-folders are series. Series are described on first use, like ``labelport data-rows add`` does."""

    root: Path | None
    folders: list[Path] = field(default_factory=list)
    described: dict[Path, tuple[str, MediaType, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.root is None:
            return
        if not self.root.is_dir():
            raise ValidationError(f"--series {str(self.root)!r} is not a folder", field="series", value=str(self.root))
        if _dicom_files(self.root):
            self.folders = [self.root]
        else:
            self.folders = sorted(p for p in self.root.iterdir() if p.is_dir() and _dicom_files(p))
        if not self.folders:
            raise ValidationError(
                f"--series {str(self.root)!r} holds no DICOM series (a folder of instances, or folders of them)",
                field="series",
                value=str(self.root),
            )

    def _describe(self, folder: Path) -> tuple[str, MediaType, Any]:
        if folder not in self.described:
            row_data, media_type, attributes = describe(str(folder), None, f"series {folder}")
            self.described[folder] = (str(row_data), media_type, attributes)
        return self.described[folder]

    def row(self, folder: Path, key: DataRowKey) -> DataRow:
        row_data, media_type, attributes = self._describe(folder)
        return DataRow(
            id=key.id or folder.name,
            row_data=row_data,
            media_type=media_type,
            global_key=key.global_key or folder.name,
            external_id=key.external_id,
            media_attributes=attributes,
        )

    def find(self, key: DataRowKey, series_uid: str | None = None) -> DataRow | None:
        """The series of a data row: by referenced SeriesInstanceUID, by name, or the only one there is."""
        if not self.folders:
            return None
        wanted = {series_uid, *key.names} - {None}
        if wanted:
            for folder in self.folders:
                if self._describe(folder)[2].series_instance_uid in wanted:
                    return self.row(folder, key)
        names = {key.global_key, key.external_id, key.id, *key.names} - {None}
        for folder in self.folders:
            if folder.name in names:
                return self.row(folder, key)
        if len(self.folders) == 1:
            return self.row(self.folders[0], key)
        return None

    def __call__(self, key: DataRowKey, series_uid: str | None) -> DataRow | None:
        return self.find(key, series_uid)


@dataclass
class ConvertResult:
    """What a conversion did: the formats, the output, the reader's problems and the writer's report."""

    input_format: str
    output_format: str
    output: str
    items: int
    problems: list[Problem]
    report: WriteReport

    @property
    def ok(self) -> bool:
        """No errors (losses are not errors: the target could not hold something, and the report names it)."""
        return not self.problems and not self.report.problems


def _grouped(items: Iterable[LabeledItem]) -> list[LabeledItem]:
    """The items of each data row joined into one, in order of first appearance."""
    from labelport.formats.rows import merged_rows

    order: dict[DataRowKey, list[LabeledItem]] = {}
    for item in items:
        order.setdefault(item.data_row, []).append(item)
    return [next(merged_rows(group)) for group in order.values()]


def _with_media(item: LabeledItem, catalog: SeriesCatalog) -> LabeledItem:
    """The item with its data row's media: the series it was read with, one found in the catalog, or the local
    series its own ``row_data`` names."""
    media = item.media
    if media is not None and media.media_attributes.columns is not None:
        return item
    found = catalog.find(item.data_row)
    if found is None and media is not None and Path(media.row_data).is_dir() and _dicom_files(Path(media.row_data)):
        found = SeriesCatalog(Path(media.row_data)).find(item.data_row)
    return replace(item, media=found) if found is not None else item


def convert(
    source: str | Path,
    to: str,
    output: Sink,
    *,
    series: str | Path | None = None,
    fmt: str | None = None,
    options: Mapping[str, Any] | None = None,
    read_options: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> ConvertResult:
    """Read ``source`` (format ``fmt``, or recognised from the content), write it as ``to`` to ``output``.

    ``series``: a DICOM series folder, or a folder of them, to join to the items (by SeriesInstanceUID or data
    row name) when the target needs geometry or the input is placed on a series (SEG, SR, RTSTRUCT).
    ``options``: the target's options (checked first). Raises LabelportError for unusable arguments; bad
    records are in ``problems`` and what the target could not hold in ``report.losses``.
    """
    path = Path(source)
    if not path.exists():
        raise ValidationError(f"input {str(source)!r} does not exist", field="input", value=str(source))
    writer = get_format(to, reading=False)
    reader = get_format(fmt, reading=True) if fmt is not None else detect_format(path)
    from labelport.service.exports import check_options

    checked = check_options(writer.name, options)
    catalog = SeriesCatalog(Path(series) if series is not None else None)
    resolver = FileResolver(settings or Settings.from_env(), (Path.cwd(), path.absolute().parent))
    ctx = ReadContext(
        ErrorPolicy.SKIP,
        resolver,
        options={**({"series": catalog} if catalog.folders else {}), **dict(read_options or {})},
    )
    problems: list[Problem] = []
    items: list[LabeledItem] = []
    for record in reader.read(path, ctx):
        if isinstance(record, Problem):
            problems.append(record)
        else:
            items.append(record)
    grouped = _grouped(items)
    if writer.name in GEOMETRY_FORMATS or catalog.folders:
        grouped = [_with_media(item, catalog) for item in grouped]
    ontology = _ontology(grouped)
    report = writer.write(
        grouped, output, WriteContext(ontology=ontology, pixels=FilePixels(resolver), options=checked)
    )
    shown = str(output) if isinstance(output, str | Path) else str(getattr(output, "name", "<stream>"))
    return ConvertResult(reader.name, writer.name, shown, len(grouped), problems, report)


def _ontology(items: list[LabeledItem]) -> Any:
    """The features the input defines (an Encord row's ontology, a SEG's segments), when only one is given."""
    found = [item.ontology for item in items if item.ontology is not None]
    if not found:
        return None
    first = found[0]
    if all(o is first or o == first for o in found):
        return first
    from labelport.model.ontology import Ontology

    tools: dict[str, Any] = {}
    classifications: dict[str, Any] = {}
    for ontology in found:
        for tool in ontology.tools:
            tools.setdefault(tool.name, tool)
        for classification in ontology.classifications:
            classifications.setdefault(classification.name, classification)
    try:
        return Ontology("converted", tuple(tools.values()), tuple(classifications.values()))
    except ValidationError:
        return None


__all__ = ["ConvertResult", "FilePixels", "SeriesCatalog", "convert", "is_image_series"]
