"""DICOM series -> Volume: voxels on the ITK grid plus a 4x4 affine to patient LPS millimetres.

Conventions (docs/imaging.md, DESIGN.md "Geometry conventions"):

- instances (or the frames of an enhanced multi-frame file) are sorted by ascending ``IPP . n`` with
  ``n = row direction x column direction`` (``IOP[0:3] x IOP[3:6]``); file names and InstanceNumber
  play no role;
- ``array`` axes are ``[column, row, slice]`` (pydicom gives ``[row, column]`` per frame);
- ``affine_lps`` columns are ``[dc * X, dr * Y, S, IPP_first]`` with ``X = IOP[0:3]``,
  ``Y = IOP[3:6]``, ``PixelSpacing = [dr, dc]`` and ``S = (IPP_last - IPP_first) / (n - 1)``;
- NIfTI RAS = ``diag(-1, -1, 1, 1) @ LPS``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.multival import MultiValue

from labelport.errors import LabelportError, MediaError, ValidationError
from labelport.imaging._dicomscan import TAGS, ScannedHeader, parse_value, scan

LPS_TO_RAS: npt.NDArray[np.float64] = np.diag([-1.0, -1.0, 1.0, 1.0])

# Direction cosines written by scanners carry 5-6 significant digits; 1e-4 separates real differences.
ORIENTATION_TOLERANCE = 1e-4
# Relative deviation of a slice gap from the median gap that counts as uneven (dcm2niix uses a similar rule).
SPACING_TOLERANCE = 0.01
# Transfer syntaxes whose PixelData is little-endian native pixels we can view without a decoder.
_NATIVE_LITTLE_ENDIAN = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
_SKIPPED_NAMES = {"DICOMDIR", "LICENSE", "README", "README.md", "README.txt"}
_SERIES_TAGS = [
    "SOPInstanceUID",
    "SeriesInstanceUID",
    "StudyInstanceUID",
    "SeriesDescription",
    "Modality",
    "InstanceNumber",
    "NumberOfFrames",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class SliceSource:
    """Where one slice of a Volume came from: file, SOP instance, and 1-based frame in a multi-frame file."""

    path: str
    sop_instance_uid: str | None
    instance_number: int | None = None
    frame: int | None = None

    def describe(self) -> str:
        """Name the instance for messages: file, and the frame when the file holds several."""
        name = self.path if self.frame is None else f"{self.path} frame {self.frame}"
        return name


class _PatientGeometry:
    """What follows from an LPS affine alone; shared by ``Grid`` and ``Volume``."""

    affine_lps: npt.NDArray[np.float64]

    @property
    def affine_ras(self) -> npt.NDArray[np.float64]:
        """The NIfTI (RAS) affine: ``diag(-1, -1, 1, 1) @ affine_lps``."""
        return LPS_TO_RAS @ self.affine_lps

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size along (column, row, slice) in mm."""
        return _spacing(self.affine_lps)

    @property
    def orientation_codes(self) -> str:
        """Where each array axis points to, e.g. ``LPS`` for a plain axial series (nibabel axcodes)."""
        return orientation_codes(self.affine_lps)


@dataclass(frozen=True, slots=True)
class Grid(_PatientGeometry):
    """A voxel grid: shape [column, row, slice] and the affine from voxel index to patient LPS mm."""

    shape: tuple[int, int, int]
    affine_lps: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        _check_grid(self.shape, self.affine_lps)


