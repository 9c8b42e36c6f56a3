"""Media: data rows and what is known about their pixels."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from labelport.errors import ValidationError
from labelport.model._checks import enum_value, non_empty


class MediaType(StrEnum):
    """Kinds of media a data row holds (Labelbox ``MediaType`` spellings are accepted)."""

    IMAGE = "image"
    VIDEO = "video"
    DICOM = "dicom"
    NIFTI = "nifti"

    @classmethod
    def parse(cls, value: str | MediaType) -> MediaType:
        return enum_value(cls, value, "media_type")

    # Labelbox's SDK spells these in CamelCase (``MediaType.Dicom``); keep that working.
    Image = IMAGE
    Video = VIDEO
    Dicom = DICOM
    Nifti = NIFTI


class PlaneGroup(StrEnum):
    """Patient-aligned plane of a volume (the platforms' DICOM group)."""

    AXIAL = "axial"
    SAGITTAL = "sagittal"
    CORONAL = "coronal"

    @classmethod
    def parse(cls, value: str | PlaneGroup) -> PlaneGroup:
        return enum_value(cls, value, "plane")


@dataclass(frozen=True, slots=True)
class MediaAttributes:
    """Pixel facts about a data row.

    For images and videos: ``width`` x ``height`` (and ``frames``, ``frame_rate``). For a DICOM series or
    NIfTI volume: ``columns`` x ``rows`` x ``slices`` on the acquisition grid, ``spacing`` (column, row,
    slice) in mm, ``orientation`` (the six direction cosines of ImageOrientationPatient), ``origin`` (LPS mm
    of voxel 0,0,0), ``affine`` (the 4 x 4 voxel-to-LPS matrix, row by row, when known: it also holds what
    spacing and orientation cannot, such as a gantry tilt's shear), the identifying UIDs, and
    ``instance_uids``: the SOPInstanceUID of each slice in grid order (slice k = index k; a frame of a
    multi-frame instance is ``UID#frame``), which is how other platforms name slices.
    """

    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    rows: int | None = None
    columns: int | None = None
    slices: int | None = None
    spacing: tuple[float, float, float] | None = None
    orientation: tuple[float, float, float, float, float, float] | None = None
    origin: tuple[float, float, float] | None = None
    modality: str | None = None
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    series_description: str | None = None
    instance_count: int | None = None
    frame_rate: float | None = None
    affine: tuple[float, ...] | None = None
    instance_uids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.affine is not None and len(self.affine) != 16:
            raise ValidationError(
                f"media attribute affine must hold 16 numbers (4 x 4, row by row), found {len(self.affine)}",
                field="affine",
                value=self.affine,
            )
        for name in ("width", "height", "frames", "rows", "columns", "slices", "instance_count"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValidationError(
                    f"media attribute {name} must be a positive integer, found {value!r}",
                    field=name,
                    value=value,
                )

    def as_dict(self) -> dict[str, Any]:
        """Only the attributes that are known, JSON-ready (tuples become lists)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaAttributes:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("spacing", "orientation", "origin", "affine"):
            if known.get(name) is not None:
                known[name] = tuple(float(x) for x in known[name])
        if known.get("instance_uids") is not None:
            known["instance_uids"] = tuple(str(u) for u in known["instance_uids"])
        return cls(**known)


@dataclass(frozen=True, slots=True)
class MetadataField:
    """A metadata field on a data row: a name, its value, and the schema id of a platform's metadata schema."""

    name: str
    value: str | float | int
    schema_id: str | None = None

    def __post_init__(self) -> None:
        non_empty(self.name, "metadata field name")


@dataclass(frozen=True, slots=True)
class Attachment:
    """Context shown beside a data row (Labelbox ``attachments``: type, value, optional name)."""

    type: str
    value: str
    name: str | None = None

    TYPES = frozenset({"IMAGE", "VIDEO", "RAW_TEXT", "TEXT_URL", "HTML", "IMAGE_OVERLAY", "PDF_URL", "CSV_URL"})

    def __post_init__(self) -> None:
        if self.type not in self.TYPES:
            raise ValidationError(
                f"attachment type must be one of {', '.join(sorted(self.TYPES))}; found {self.type!r}",
                field="attachments.type",
                value=self.type,
            )
        non_empty(self.value, "attachments.value")


@dataclass(frozen=True, slots=True)
class DataRow:
    """One asset: an image, a video, a DICOM series (folder of instances or list of files), a NIfTI volume.

    ``row_data`` is a path or URL; for a DICOM series given as a list of files it holds the files
    joined into a JSON list by the store. ``global_key`` is unique per organisation; ``external_id`` is a
    free identifier from elsewhere (another platform's id of the same asset), not unique.
    """

    id: str
    row_data: str
    media_type: MediaType
    global_key: str | None = None
    dataset_id: str | None = None
    media_attributes: MediaAttributes = field(default_factory=MediaAttributes)
    metadata_fields: tuple[MetadataField, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    external_id: str | None = None

    def __post_init__(self) -> None:
        non_empty(self.id, "data row id")
        non_empty(self.row_data, "row_data")
        object.__setattr__(self, "media_type", MediaType.parse(self.media_type))
        if self.global_key is not None:
            non_empty(self.global_key, "global_key")
        if self.external_id is not None:
            non_empty(self.external_id, "external_id")


@dataclass(frozen=True, slots=True)
class VolumeGrid:
    """The voxel grid a label volume lies on: ``shape`` (columns, rows, slices) and the 4 x 4 affine from
    voxel indices to patient LPS millimetres, row by row (16 numbers)."""

    shape: tuple[int, int, int]
    affine: tuple[float, ...]

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if len(shape) != 3 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in shape):
            raise ValidationError(
                f"a volume grid's shape is three positive integers, found {self.shape!r}", field="shape", value=shape
            )
        affine = tuple(float(v) for v in self.affine)
        if len(affine) != 16:
            raise ValidationError(
                f"a volume grid's affine holds 16 numbers (4 x 4, row by row), found {len(affine)}",
                field="affine",
                value=affine,
            )
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "affine", affine)
