"""The media a series of an items list brings: DICOM instances (a list or a folder) or one NIfTI volume.

Paths are resolved against the items file's folder and opened through the caller's resolver (the folders
labelport may read). The series' grid is the ITK grid (DESIGN.md): DICOM instances sorted along the slice
normal whatever their order in the list, axes [column, row, slice], an affine to patient LPS mm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from labelport.errors import LabelportError, MediaError
from labelport.formats.base import Resolver
from labelport.formats.redbrick.segment_map import RecordError
from labelport.imaging.volume import LPS_TO_RAS, Grid
from labelport.model.media import MediaAttributes, MediaType


@dataclass(frozen=True, eq=False)
class SeriesMedia:
    """A series' media: kind, what a data row stores (absolute paths; DICOM files in slice order, also when the
    items list names a folder), its grid,
    media attributes, and the DICOM file of each slice (for ``instanceClassifications[].fileName``)."""

    kind: MediaType
    row_data: str | tuple[str, ...]
    grid: Grid
    attributes: MediaAttributes
    instance_count: int | None = None
    slice_files: tuple[str, ...] = ()

    def describe(self) -> str:
        columns, rows, slices = self.grid.shape
        text = f"{columns} columns x {rows} rows x {slices} slices"
        if self.kind is MediaType.DICOM and self.instance_count is not None:
            text += f" ({self.instance_count} DICOM instance{'s' if self.instance_count != 1 else ''})"
        return text


def resolve(given: Any, base: Path, resolver: Resolver, what: str, where: str) -> Path:
    """A local file or folder the items list names, relative to ``base`` unless absolute."""
    if not isinstance(given, str) or not given.strip():
        raise RecordError(f"{where}: {what} must be a path, found {given!r}", where, given)
    try:
        scheme = urlparse(given).scheme
    except ValueError as exc:  # "//[x": urlparse takes it for a host, a malformed one
        raise RecordError(f"{where}: {what} {given!r} is not a valid path or URL ({exc})", where, given) from None
    if scheme and len(scheme) > 1 and scheme != "file":
        raise RecordError(
            f"{where}: {what} {given!r} is not a local file; labelport reads items lists whose files are local",
            where,
            given,
        )
    path = Path(given)
    # ``~`` is the resolver's to expand (a server expands none); other relative paths are the list's folder's.
    home = given.startswith("~")
    candidate = path if path.is_absolute() or scheme == "file" or home else base / path
    try:
        return resolver.local_path(str(candidate) if scheme != "file" else given, what)
    except LabelportError as exc:
        # Only a file the resolver may read is said to be missing (one outside its folders gets its refusal,
        # whether it exists or not), and never with the folder's path, which on a server is the server's.
        if isinstance(exc, MediaError) and "does not exist" in str(exc):
            folder = "" if path.is_absolute() or home or scheme == "file" else " in the items list's folder"
            raise RecordError(f"{what} {given!r} does not exist{folder}", where, given) from None
        # the resolver names the path it was given; the user knows the one the items list gives
        raise RecordError(str(exc).replace(repr(str(candidate)), repr(given)), where, given) from None


def _is_dicom(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def open_series(items: Any, base: Path, resolver: Resolver, where: str) -> SeriesMedia:
    """The media of a series' ``items``: a list of DICOM files, a folder of them, one DICOM file, or one NIfTI."""
    if isinstance(items, list):
        if not items:
            raise RecordError(f"{where}: items is an empty list", where, items)
        paths = [resolve(p, base, resolver, "DICOM file", f"{where}[{i}]") for i, p in enumerate(items)]
        for given, path in zip(items, paths, strict=True):
            if path.is_dir() or not _is_dicom(path):
                raise RecordError(
                    f"{where}: {given!r} is not a DICOM file; a list of items is a DICOM series "
                    "(a NIfTI volume is one string)",
                    where,
                    given,
                )
        return _dicom(paths, where, folder=None)
    path = resolve(items, base, resolver, "series items", where)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise RecordError(f"{where}: folder {items!r} holds no files", where, items)
        return _dicom(files, where, folder=path)
    if _is_dicom(path):
        return _dicom([path], where, folder=None)
    return _nifti(path, items, where)


def _dicom(paths: Sequence[Path], where: str, folder: Path | None) -> SeriesMedia:
    from labelport.imaging import read_series_header, series_attributes

    try:
        header = read_series_header(folder if folder is not None else [str(p) for p in paths])
    except LabelportError as exc:
        raise RecordError(f"{where}: not a readable DICOM series: {exc}", where) from None
    in_order = tuple(dict.fromkeys(str(Path(s.path).absolute()) for s in header.slice_sources))
    attributes = series_attributes(header, len(in_order))
    grid = Grid((header.columns, header.rows, header.slices), header.affine_lps)
    # A folder is stored as its files in slice order too: slice k is then row_data[k] (RedBrick's fileName).
    return SeriesMedia(
        MediaType.DICOM,
        in_order,
        grid,
        attributes,
        len(in_order),
        tuple(str(Path(s.path).absolute()) for s in header.slice_sources),
    )


def _nifti(path: Path, given: str, where: str) -> SeriesMedia:
    import nibabel

    nib: Any = nibabel
    try:
        image = nib.load(str(path))
    except Exception as exc:  # nibabel raises ImageFileError, OSError, EOFError, zlib errors
        raise RecordError(
            f"{where}: {given!r} is neither DICOM nor a readable NIfTI volume ({exc})", where, given
        ) from None
    shape = tuple(int(s) for s in image.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        raise RecordError(f"{where}: NIfTI {given!r} is not a 3-D volume (shape {shape})", where, given)
    affine_lps = LPS_TO_RAS @ np.asarray(image.affine, dtype=np.float64)
    grid = Grid((shape[0], shape[1], shape[2]), affine_lps)
    spacing = grid.spacing
    attributes = MediaAttributes(
        mime_type="application/x-nifti",
        width=shape[0],
        height=shape[1],
        frames=shape[2],
        columns=shape[0],
        rows=shape[1],
        slices=shape[2],
        spacing=spacing,
        origin=(float(affine_lps[0, 3]), float(affine_lps[1, 3]), float(affine_lps[2, 3])),
        affine=tuple(float(v) for v in affine_lps.reshape(-1)),
    )
    return SeriesMedia(MediaType.NIFTI, str(path.absolute()), grid, attributes)


__all__ = ["SeriesMedia", "open_series", "resolve"]
