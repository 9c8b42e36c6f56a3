"""Recognising what a data row's ``row_data`` holds, by content, and reading its media attributes.

Media types are sniffed from the bytes (DICOM preamble, NIfTI header, image decoders), never judged by
the file name alone. A DICOM data row is one series: a folder of instances or a list of files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from labelport.errors import MediaError, ValidationError
from labelport.imaging.attributes import image_attributes, nifti_attributes, video_attributes
from labelport.imaging.sniff import is_dicom_file, is_nifti_file, sniff_media
from labelport.model.media import MediaAttributes, MediaType
from labelport.service.files import FilePolicy

_VIDEO_BRANDS = (b"ftyp", b"moov", b"mdat")
# Files of a series folder that are not instances (imaging skips the same names when it reads a folder).
_SKIPPED = frozenset({"DICOMDIR", "LICENSE", "README", "README.md", "README.txt"})
# Sniffing and header reading are imaging's; these names stay importable from here.
sniff_file = sniff_media


def is_remote(row_data: str, where: str = "data row") -> bool:
    """Whether ``row_data`` is a URL of a remote store; ValidationError (naming ``where``) for one urlparse
    cannot read (a malformed host such as ``http://[::1``)."""
    try:
        return urlparse(row_data).scheme in {"http", "https", "s3", "gs"}
    except ValueError as exc:
        raise ValidationError(
            f"{where}: row_data {_short(row_data)} is not a valid path or URL ({exc})",
            field="row_data",
            value=row_data[:200],
        ) from None


def series_files(row_data: str | Sequence[str], where: str, policy: FilePolicy | None = None) -> list[Path]:
    """The files of a DICOM series given as a folder or a list of files; each must exist and be readable
    under ``policy`` (anywhere when None). Returned resolved."""
    policy = policy or FilePolicy(None)
    if isinstance(row_data, str):
        folder = policy.path(row_data, f"{where}: row_data")
        if not folder.is_dir():
            return [policy.regular_file(row_data, f"{where}: row_data")]
        files = policy.folder_files(folder, f"{where}: row_data", repr(row_data), _SKIPPED)
        if not files:
            raise MediaError(f"{where}: DICOM series folder {row_data!r} holds no files", path=row_data)
        return files
    if not row_data:
        raise MediaError(f"{where}: the list of DICOM files is empty", path=None)
    return [policy.regular_file(p, f"{where}: DICOM file") for p in row_data]


def dicom_attributes(files: list[Path], where: str) -> MediaAttributes:
    """Rows, columns, slices, spacing, orientation and UIDs of a series, read with pydicom (no pixels)."""
    not_dicom = [p for p in files if not is_dicom_file(p)]
    if not_dicom:
        raise MediaError(
            f"{where}: not a DICOM series: {str(not_dicom[0])!r} has no DICOM header "
            f"({len(not_dicom)} of {len(files)} files are not DICOM)",
            path=str(not_dicom[0]),
        )
    from labelport.imaging import read_series_header, series_attributes

    return series_attributes(read_series_header(files), len(files))


def check_readable(path: Path, roots: Sequence[Path], where: str) -> None:
    """With roots given, a stored row's file must still lie under one of them, symlinks resolved (the rule
    ``FilePolicy`` applies when a row is made, checked again when the row is read later)."""
    if roots:
        FilePolicy.under(roots).path(str(path), f"{where}: row_data")


def describe(
    row_data: str | Sequence[str], claimed: MediaType | None, where: str, policy: FilePolicy | None = None
) -> tuple[str | list[str], MediaType, MediaAttributes]:
    """Check ``row_data`` and read its attributes; the claimed media type must match the content.

    Returns the row data to store (absolute paths), the media type and the attributes. Remote URLs are
    accepted as they are (nothing is fetched): their media type must be given. Local files are read under
    ``policy`` (``FilePolicy.for_rows``; anywhere when None): a path outside its folders, a symlink leading
    out of them, or anything but a regular file or a folder fails the row. Unreadable content (an I/O error,
    a malformed header) fails the row with the reason, never the request.
    """
    policy = policy or FilePolicy(None)
    try:
        return _describe(row_data, claimed, where, policy)
    except OSError as exc:  # /proc files, I/O errors, files gone meanwhile
        shown = row_data if isinstance(row_data, str) else None
        reason = os.strerror(exc.errno) if exc.errno is not None else type(exc).__name__
        raise MediaError(f"{where}: row_data cannot be read ({reason})", path=shown) from None


def _describe(
    row_data: str | Sequence[str], claimed: MediaType | None, where: str, policy: FilePolicy
) -> tuple[str | list[str], MediaType, MediaAttributes]:
    if not isinstance(row_data, str):
        if not isinstance(row_data, Sequence) or not all(isinstance(p, str) for p in row_data):
            raise ValidationError(
                f"{where}: row_data must be a path, a URL or a list of DICOM files, found {_short(row_data)}",
                field="row_data",
                value=_short(row_data),
            )
        if claimed not in (None, MediaType.DICOM):
            raise ValidationError(
                f"{where}: a list of files is a DICOM series, but media_type {claimed.value!r} was given",
                field="media_type",
                value=claimed.value,
            )
        files = series_files(row_data, where, policy)
        return [str(p) for p in files], MediaType.DICOM, dicom_attributes(files, where)
    if not row_data.strip():
        raise ValidationError(f"{where}: row_data is empty", field="row_data", value=row_data)
    if "\x00" not in row_data and is_remote(row_data, where):
        if claimed is None:
            raise ValidationError(
                f"{where}: row_data {_short(row_data)} is a URL; give its media_type (image, video, dicom, nifti)",
                field="media_type",
                value=None,
            )
        return row_data, claimed, MediaAttributes()
    path = policy.path(row_data, f"{where}: row_data")
    if path.is_dir():
        if claimed not in (None, MediaType.DICOM):
            raise ValidationError(
                f"{where}: row_data {row_data!r} is a folder (a DICOM series), but media_type "
                f"{claimed.value!r} was given",
                field="media_type",
                value=claimed.value,
            )
        files = series_files(row_data, where, policy)
        return str(path), MediaType.DICOM, dicom_attributes(files, where)
    path = policy.regular_file(row_data, f"{where}: row_data")
    found = sniff_media(path)
    if claimed is MediaType.DICOM and found is not MediaType.DICOM:
        raise MediaError(
            f"{where}: media_type 'dicom' was given but {row_data!r} is not a DICOM series "
            f"(its content is {found.value if found else 'not a recognised medium'})",
            path=row_data,
        )
    if found is None:
        raise MediaError(
            f"{where}: cannot recognise the content of {row_data!r} as an image, video, DICOM or NIfTI", path=row_data
        )
    if claimed is not None and claimed is not found:
        raise ValidationError(
            f"{where}: media_type {claimed.value!r} was given but {row_data!r} holds {found.value}",
            field="media_type",
            value=claimed.value,
        )
    absolute = str(path)
    if found is MediaType.DICOM:
        return absolute, found, dicom_attributes([path], where)
    if found is MediaType.NIFTI:
        return absolute, found, nifti_attributes(path)
    if found is MediaType.IMAGE:
        return absolute, found, image_attributes(path)
    return absolute, found, video_attributes(path)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


__all__ = [
    "check_readable",
    "describe",
    "dicom_attributes",
    "image_attributes",
    "is_dicom_file",
    "is_nifti_file",
    "is_remote",
    "nifti_attributes",
    "series_files",
    "sniff_file",
    "video_attributes",
]
