"""The DICOM series behind a data row, for the formats that reference it (DICOM SEG, SR, RTSTRUCT).

A DICOM data row is one series (``row_data``: a folder or a JSON list of files); its media attributes hold the
grid (``affine``, shape) and ``instance_uids``: the SOP instance of each slice in grid order (``UID#frame`` for
a frame of a multi-frame instance). ``SourceSeries`` loads the instances once, in grid order, so a writer can
reference them, and maps an instance (and frame) back to its slice for readers.

labelport's own DICOM objects carry the data row key in a private block (``PRIVATE_CREATOR``), so a round trip
through SEG, SR or RTSTRUCT names the same data row; other tools' objects are named by the series they
reference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from labelport.errors import MediaError, ValidationError
from labelport.imaging.grids import affine_text, grid_from_attributes
from labelport.imaging.volume import Grid
from labelport.model.item import DataRowKey
from labelport.model.media import DataRow, MediaType

# Patient and study attributes a derived object copies from its source (Type 2: present, may be empty). Some
# series lack them; the copies in memory get them empty, so the derived object is still valid.
_TYPE_2_COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
)
PRIVATE_GROUP = 0x0071
PRIVATE_CREATOR = "LABELPORT 1"
_PRIVATE_ELEMENT = 0x01  # (0071,xx01) UT: JSON of the data row key and per-object ids


def series_files(row: DataRow) -> list[Path]:
    """The files of a DICOM data row's series (``row_data``: a folder, one file, or a JSON list of files)."""
    text = row.row_data
    if text.startswith("["):
        try:
            names = json.loads(text)
        except ValueError as exc:
            raise MediaError(f"data row {row.id}: row_data is not a JSON list of files ({exc})", path=text) from exc
        return [Path(n) for n in names]
    path = Path(text)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise MediaError(f"data row {row.id}: the series {text!r} is not a local folder or file", path=text)
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))


@dataclass
class SourceSeries:
    """The instances of a DICOM data row's series, in grid order, and its grid."""

    row: DataRow
    grid: Grid
    uids: tuple[str, ...]  # per slice k: SOP instance UID, or ``UID#frame``
    _datasets: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, row: DataRow) -> SourceSeries:
        if row.media_type is not MediaType.DICOM:
            raise ValidationError(
                f"data row {row.global_key or row.id} is {row.media_type.value}; a DICOM object references a "
                "DICOM series",
                field="media_type",
                value=row.media_type.value,
            )
        attributes = row.media_attributes
        if not attributes.instance_uids:
            raise ValidationError(
                f"data row {row.global_key or row.id} has no SOP instance UIDs in its media attributes; "
                "add the series again so they are read",
                field="media_attributes.instance_uids",
            )
        return cls(row, grid_from_attributes(attributes), attributes.instance_uids)

    @cached_property
    def datasets(self) -> list[Any]:
        """The source instances (pixel data left out), one per distinct SOP instance, in grid order."""
        import pydicom

        wanted = {uid.split("#")[0] for uid in self.uids}
        found: dict[str, Any] = {}
        for path in series_files(self.row):
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            except Exception:
                continue
            uid = str(ds.get("SOPInstanceUID", ""))
            if uid in wanted:
                for keyword in _TYPE_2_COPIED:
                    if keyword not in ds:
                        setattr(ds, keyword, "")
                found[uid] = ds
        missing = [u for u in dict.fromkeys(uid.split("#")[0] for uid in self.uids) if u not in found]
        if missing:
            raise MediaError(
                f"data row {self.row.global_key or self.row.id}: instance {missing[0]} of the series is not in "
                f"{self.row.row_data!r} ({len(missing)} of {len(wanted)} missing)",
                path=self.row.row_data,
            )
        ordered = list(dict.fromkeys(uid.split("#")[0] for uid in self.uids))
        return [found[u] for u in ordered]

    @property
    def first(self) -> Any:
        return self.datasets[0]

    @cached_property
    def slice_of(self) -> dict[tuple[str, int | None], int]:
        """(SOP instance UID, 1-based frame or None) -> slice index k of the grid."""
        out: dict[tuple[str, int | None], int] = {}
        for k, uid in enumerate(self.uids):
            sop, _, frame = uid.partition("#")
            out[(sop, int(frame) if frame else None)] = k
        return out

    def instance_of(self, k: int) -> tuple[str, int | None]:
        """The SOP instance UID and 1-based frame (None for a single-frame instance) of slice ``k``."""
        sop, _, frame = self.uids[k].partition("#")
        return sop, int(frame) if frame else None

    def slice_index(self, sop_uid: str, frame: int | None = None) -> int | None:
        """Slice k of an instance (a multi-frame instance's frame, 1-based); None when it is not in the series."""
        found = self.slice_of.get((sop_uid, frame))
        if found is None and frame == 1:
            found = self.slice_of.get((sop_uid, None))
        if found is None and frame is None:
            found = self.slice_of.get((sop_uid, 1))
        return found

    @property
    def multiframe(self) -> bool:
        return any("#" in uid for uid in self.uids)

    @property
    def series_uid(self) -> str:
        return str(self.first.SeriesInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.first.get("FrameOfReferenceUID", ""))