@dataclass(frozen=True, eq=False)
class Volume(_PatientGeometry):
    """Voxels of a series, axes [column, row, slice], and where they are in the patient (LPS mm).

    ``array`` holds the stored pixel values; real-world values are ``array * rescale_slope +
    rescale_intercept`` (kept apart, as dcm2niix does, so integer data stays integer).
    """

    array: npt.NDArray[Any]
    affine_lps: npt.NDArray[np.float64]
    slices: tuple[SliceSource, ...] = ()
    warnings: tuple[str, ...] = ()
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    modality: str | None = None
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    series_description: str | None = None

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValidationError(
                f"a Volume array must be 3-D [column, row, slice], found shape {self.array.shape}",
                field="array",
                value=self.array.shape,
            )
        _check_grid(self.array.shape, self.affine_lps)
        if self.slices and len(self.slices) != self.array.shape[2]:
            raise ValidationError(
                f"a Volume with {self.array.shape[2]} slices needs as many slice sources, found {len(self.slices)}",
                field="slices",
                value=len(self.slices),
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(columns, rows, slices)."""
        s = self.array.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def grid(self) -> Grid:
        """The voxel grid alone, without voxels."""
        return Grid(self.shape, self.affine_lps)


@dataclass(frozen=True, slots=True)
class SeriesHeader:
    """Geometry and identity of a series, read without pixel data (fast, for media attributes)."""

    rows: int
    columns: int
    slices: int
    spacing: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    origin: tuple[float, float, float]
    affine_lps: npt.NDArray[np.float64]
    modality: str | None
    study_instance_uid: str | None
    series_instance_uid: str | None
    series_description: str | None
    slice_sources: tuple[SliceSource, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def orientation_codes(self) -> str:
        """Where each array axis points to (nibabel axcodes of the RAS affine)."""
        return orientation_codes(self.affine_lps)

    def as_dict(self) -> dict[str, Any]:
        """Media attributes as plain values (the keys of ``labelport.model.media.MediaAttributes``)."""
        return {
            "rows": self.rows,
            "columns": self.columns,
            "slices": self.slices,
            "spacing": self.spacing,
            "orientation": self.orientation,
            "origin": self.origin,
            "modality": self.modality,
            "study_instance_uid": self.study_instance_uid,
            "series_instance_uid": self.series_instance_uid,
            "series_description": self.series_description,
            "instance_count": len({s.path for s in self.slice_sources}) or None,
        }


@dataclass(slots=True)
class _Frame:
    """One 2-D frame found in a file, with the geometry read from its headers."""

    source: SliceSource
    dataset: Dataset | ScannedHeader
    ipp: npt.NDArray[np.float64]
    iop: npt.NDArray[np.float64]
    pixel_spacing: tuple[float, float]
    rows: int
    columns: int
    slope: float
    intercept: float
    series_uid: str | None
    index_in_file: int = 0
    thickness: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _get(ds: Dataset | ScannedHeader, keyword: str, default: Any = None) -> Any:
    """``ds.get(keyword)``; raw little-endian values of the tags in TAGS are parsed directly."""
    # pydicom's generic value conversion costs more than parsing the file; these tags are read for
    # every instance, so parse their bytes here.
    if isinstance(ds, ScannedHeader):
        return ds.get(keyword, default)
    known = TAGS.get(keyword)
    encoding = getattr(ds, "original_encoding", (None, None))
    if known is None or encoding[1] is not True:
        return ds.get(keyword, default)
    tag, vr = known
    if tag not in ds:
        return default
    element = ds.get_item(tag)
    if not isinstance(element, RawDataElement):
        return element.value
    value = parse_value(element.value, vr)
    return default if value is None else value


def _optional_number(ds: Dataset | ScannedHeader, where: str, keyword: str) -> float | None:
    """One finite number of a header, None when absent or empty; a MediaError naming the file and the tag
    when it is malformed (not a number, several values, not finite)."""
    try:
        value = _get(ds, keyword)
    except (ValueError, TypeError, OverflowError, struct.error) as exc:
        raise MediaError(f"{where}: {keyword} cannot be read ({exc})", path=_file_of(where)) from None
    if value is None or value == "":
        return None
    if not isinstance(value, str | bytes) and isinstance(value, Sequence | MultiValue):
        values = list(value)
        if len(values) != 1:
            raise MediaError(f"{where}: {keyword} holds {len(values)} values; one was expected", path=_file_of(where))
        value = values[0]
    try:
        number = float(value)
    except (ValueError, TypeError, OverflowError):
        raise MediaError(f"{where}: {keyword} is not a number: {str(value)[:40]!r}", path=_file_of(where)) from None
    if not np.isfinite(number):
        raise MediaError(f"{where}: {keyword} must be finite, found {number}", path=_file_of(where))
    return number


def _number(ds: Dataset | ScannedHeader, where: str, keyword: str, default: float) -> float:
    """``_optional_number``, ``default`` when absent."""
    number = _optional_number(ds, where, keyword)
    return default if number is None else number


def _integer(ds: Dataset | ScannedHeader, where: str, keyword: str, default: int) -> int:
    """``_number`` for a count or a code (frames, bits, rows): a whole number >= 0."""
    number = _number(ds, where, keyword, default)
    if number < 0 or number != int(number) or number > 2**31:
        raise MediaError(f"{where}: {keyword} must be a whole number >= 0, found {number}", path=_file_of(where))
    return int(number)


def _file_of(where: str) -> str:
    return where.split(" frame ")[0]


def orientation_codes(affine_lps: npt.NDArray[np.float64]) -> str:
    """Nearest patient direction of each voxel axis, as letters (``LPS``, ``PIR``, ``LAS``...)."""
    import nibabel.orientations

    nio: Any = nibabel.orientations  # untyped module
    return "".join(str(c) for c in nio.aff2axcodes(LPS_TO_RAS @ affine_lps))


def load_series(source: PathLike | Iterable[PathLike]) -> Volume:
    """Read a DICOM series (a directory or a list of files) into a Volume on the ITK grid.

    Raises MediaError naming the file for non-DICOM files (in an explicit list), missing geometry
    tags, mixed series, mixed orientations or sizes, and two slices at one position. Missing or
    unevenly spaced slices are kept and reported in ``Volume.warnings``.
    """
    paths, warnings = _collect_paths(source)
    frames = _read_frames(paths, with_pixels=True, warnings=warnings)
    order, affine, geometry_warnings = _geometry(frames)
    warnings.extend(geometry_warnings)
    sorted_frames = [frames[i] for i in order]
    stack, slope, intercept, pixel_warnings = _pixel_stack(sorted_frames)
    warnings.extend(pixel_warnings)
    first = sorted_frames[0].dataset
    return Volume(
        # (slice, row, column) C-order transposed is (column, row, slice) F-order: no copy, and
        # exactly the memory layout NIfTI writers want.
        array=stack.transpose(2, 1, 0),
        affine_lps=affine,
        slices=tuple(f.source for f in sorted_frames),
        warnings=tuple(warnings),
        rescale_slope=slope,
        rescale_intercept=intercept,
        modality=_str_or_none(_get(first, "Modality")),
        study_instance_uid=_str_or_none(_get(first, "StudyInstanceUID")),
        series_instance_uid=sorted_frames[0].series_uid,
        series_description=_str_or_none(_get(first, "SeriesDescription")),
    )


def read_series_header(source: PathLike | Iterable[PathLike]) -> SeriesHeader:
    """Read the geometry of a series without pixel data; same checks and errors as ``load_series``."""
    paths, warnings = _collect_paths(source)
    frames = _read_frames(paths, with_pixels=False, warnings=warnings)
    order, affine, geometry_warnings = _geometry(frames)
    warnings.extend(geometry_warnings)
    first_frame = frames[order[0]]
    first = first_frame.dataset
    spacing = _spacing(affine)
    return SeriesHeader(
        rows=first_frame.rows,
        columns=first_frame.columns,
        slices=len(frames),
        spacing=spacing,
        orientation=tuple(float(v) for v in first_frame.iop),  # type: ignore[arg-type]
        origin=(float(affine[0, 3]), float(affine[1, 3]), float(affine[2, 3])),
        affine_lps=affine,
        modality=_str_or_none(_get(first, "Modality")),
        study_instance_uid=_str_or_none(_get(first, "StudyInstanceUID")),
        series_instance_uid=first_frame.series_uid,
        series_description=_str_or_none(_get(first, "SeriesDescription")),
        slice_sources=tuple(frames[i].source for i in order),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, eq=False)
class SlicePixels:
    """The stored values of one slice, axes [column, row], and its rescale to modality values."""

    array: npt.NDArray[Any]
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0


def load_slice(source: SliceSource) -> SlicePixels:
    """One slice of a series read from its file alone: ``SeriesHeader.slice_sources[k]`` gives the stored values
    ``load_series`` puts at ``array[:, :, k]`` (a viewer's first look at a long series reads one file, not all).

    Single-frame instances only: a frame of an enhanced multi-frame file needs the whole file's functional
    groups, so ``load_series`` reads those. Raises MediaError naming the file when it cannot be decoded.
    """
    if source.frame is not None:
        raise MediaError(
            f"{source.describe()}: a frame of a multi-frame file is read with the whole series", path=source.path
        )
    scanned = scan(source.path, with_pixels=True)
    try:
        ds = scanned if scanned is not None else pydicom.dcmread(source.path)
    except (InvalidDicomError, EOFError, OSError, ValueError, TypeError) as exc:
        raise MediaError(f"{source.path}: not a readable DICOM file ({exc})", path=source.path) from exc
    data = _pixels(ds, source.path)
    if data.ndim != 2:
        raise MediaError(f"{source.path}: expected one frame, found {data.shape[0]}", path=source.path)
    return SlicePixels(
        array=data.T,
        rescale_slope=float(_get(ds, "RescaleSlope", 1.0) or 1.0),
        rescale_intercept=float(_get(ds, "RescaleIntercept", 0.0) or 0.0),
    )


def _collect_paths(source: PathLike | Iterable[PathLike]) -> tuple[list[tuple[str, bool]], list[str]]:
    """Files to read, each flagged strict (named by the caller) or lenient (found in a directory)."""
    warnings: list[str] = []
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            names = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            files = [(str(p), False) for p in names if p.name not in _SKIPPED_NAMES]
            if not files:
                raise MediaError(f"{path}: the directory holds no files; expected a DICOM series", path=str(path))
            return files, warnings
        if not path.exists():
            raise MediaError(f"{path}: no such file or directory", path=str(path))
        return [(str(path), True)], warnings
    files = [(os.fspath(p), True) for p in source]
    if not files:
        raise MediaError("no files given; expected the files of one DICOM series")
    return files, warnings


def _read_frames(paths: list[tuple[str, bool]], *, with_pixels: bool, warnings: list[str]) -> list[_Frame]:
    frames: list[_Frame] = []
    skipped: list[str] = []
    for path, strict in paths:
        scanned = scan(path, with_pixels=with_pixels)
        try:
            ds = scanned if scanned is not None else pydicom.dcmread(path, stop_before_pixels=not with_pixels)
        except _MALFORMED as exc:
            if strict:
                raise MediaError(f"{path}: not a readable DICOM file ({_reason(exc)})", path=path) from exc
            skipped.append(path)
            continue
        try:
            found = _frames_or_none(path, ds, with_pixels)
        except LabelportError:
            raise
        except _MALFORMED as exc:
            # pydicom converts values as they are read: a malformed element fails here, not in dcmread.
            raise MediaError(f"{path}: malformed DICOM header ({_reason(exc)})", path=path) from exc
        if found is not None:
            frames.extend(found)
            continue
        if strict:
            raise MediaError(
                f"{path}: DICOM object without an image (SOP class {_get(ds, 'SOPClassUID')}); "
                "expected an image instance",
                path=path,
            )
        skipped.append(path)
    if not frames:
        named = ", ".join(skipped[:3])
        raise MediaError(f"no DICOM image found (not DICOM: {named})", path=skipped[0] if skipped else None)
    if skipped:
        warnings.append(f"skipped {len(skipped)} file(s) that are not DICOM images: {', '.join(skipped[:5])}")
    _check_consistent(frames)
    return frames


# What pydicom raises for malformed files and elements (its own errors, and the builtins its parsers hit).
_MALFORMED = (
    InvalidDicomError,
    BytesLengthException,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    NotImplementedError,
    OverflowError,
    struct.error,
)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


def _frames_or_none(path: str, ds: Dataset | ScannedHeader, with_pixels: bool) -> list[_Frame] | None:
    """The frames of a file, or None for an object without an image (DICOMDIR, SR, KOS, presentation
    states: not part of the image volume)."""
    if "SOPClassUID" in ds and not _has_image(ds, with_pixels):
        return None
    return _frames_of(path, ds)


def _has_image(ds: Dataset | ScannedHeader, with_pixels: bool) -> bool:
    if with_pixels:
        return "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
    return "Rows" in ds and "Columns" in ds


def _frames_of(path: str, ds: Dataset | ScannedHeader) -> list[_Frame]:
    """Split a file into frames with their geometry (single-frame or enhanced multi-frame)."""
    n_frames = _integer(ds, path, "NumberOfFrames", 1) or 1
    rows, columns = _required(ds, path, "Rows"), _required(ds, path, "Columns")
    series_uid = _str_or_none(_get(ds, "SeriesInstanceUID"))
    sop = _str_or_none(_get(ds, "SOPInstanceUID"))
    instance = _optional_number(ds, path, "InstanceNumber")
    instance_number = int(instance) if instance is not None else None
    if "PerFrameFunctionalGroupsSequence" in ds or n_frames > 1:
        full = pydicom.dcmread(path) if isinstance(ds, ScannedHeader) else ds
        return _enhanced_frames(path, full, n_frames, rows, columns, series_uid, sop, instance_number)
    source = SliceSource(path, sop, instance_number)
    ipp = _vector(ds, path, "ImagePositionPatient", 3)
    iop = _vector(ds, path, "ImageOrientationPatient", 6)
    spacing = _vector(ds, path, "PixelSpacing", 2)
    slope = _number(ds, path, "RescaleSlope", 1.0) or 1.0
    intercept = _number(ds, path, "RescaleIntercept", 0.0)
    thickness = _number(ds, path, "SpacingBetweenSlices", 0.0) or _number(ds, path, "SliceThickness", 0.0)
    return [
        _Frame(
            source=source,
            dataset=ds,
            ipp=ipp,
            iop=iop,
            pixel_spacing=(float(spacing[0]), float(spacing[1])),
            rows=rows,
            columns=columns,
            slope=slope,
            intercept=intercept,
            series_uid=series_uid,
            thickness=float(thickness) if thickness else None,
        )
    ]


def _enhanced_frames(
    path: str,
    ds: Dataset,
    n_frames: int,
    rows: int,
    columns: int,
    series_uid: str | None,
    sop: str | None,
    instance_number: int | None,
) -> list[_Frame]:
    per_frame = _get(ds, "PerFrameFunctionalGroupsSequence")
    shared_seq = _get(ds, "SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else Dataset()
    if per_frame is None or len(per_frame) != n_frames:
        found = 0 if per_frame is None else len(per_frame)
        raise MediaError(
            f"{path}: multi-frame file with {n_frames} frames has {found} per-frame functional groups; "
            "cannot place its frames in the patient (missing geometry)",
            path=path,
        )
    frames: list[_Frame] = []
    for index, item in enumerate(per_frame):
        where = f"{path} frame {index + 1}"

        def group(name: str, item: Dataset = item) -> Dataset | None:
            for holder in (item, shared):
                seq = holder.get(name)
                if seq:
                    return seq[0]  # type: ignore[no-any-return]
            return None

        position = group("PlanePositionSequence")
        orientation = group("PlaneOrientationSequence")
        measures = group("PixelMeasuresSequence")
        transform = group("PixelValueTransformationSequence")
        ipp = _vector(position, where, "ImagePositionPatient", 3)
        iop = _vector(orientation, where, "ImageOrientationPatient", 6)
        spacing = _vector(measures, where, "PixelSpacing", 2)
        thickness = None
        if measures is not None:
            thickness = measures.get("SpacingBetweenSlices") or measures.get("SliceThickness")
        slope = float(transform.get("RescaleSlope", 1.0) or 1.0) if transform else 1.0
        intercept = float(transform.get("RescaleIntercept", 0.0) or 0.0) if transform else 0.0
        frames.append(
            _Frame(
                source=SliceSource(path, sop, instance_number, index + 1),
                dataset=ds,
                ipp=ipp,
                iop=iop,
                pixel_spacing=(float(spacing[0]), float(spacing[1])),
                rows=rows,
                columns=columns,
                slope=slope,
                intercept=intercept,
                series_uid=series_uid,
                index_in_file=index,
                thickness=float(thickness) if thickness else None,
            )
        )
    return frames


def _check_consistent(frames: Sequence[_Frame]) -> None:
    """Every frame must belong to one series, one orientation, one matrix size and one pixel spacing."""
    ref = frames[0]
    for f in frames[1:]:
        if f.series_uid != ref.series_uid:
            raise MediaError(
                f"{f.source.describe()}: belongs to series {f.series_uid}, but "
                f"{ref.source.describe()} belongs to series {ref.series_uid}; "
                "pass the files of one series only (mixed series)",
                path=f.source.path,
            )
        if not np.allclose(f.iop, ref.iop, atol=ORIENTATION_TOLERANCE):
            raise MediaError(
                f"{f.source.describe()}: ImageOrientationPatient {_fmt(f.iop)} differs from "
                f"{_fmt(ref.iop)} in {ref.source.describe()}; a volume needs one orientation "
                "(mixed orientations, e.g. a localizer)",
                path=f.source.path,
            )
        if (f.rows, f.columns) != (ref.rows, ref.columns):
            raise MediaError(
                f"{f.source.describe()}: image is {f.columns} x {f.rows} px but "
                f"{ref.source.describe()} is {ref.columns} x {ref.rows} px (mixed sizes)",
                path=f.source.path,
            )
        if not np.allclose(f.pixel_spacing, ref.pixel_spacing, rtol=1e-4, atol=1e-6):
            raise MediaError(
                f"{f.source.describe()}: PixelSpacing {list(f.pixel_spacing)} differs from "
                f"{list(ref.pixel_spacing)} in {ref.source.describe()} (mixed pixel spacing)",
                path=f.source.path,
            )


def _geometry(frames: Sequence[_Frame]) -> tuple[list[int], npt.NDArray[np.float64], list[str]]:
    """Sort frames along the normal and build the LPS affine; report gaps and uneven spacing."""
    warnings: list[str] = []
    ref = frames[0]
    row_dir, col_dir = ref.iop[:3], ref.iop[3:]
    normal = np.cross(row_dir, col_dir)
    positions = np.array([f.ipp for f in frames])
    distance = positions @ normal
    order = [int(i) for i in np.argsort(distance, kind="stable")]
    d_sorted = distance[order]
    gaps = np.diff(d_sorted)
    for g_index in np.flatnonzero(np.abs(gaps) < 1e-3):
        a, b = frames[order[g_index]], frames[order[g_index + 1]]
        raise MediaError(
            f"{b.source.describe()}: at the same position {_fmt(b.ipp)} as {a.source.describe()}; "
            "a volume needs one slice per position (several echoes, phases or acquisitions?)",
            path=b.source.path,
        )
    d_col, d_row = ref.pixel_spacing[1], ref.pixel_spacing[0]
    affine = np.eye(4)
    affine[:3, 0] = row_dir * d_col
    affine[:3, 1] = col_dir * d_row
    affine[:3, 3] = frames[order[0]].ipp
    if len(frames) > 1:
        step = (frames[order[-1]].ipp - frames[order[0]].ipp) / (len(frames) - 1)
        affine[:3, 2] = step
        warnings.extend(_spacing_warnings(frames, order, gaps))
        along = float(np.linalg.norm(step))
        tilt = float(np.degrees(np.arccos(min(1.0, abs(float(step @ normal)) / along))))
        if tilt > 0.01:
            warnings.append(
                f"slices are sheared by {tilt:.2f} degrees (gantry tilt?): the affine keeps the shear, "
                "dcm2niix would resample"
            )
    else:
        thickness = ref.thickness
        if thickness is None:
            thickness = 1.0
            warnings.append(
                f"{ref.source.describe()}: single slice without SliceThickness or SpacingBetweenSlices; "
                "slice spacing set to 1 mm"
            )
        affine[:3, 2] = normal * thickness
    return order, affine, warnings


def _spacing_warnings(frames: Sequence[_Frame], order: list[int], gaps: npt.NDArray[np.float64]) -> list[str]:
    warnings: list[str] = []
    typical = float(np.median(gaps))
    uneven = np.flatnonzero(np.abs(gaps - typical) > max(SPACING_TOLERANCE * typical, 1e-3))
    for g_index in uneven:
        gap = float(gaps[g_index])
        before, after = frames[order[g_index]].source, frames[order[g_index + 1]].source
        ratio = gap / typical
        if abs(ratio - round(ratio)) < SPACING_TOLERANCE * 5 and round(ratio) >= 2:
            warnings.append(
                f"{round(ratio) - 1} slice(s) missing between {before.describe()} and {after.describe()}: "
                f"gap {gap:.4g} mm, typical {typical:.4g} mm (kept; the affine uses the mean step)"
            )
        else:
            warnings.append(
                f"uneven slice spacing between {before.describe()} and {after.describe()}: "
                f"gap {gap:.4g} mm, typical {typical:.4g} mm (kept; the affine uses the mean step)"
            )
    return warnings


def _pixel_stack(frames: Sequence[_Frame]) -> tuple[npt.NDArray[Any], float, float, list[str]]:
    """Stack the frames as (slice, row, column); keep stored values unless rescale varies by slice."""
    warnings: list[str] = []
    cache: dict[int, npt.NDArray[Any]] = {}
    planes = []
    for f in frames:
        key = id(f.dataset)
        if key not in cache:
            cache[key] = _pixels(f.dataset, f.source.path)
        data = cache[key]
        planes.append(data[f.index_in_file] if data.ndim == 3 else data)
    stack = np.stack(planes)
    slopes = {(f.slope, f.intercept) for f in frames}
    if len(slopes) == 1:
        slope, intercept = slopes.pop()
        return stack, slope, intercept, warnings
    warnings.append(
        f"rescale slope/intercept varies between slices ({len(slopes)} different values); "
        "voxels hold rescaled float32 values"
    )
    scale = np.array([f.slope for f in frames], dtype=np.float32)[:, None, None]
    offset = np.array([f.intercept for f in frames], dtype=np.float32)[:, None, None]
    return stack.astype(np.float32) * scale + offset, 1.0, 0.0, warnings


def _pixels(ds: Dataset | ScannedHeader, path: str) -> npt.NDArray[Any]:
    """Pixel data as (frames, rows, columns) or (rows, columns); native little-endian read directly."""
    samples = _integer(ds, path, "SamplesPerPixel", 1) or 1
    if samples != 1:
        raise MediaError(
            f"{path}: {samples} samples per pixel ({_get(ds, 'PhotometricInterpretation')}); "
            "a Volume holds grey-level images only",
            path=path,
        )
    if isinstance(ds, ScannedHeader):
        syntax = ds.transfer_syntax
    else:
        syntax = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    bits = _integer(ds, path, "BitsAllocated", 0)
    stored = _integer(ds, path, "BitsStored", bits) or bits
    signed = _integer(ds, path, "PixelRepresentation", 0) == 1
    n_frames = _integer(ds, path, "NumberOfFrames", 1) or 1
    rows, columns = _required(ds, path, "Rows"), _required(ds, path, "Columns")
    if syntax in _NATIVE_LITTLE_ENDIAN and "PixelData" in ds and bits in (8, 16, 32) and (not signed or stored == bits):
        # pydicom's generic decoder costs as much as parsing; a view on the bytes is exact here.
        dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
        raw = _get(ds, "PixelData")
        count = n_frames * rows * columns
        if len(raw) >= count * dtype.itemsize:
            data = np.frombuffer(raw, dtype=dtype, count=count)
            return data.reshape(n_frames, rows, columns) if n_frames > 1 else data.reshape(rows, columns)
    try:
        if isinstance(ds, ScannedHeader):
            return np.asarray(pydicom.dcmread(path).pixel_array)
        return np.asarray(ds.pixel_array)
    except Exception as exc:  # pydicom raises many types for codecs it lacks
        raise MediaError(f"{path}: cannot decode pixel data ({exc})", path=path) from exc


def _required(ds: Dataset | ScannedHeader, where: str, keyword: str) -> int:
    value = _integer(ds, where, keyword, 0)
    if value < 1:
        raise MediaError(f"{where}: missing {keyword}; cannot build a volume without it", path=where)
    return value


def _vector(ds: Dataset | ScannedHeader | None, where: str, keyword: str, length: int) -> npt.NDArray[np.float64]:
    try:
        value = None if ds is None else _get(ds, keyword)
    except (ValueError, TypeError, OverflowError, struct.error) as exc:
        raise MediaError(f"{where}: {keyword} cannot be read ({exc})", path=_file_of(where)) from None
    if isinstance(value, float | int):
        value = [value]
    if value is None or value == "":
        raise MediaError(
            f"{where}: missing {keyword} (geometry tag); cannot place the image in the patient",
            path=where.split(" frame ")[0],
        )
    try:
        vector = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MediaError(f"{where}: {keyword} is not numeric: {value!r}", path=where) from exc
    if vector.shape != (length,) or not np.all(np.isfinite(vector)):
        raise MediaError(f"{where}: {keyword} must hold {length} finite numbers, found {list(value)!r}", path=where)
    return vector


def _check_grid(shape: tuple[int, ...], affine: npt.NDArray[np.float64]) -> None:
    if len(shape) != 3 or any(int(n) < 1 for n in shape):
        raise ValidationError(f"a grid needs 3 positive sizes, found {tuple(shape)}", field="shape", value=shape)
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise ValidationError(
            f"an affine must be a finite 4x4 matrix, found shape {affine.shape}", field="affine", value=affine
        )
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValidationError(f"the affine is singular:\n{affine}", field="affine", value=affine)


def _spacing(affine: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    norms = np.linalg.norm(affine[:3, :3], axis=0)
    return (float(norms[0]), float(norms[1]), float(norms[2]))


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _fmt(vector: npt.NDArray[np.float64]) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in vector) + "]"