SeriesLookup = Callable[[DataRowKey, "str | None"], "DataRow | None"]


def series_for(options: Mapping[str, Any], key: DataRowKey, series_uid: str | None) -> DataRow | None:
    """The DICOM data row a reader places an object on: ``options["series"]``, either a ``DataRow`` or a lookup
    ``(data row key, referenced SeriesInstanceUID) -> DataRow | None`` (a conversion's ``--series`` folder)."""
    given = options.get("series")
    if given is None or isinstance(given, DataRow):
        return given
    if callable(given):
        found: DataRow | None = given(key, series_uid)
        return found
    raise ValidationError(f"option series must be a DataRow or a lookup function, found {given!r}", field="series")


def write_private(ds: Any, payload: dict[str, Any]) -> None:
    """Add labelport's private block (data row key and per-object ids, as JSON) to a dataset."""
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(_PRIVATE_ELEMENT, "UT", json.dumps(payload, sort_keys=True, separators=(",", ":")))


def read_private(ds: Any) -> dict[str, Any]:
    """labelport's private block of a dataset, or {} when it has none (another tool wrote it)."""
    try:
        block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
    except KeyError:
        return {}
    try:
        element = block[_PRIVATE_ELEMENT]
    except KeyError:
        return {}
    value = element.value
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def row_key_of(ds: Any, private: dict[str, Any]) -> DataRowKey:
    """The data row a DICOM object names: ours from the private block, else the series it references."""
    raw = private.get("data_row")
    if isinstance(raw, dict):
        try:
            return DataRowKey.from_dict(raw)
        except ValidationError:
            pass
    referenced = referenced_series_uid(ds)
    if referenced is None:
        raise ValidationError(
            "the object references no series (ReferencedSeriesSequence is missing or empty)",
            field="ReferencedSeriesSequence",
        )
    return DataRowKey(names=(referenced,))


def referenced_series_uid(ds: Any) -> str | None:
    """The series a SEG, SR or RTSTRUCT references: ReferencedSeriesSequence, evidence, or RT references."""
    for item in ds.get("ReferencedSeriesSequence", ()) or ():
        uid = item.get("SeriesInstanceUID")
        if uid:
            return str(uid)
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence", ()) or ():
        for series in study.get("ReferencedSeriesSequence", ()) or ():
            uid = series.get("SeriesInstanceUID")
            if uid:
                return str(uid)
    for frame in ds.get("ReferencedFrameOfReferenceSequence", ()) or ():
        for study in frame.get("RTReferencedStudySequence", ()) or ():
            for series in study.get("RTReferencedSeriesSequence", ()) or ():
                uid = series.get("SeriesInstanceUID")
                if uid:
                    return str(uid)
    return None


def uuid_to_uid(uuid: str) -> str:
    """A UUID as a DICOM UID (``2.25.<integer>``, PS3.5 B.2), so tracking UIDs keep annotation identity."""
    import uuid as uuid_module

    return f"2.25.{uuid_module.UUID(uuid).int}"


def uid_to_uuid(uid: str | None) -> str | None:
    """The UUID a ``2.25.<integer>`` UID holds, or None for any other UID."""
    import uuid as uuid_module

    if not uid or not uid.startswith("2.25."):
        return None
    try:
        value = int(uid[5:])
    except ValueError:
        return None
    if not 0 <= value < 1 << 128:
        return None
    return str(uuid_module.UUID(int=value))


def stable_uuid(*parts: object) -> str:
    """A UUID derived from the parts (an object another tool wrote without one keeps it on every read)."""
    import uuid as uuid_module

    return str(uuid_module.uuid5(uuid_module.NAMESPACE_OID, "/".join(str(p) for p in parts)))


__all__ = [
    "PRIVATE_CREATOR",
    "SourceSeries",
    "affine_text",
    "read_private",
    "referenced_series_uid",
    "row_key_of",
    "series_files",
    "series_for",
    "stable_uuid",
    "uid_to_uuid",
    "uuid_to_uid",
    "write_private",
]
