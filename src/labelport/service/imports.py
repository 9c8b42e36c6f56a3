"""Importing annotations as pre-labels (MAL) or ground truth: validate each record, persist the good ones.

Every record gets a status, SUCCESS or FAILURE with reasons; a bad record never stops the others. All
annotations of one import are written in one transaction, with the job's statuses, so a reader sees the
whole import or none of it. Importing a uuid again on the same data row replaces the earlier annotation.

An import runs in two phases. The first reads and checks every record, cheap checks first (data row,
ontology, frames, sizes from headers) and pixels last, decodes and encodes masks and label volumes into a
private staging folder, and spools the finished rows; it reads the store but writes nothing, so it holds
no lock. The second is the one write transaction: it stores the staged blobs, makes or touches the labels,
replaces and inserts the annotations, moves the workflow and finishes the job. Imports into one project
take turns in the second phase (a PostgreSQL advisory lock; SQLite writers take turns anyway), so two
imports touching the same rows at once both succeed, the later one replacing what they share.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import tempfile
import uuid as uuid_module
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt
import orjson
import sqlalchemy as sa

from labelport.errors import LabelportError, Location, MediaError, NotFoundError, StoreError, ValidationError
from labelport.formats import FormatEntry, detect_format, get_format
from labelport.formats.base import ErrorPolicy, MediaLookup, Problem, ReadContext, Source
from labelport.imaging import PlaneView, decode_png_composite, encode_png_binary
from labelport.imaging.grids import encode_label_volume, grid_from_attributes, plane_of, volume_on_grid
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    FrameMask,
    FrameMasks,
    ObjectAnnotation,
    Relationship,
    TrackedObject,
    VolumeMask,
    new_uuid,
)
from labelport.model.codec import to_json
from labelport.model.encoded import EncodedAnnotation, decoded
from labelport.model.geometry import Mask, RasterSource, VolumeSource
from labelport.model.ids import new_id
from labelport.model.item import DataRowKey, LabeledItem
from labelport.model.jobs import ImportJobInfo, JobKind
from labelport.model.label import LabelKind
from labelport.model.media import DataRow, MediaAttributes, MediaType, PlaneGroup
from labelport.model.ontology import Ontology, Tool
from labelport.service import jobs, masks, workflow
from labelport.service.hub import Hub, now
from labelport.service.ontologies import get_ontology
from labelport.service.projects import get_project
from labelport.service.validation import TOOL_FOR_GEOMETRY_NAME, Feature, OntologyIndex
from labelport.store import BlobStore
from labelport.store.bulk import BulkRows
from labelport.store.locks import serialise
from labelport.store.schema import (
    STATUS_PAGE,
    annotation_rows,
    batch_data_rows,
    data_rows,
    import_status_pages,
    labels,
)

MAX_PER_FEATURE = 5000
CHUNK = 250  # items checked and inserted together; small, so their objects die before the GC's oldest generation


@dataclass(frozen=True, slots=True)
class _Row:
    """What an import needs to know of a data row."""

    id: str
    global_key: str | None
    media_type: MediaType
    attributes: MediaAttributes
    in_project: bool


# What a name of a data row key may be: a global key, an external id, or (a name labelport wrote, such as an
# Encord data_hash of a row with no external id) its id.
_NAME_COLUMNS = ("global_key", "external_id", "id")
# How a data row key's fields are looked up, in the order they are tried.
_KEY_COLUMNS = (
    ("id", data_rows.c.id),
    ("global_key", data_rows.c.global_key),
    ("external_id", data_rows.c.external_id),
)


@dataclass(frozen=True, slots=True)
class _Deferred:
    """A relationship that passed every other check, with its status position and its database rows."""

    position: int
    uuid: str | None
    key: DataRowKey
    location: Location
    row: _Row
    relation: Relationship
    rows: list[tuple[Any, ...]]


class _Staging:
    """Blobs an import makes (mask PNGs, label volumes) and its finished rows, in a private temporary folder
    until the import's transaction stores them. A blob is kept only when the annotation that made it
    succeeds (``keep``); one that fails later (``drop``) leaves nothing in the store."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="labelport-import-")
        self.folder = Path(self._folder.name)
        self.types: dict[str, str] = {}
        self.kept: set[str] = set()
        self._current: list[str] = []
        self.rows: IO[bytes] = (self.folder / "rows.pickle").open("w+b")

    def put(self, data: bytes, content_type: str) -> str:
        """Stage ``data``; returns its SHA-256, the name the blob store gives it."""
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self.types:
            (self.folder / digest).write_bytes(data)
            self.types[digest] = content_type
        self._current.append(digest)
        return digest

    def keep(self) -> None:
        if not self._current:
            return
        self.kept.update(self._current)
        self._current.clear()

    def drop(self) -> None:
        self._current.clear()

    def spool(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            pickle.dump(rows, self.rows, protocol=pickle.HIGHEST_PROTOCOL)

    def spooled(self) -> Iterator[list[tuple[Any, ...]]]:
        self.rows.flush()
        self.rows.seek(0)
        while True:
            try:
                yield pickle.load(self.rows)  # written by this import a moment ago, in its private folder
            except EOFError:
                return

    def store(self, conn: sa.Connection, blobs: BlobStore) -> None:
        for digest in sorted(self.kept):
            stored = blobs.put_file(conn, self.folder / digest, self.types[digest])
            if stored != digest:
                raise LabelportError(f"staged blob {digest} changed before it was stored (now {stored})")

    def close(self) -> None:
        self.rows.close()
        self._folder.cleanup()


@dataclass
class _Run:
    """State of one import while it runs."""

    hub: Hub
    project_id: str
    media_type: MediaType
    kind: LabelKind
    index: OntologyIndex
    resolver: masks.FileResolver
    staging: _Staging
    rows: dict[tuple[str, str], tuple[_Row, ...]] = field(default_factory=dict)
    # Kept per annotation as atoms (strings, tuples of them), which the garbage collector does not track: a
    # large import's dicts and lists here would make each full collection walk all of them.
    seen_uuids: dict[str, tuple[str | None, int | None, str | None]] = field(default_factory=dict)
    per_feature: Counter[tuple[str, str]] = field(default_factory=Counter)
    labelled: dict[str, None] = field(default_factory=dict)  # data rows that got annotations, in input order
    colours: dict[str, set[tuple[int, int, int]]] = field(default_factory=dict)
    # JSON [uuid, data row, errors or null] in input order; str, as orjson's bytes keep a 4 KiB buffer each
    statuses: list[str] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # positions of FAILURE statuses
    succeeded: int = 0
    objects: dict[str, str] = field(default_factory=dict)  # uuid -> data row id of objects imported so far
    views: dict[tuple[str, PlaneGroup], PlaneView] = field(default_factory=dict)
    # (name, schema id, geometry type) of plain objects -> (schema id, name, tool type) of their tool, and the tool
    plain_features: dict[tuple[str | None, str | None, str | None], tuple[str, str, str, Tool]] = field(
        default_factory=dict
    )
    key_json: dict[DataRowKey, str] = field(default_factory=dict)  # data row key -> its JSON
    last_key: DataRowKey | None = None  # the key ``_key_json`` gave last, and its JSON
    last_key_json: str = ""
    volumes: dict[str, bytes] = field(default_factory=dict)  # pixels key of a label volume -> its encoded bytes
    line: int = 0  # the last input line read (progress counts lines where items know theirs)
    # Relationships wait for the end of the import: their ends may come on later lines.
    relationships: list[_Deferred] = field(default_factory=list)
    # Formats whose item is the whole label of its data row (Encord label rows): importing one replaces
    # every annotation the label had, once per data row and import.
    whole_rows: bool = False
    cleared: dict[str, None] = field(default_factory=dict)  # data rows whose labels the write phase empties

    def view(self, row: _Row, group: PlaneGroup) -> PlaneView:
        """The plane view of a DICOM row, built once per import (many annotations share a series)."""
        key = (row.id, group)
        if key not in self.views:
            self.views[key] = plane_of(row.attributes, group)
        return self.views[key]


def _error(message: str, location: Location, value: Any = None, kind: str = "ValidationError") -> dict[str, Any]:
    """One problem of a status: its type, message and where (file, line, JSON path) with the offending value."""
    info = {"file": location.file, "line": location.line, "path": location.path, "value": value}
    return {"type": kind, "message": message, **{k: v for k, v in info.items() if v is not None}}


def _uuid_of(annotation: AnyAnnotation | EncodedAnnotation) -> str | None:
    return getattr(annotation, "uuid", None)


def _frames_checked(run: _Run, row: _Row, annotation: AnyAnnotation) -> None:
    if isinstance(annotation, TrackedObject) and annotation.group is not None:
        view = run.view(row, annotation.group)
        for keyframe in annotation.keyframes:
            _in_plane(view, keyframe.frame, "frame")
    elif isinstance(annotation, ObjectAnnotation | ClassificationAnnotation) and annotation.placement.group is not None:
        if annotation.placement.frame is not None:
            _in_plane(run.view(row, annotation.placement.group), annotation.placement.frame, "frame")
    elif isinstance(annotation, TrackedObject) and row.attributes.frames is not None:
        for keyframe in annotation.keyframes:
            if keyframe.frame >= row.attributes.frames:
                raise ValidationError(
                    f"frame {keyframe.frame + 1} is out of range: the video has {row.attributes.frames} frames",
                    field="frame",
                    value=keyframe.frame + 1,
                )


def _in_plane(view: PlaneView, frame: int, field_name: str) -> None:
    if frame >= view.frames:
        raise ValidationError(
            f"{field_name} {frame + 1} is out of range: the {view.plane.value} plane of this series has frames 1 "
            f"to {view.frames}",
            field=field_name,
            value=frame + 1,
        )


def _colours(rgb: npt.NDArray[np.uint8]) -> set[tuple[int, int, int]]:
    """The colours of an RGB image (one integer per pixel: far cheaper than ``np.unique`` over rows)."""
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    return {(int(v) >> 16, (int(v) >> 8) & 255, int(v) & 255) for v in np.unique(packed)}


def _image_mask(run: _Run, row: _Row, mask: Mask) -> Mask:
    if mask.source.pixels is not None:
        selected = np.asarray(mask.source.pixels.array()) != 0
        if row.attributes.width is not None and selected.shape != (row.attributes.height, row.attributes.width):
            raise ValidationError(
                f"mask is {selected.shape[1]} x {selected.shape[0]} px but the image is "
                f"{row.attributes.width} x {row.attributes.height} px",
                field="mask",
                value=[selected.shape[1], selected.shape[0]],
            )
        data = encode_png_binary(selected)
        digest = run.staging.put(data, "image/png")
        return Mask(RasterSource(blob=digest), (1, 1, 1))
    data = masks.resolve(mask.source, run.resolver)
    masks.check_size(data, row.attributes.width, row.attributes.height, "the image")
    digest = run.staging.put(data, "image/png")
    if digest not in run.colours:
        run.colours[digest] = _colours(decode_png_composite(data))
    if mask.color not in run.colours[digest]:
        found = sorted(run.colours[digest])
        shown = ", ".join(str(list(c)) for c in found[:6]) + (f" and {len(found) - 6} more" if len(found) > 6 else "")
        raise ValidationError(
            f"mask colour {list(mask.color)} does not occur in the mask image (it holds {shown})",
            field="color",
            value=list(mask.color),
        )
    return Mask(RasterSource(blob=digest), mask.color)


def _frame_masks(run: _Run, row: _Row, annotation: FrameMasks) -> list[AnyAnnotation]:
    """One object per instance of a composite mask: the first keeps the import's uuid, the others derive a
    stable one from it and their position. A DICOM mask becomes a label volume (one blob, instance i is label
    i + 1) and a ``VolumeMask`` per instance; a video mask keeps one PNG blob per frame, and each instance
    only the frames where its colour occurs. A frame where no instance's colour occurs, or an instance whose
    colour occurs on no frame, is refused as an image mask of an absent colour is."""
    view = (
        run.view(row, annotation.group) if annotation.group is not None and row.media_type is MediaType.DICOM else None
    )
    if view is not None:
        for frame in annotation.frames:
            _in_plane(view, frame.frame, "mask frame")
    frames = [masks.resolve(f.source, run.resolver) for f in annotation.frames]
    if view is not None and annotation.group is not None:
        for data in frames:
            masks.check_size(
                data, view.width, view.height, f"a slice of the {annotation.group.value} plane of this series"
            )
        volume, counts = masks.label_volume(annotation, frames, view)
        _colours_present(annotation, counts)
        digest = run.staging.put(encode_label_volume(volume, view.grid), "application/x-nifti+gzip")
        return [
            VolumeMask(
                uuid=_instance_uuid(annotation.uuid, i),
                source=VolumeSource(blob=digest),
                values=(i + 1,),
                name=instance.name,
                schema_id=instance.schema_id,
                group=annotation.group,
                color=instance.color,
            )
            for i, instance in enumerate(annotation.instances)
        ]
    counts = []
    for data in frames:
        masks.check_size(data, row.attributes.width, row.attributes.height, "the video frame")
        rgb = decode_png_composite(data)
        counts.append([int(np.all(rgb == np.asarray(i.color, np.uint8), axis=2).sum()) for i in annotation.instances])
    _colours_present(annotation, counts)
    stored_frames = [
        FrameMask(frame.frame, RasterSource(blob=run.staging.put(data, "image/png")))
        for frame, data in zip(annotation.frames, frames, strict=True)
    ]
    return [
        replace(
            annotation,
            uuid=_instance_uuid(annotation.uuid, i),
            frames=tuple(f for f, found in zip(stored_frames, counts, strict=True) if found[i]),
            instances=(instance,),
        )
        for i, instance in enumerate(annotation.instances)
    ]


def _colours_present(annotation: FrameMasks, counts: list[list[int]]) -> None:
    """Every frame holds the colour of some instance, and every instance's colour occurs on some frame
    (``counts[frame][instance]``: its pixels on that frame)."""
    colours = [list(i.color) for i in annotation.instances]
    for k, (frame, found) in enumerate(zip(annotation.frames, counts, strict=True)):
        if not any(found):
            what = (
                f"mask colour {colours[0]} does not occur"
                if len(colours) == 1
                else f"none of the mask colours {', '.join(map(str, colours))} occurs"
            )
            raise ValidationError(
                f"{what} in the mask image of frame {frame.frame + 1}", field=f"masks.frames[{k}]", value=colours
            )
    for i, colour in enumerate(colours):
        if not any(found[i] for found in counts):
            raise ValidationError(
                f"mask colour {colour} does not occur in the mask image of any frame",
                field=f"masks.instances[{i}].color",
                value=colour,
            )


def _instance_uuid(uuid: str, index: int) -> str:
    return uuid if index == 0 else str(uuid_module.uuid5(uuid_module.UUID(uuid), str(index)))


def _volume_mask(run: _Run, row: _Row, annotation: VolumeMask) -> VolumeMask:
    """A label volume from another format, put on the row's grid (reoriented when it lies on another grid) and
    stored once per import however many objects share it."""
    source = annotation.source
    if source.blob is not None:
        return annotation
    if row.media_type not in (MediaType.DICOM, MediaType.NIFTI):
        raise ValidationError(
            f"a volume mask needs a DICOM or NIfTI data row; this one is {row.media_type.value}", field="mask"
        )
    key = source.pixels.key if source.pixels is not None else f"uri:{source.uri}"
    data = run.volumes.get(key)
    if data is None:
        grid = grid_from_attributes(row.attributes)
        array = volume_on_grid(source, grid, lambda uri: masks.local_file(uri, run.resolver))
        data = run.volumes[key] = encode_label_volume(array, grid)
    # Staged again for each object that shares it, so each one's success keeps it (staging writes it once).
    return replace(annotation, source=VolumeSource(blob=run.staging.put(data, "application/x-nifti+gzip")))


def _check_relationship(run: _Run, conn: sa.Connection, row: _Row, relation: Relationship) -> None:
    """Both ends are objects on the same data row: anywhere in this import (checked once it is all read, so
    the order of lines does not matter), or stored before."""
    for end, wanted in (("source", relation.source), ("target", relation.target)):
        if run.objects.get(wanted) == row.id:
            continue
        stored = conn.execute(
            sa.select(annotation_rows.c.id).where(
                annotation_rows.c.label_id == label_query(run.project_id, row.id, run.kind).scalar_subquery(),
                annotation_rows.c.uuid == wanted,
            )
        ).first()
        if stored is None:
            raise ValidationError(
                f"relationship {end} {wanted} is not an object on the same data row (in this import or stored)",
                field=f"relationship.{end}",
                value=wanted,
            )


def label_query(project_id: str, data_row_id: str, kind: LabelKind) -> sa.Select[str]:
    """The id of the one label of a data row in a project, of ``kind``; annotations are found by it."""
    return sa.select(labels.c.id).where(
        labels.c.project_id == project_id, labels.c.data_row_id == data_row_id, labels.c.kind == kind.value
    )


def _store_masks(run: _Run, row: _Row, annotation: AnyAnnotation) -> list[AnyAnnotation] | None:
    """The annotations to store for one with pixels (blobs staged), or None when it has none."""
    if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
        return [replace(annotation, geometry=_image_mask(run, row, annotation.geometry))]
    if isinstance(annotation, FrameMasks):
        return _frame_masks(run, row, annotation)
    if isinstance(annotation, VolumeMask):
        return [_volume_mask(run, row, annotation)]
    return None


def _mask_blob(annotation: AnyAnnotation) -> str | None:
    if isinstance(annotation, VolumeMask):
        return annotation.source.blob
    if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
        return annotation.geometry.source.blob
    if isinstance(annotation, FrameMasks):
        return next((f.source.blob for f in annotation.frames if f.source.blob), None)
    return None


def _annotation_row(annotation: AnyAnnotation, feature: Feature) -> dict[str, Any]:
    """The database row of one annotation that passed every check (its masks stored)."""
    row: dict[str, Any] = {
        # A classification may come without a uuid; it then gets a fresh one.
        "uuid": _uuid_of(annotation) or new_uuid(),
        "schema_id": feature.schema_id,
        "feature_name": feature.name,
        "frame": None,
        "plane_group": None,
        "keyframe": True,
        "segment": None,
        "confidence": None,
        "mask_blob": _mask_blob(annotation),
    }
    if isinstance(annotation, ObjectAnnotation):
        row.update(
            annotation_type=feature.tool.value if feature.tool else "object",
            frame=annotation.placement.frame,
            plane_group=annotation.placement.group.value if annotation.placement.group else None,
            keyframe=annotation.placement.keyframe,
            confidence=annotation.confidence,
        )
    elif isinstance(annotation, TrackedObject):
        row.update(
            annotation_type="track",
            frame=annotation.keyframes[0].frame,
            plane_group=annotation.group.value if annotation.group else None,
            confidence=annotation.confidence,
        )
    elif isinstance(annotation, VolumeMask):
        row.update(
            annotation_type="volume_mask",
            plane_group=annotation.group.value if annotation.group else None,
            confidence=annotation.confidence,
        )
    elif isinstance(annotation, FrameMasks):
        row.update(
            annotation_type="frame_masks",
            frame=min(f.frame for f in annotation.frames),
            plane_group=annotation.group.value if annotation.group else None,
        )
    elif isinstance(annotation, Relationship):
        row.update(annotation_type="relationship")
    else:
        row.update(annotation_type="classification", confidence=annotation.confidence, frame=annotation.placement.frame)
    row["payload"] = {"annotation": to_json(annotation)}
    return row


class _Rows(Protocol):
    """What data row look-ups need: the store, the project, and the rows found so far (an import's run, or a
    reader's ``media_lookup``)."""

    hub: Hub
    project_id: str
    rows: dict[tuple[str, str], tuple[_Row, ...]]


@dataclass
class _Lookup:
    hub: Hub
    project_id: str
    rows: dict[tuple[str, str], tuple[_Row, ...]] = field(default_factory=dict)


def _resolve_rows(run: _Rows, conn: sa.Connection, keys: Iterable[DataRowKey]) -> None:
    """Look up, in batches, every identifier of ``keys`` not looked up yet (an unknown one maps to no row)."""
    wanted: dict[str, set[str]] = {name: set() for name, _ in _KEY_COLUMNS}
    for key in keys:
        for name, _column in _KEY_COLUMNS:
            value = getattr(key, name)
            if value is not None and (name, value) not in run.rows:
                wanted[name].add(value)
        for value in key.names:
            for name in _NAME_COLUMNS:
                if (name, value) not in run.rows:
                    wanted[name].add(value)
    in_batch = sa.exists().where(
        batch_data_rows.c.project_id == run.project_id, batch_data_rows.c.data_row_id == data_rows.c.id
    )
    query = sa.select(
        data_rows.c.id,
        data_rows.c.global_key,
        data_rows.c.media_type,
        data_rows.c.media_attributes,
        in_batch,
        data_rows.c.external_id,
    ).where(data_rows.c.organization_id == run.hub.organization_id)
    for name, column in _KEY_COLUMNS:
        values = wanted[name]
        for value in values:
            run.rows[(name, value)] = ()
        listed = sorted(values)
        for start in range(0, len(listed), 900):
            found: dict[str, list[_Row]] = {}
            for r in conn.execute(query.where(column.in_(listed[start : start + 900]))):
                row = _Row(r[0], r[1], MediaType(r[2]), MediaAttributes.from_dict(r[3]), bool(r[4]))
                found.setdefault({"id": r[0], "global_key": r[1], "external_id": r[5]}[name], []).append(row)
            for value, rows in found.items():
                run.rows[(name, value)] = tuple(rows)


def _row_for(run: _Rows, key: DataRowKey) -> _Row:
    """The data row ``key`` names: by id, global key or external id (the first given that matches), else by
    its names (a global key or an external id); names that match different rows are refused."""
    for name, _column in _KEY_COLUMNS:
        value = getattr(key, name)
        if value is None:
            continue
        rows = run.rows.get((name, value), ())
        if len(rows) > 1:
            raise ValidationError(
                f"{name.replace('_', ' ')} {value!r} names {len(rows)} data rows; name one by id or global key",
                field=f"data_row.{name}",
                value=value,
            )
        if rows:
            return _in_project(rows[0], key)
    candidates = {r.id: r for value in key.names for name in _NAME_COLUMNS for r in run.rows.get((name, value), ())}
    if len(candidates) > 1:
        shown = ", ".join(sorted(r.global_key or r.id for r in candidates.values()))
        raise ValidationError(
            f"data row {key} matches several data rows ({shown}); say which with the match option",
            field="data_row",
            value=key.as_dict(),
        )
    if candidates:
        return _in_project(next(iter(candidates.values())), key)
    raise NotFoundError(f"no data row with {key}")


def media_lookup(hub: Hub, project_id: str) -> MediaLookup:
    """The data row a key names in the project (by id, global key, external id or names, as imports resolve
    them), for readers that place labels on the media's geometry; raises naming the key when it names none
    or several, or a row outside the project."""
    from labelport.service.datasets import get_data_row

    lookup = _Lookup(hub, project_id)
    found: dict[DataRowKey, DataRow] = {}

    def media(key: DataRowKey) -> DataRow:
        if key not in found:
            with hub.read() as conn:
                _resolve_rows(lookup, conn, [key])
            found[key] = get_data_row(hub, _row_for(lookup, key).id)
        return found[key]

    return media


def _in_project(row: _Row, key: DataRowKey) -> _Row:
    if not row.in_project:
        raise ValidationError(
            f"data row {row.global_key or row.id!r} is not in a batch of this project; add it with create_batch",
            field="data_row",
            value=key.as_dict(),
        )
    return row


def _labels(run: _Run, conn: sa.Connection) -> tuple[dict[str, str], set[str]]:
    """The label of each data row the import annotated or empties (made when missing, else marked updated),
    and the data rows whose label is new (nothing stored there to replace)."""
    ids = list(dict.fromkeys([*run.labelled, *run.cleared]))
    label_ids: dict[str, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found = conn.execute(
            sa.select(labels.c.data_row_id, labels.c.id).where(
                labels.c.project_id == run.project_id,
                labels.c.kind == run.kind.value,
                labels.c.data_row_id.in_(chunk),
            )
        )
        label_ids.update((str(r[0]), str(r[1])) for r in found)
    stamp = now()
    existing = list(label_ids.values())
    for start in range(0, len(existing), 900):
        conn.execute(
            labels.update()
            .where(labels.c.id.in_(existing[start : start + 900]))
            .values(updated_at=stamp, updated_by=run.hub.actor)
        )
    new = [i for i in ids if i not in label_ids]
    made: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "project_id": run.project_id,
            "data_row_id": data_row_id,
            "kind": run.kind.value,
            "created_at": stamp,
            "updated_at": stamp,
            "created_by": run.hub.actor,
            "updated_by": run.hub.actor,
            "skipped": False,
        }
        for data_row_id in new
    ]
    for start in range(0, len(made), 5000):
        conn.execute(labels.insert(), made[start : start + 5000])
    label_ids.update((str(m["data_row_id"]), str(m["id"])) for m in made)
    return label_ids, set(new)


# The annotation columns in the order rows are built for the bulk insert.
_COLUMNS = (
    "label_id",
    "project_id",
    "data_row_id",
    "kind",
    "uuid",
    "schema_id",
    "feature_name",
    "annotation_type",
    "frame",
    "plane_group",
    "keyframe",
    "segment",
    "confidence",
    "payload",
    "mask_blob",
    "created_at",
)


def _count_feature(run: _Run, data_row_id: str, schema_id: str, name: str) -> None:
    """One more annotation of a feature on a data row; more than MAX_PER_FEATURE is an error."""
    key = (data_row_id, schema_id)
    count = run.per_feature[key] = run.per_feature[key] + 1
    if count > MAX_PER_FEATURE:
        raise ValidationError(
            f"more than {MAX_PER_FEATURE} annotations of feature {name!r} on one data row", field="name", value=name
        )


def _encoded_feature(run: _Run, row: _Row, encoded: EncodedAnnotation) -> tuple[str, str, str]:
    """Schema id, name and tool type of a plain image object a reader encoded, once it passed the checks its
    model annotation would."""
    wanted = (encoded.name, encoded.schema_id, encoded.geometry)
    feature = run.plain_features.get(wanted)
    if feature is None:
        tool = run.index.tool(encoded.name, encoded.schema_id, TOOL_FOR_GEOMETRY_NAME[encoded.geometry or ""])
        feature = run.plain_features[wanted] = (tool.schema_id, tool.name, tool.type.value, tool)
    if encoded.classifications:
        tool = feature[3]
        run.index.check_classifications(encoded.classifications, tool.classifications, f"tool {tool.name!r}")
    _count_feature(run, row.id, feature[0], feature[1])
    return feature[:3]


def _annotation_rows(run: _Run, conn: sa.Connection, row: _Row, annotation: AnyAnnotation) -> list[dict[str, Any]]:
    """The database rows of one model annotation, once it passed every check (its masks then stored)."""
    features = run.index.check(annotation, row.media_type)
    _frames_checked(run, row, annotation)
    for feature in features:
        _count_feature(run, row.id, feature.schema_id, feature.name)
    stored: list[AnyAnnotation] = [annotation]
    if _has_pixels(annotation):  # pixels last: every cheaper check has passed
        stored = _store_masks(run, row, annotation) or stored
    if isinstance(annotation, ObjectAnnotation | TrackedObject | VolumeMask):
        run.objects[annotation.uuid] = row.id
    # A composite mask of several instances is stored as one object per instance, each with its feature.
    return [_annotation_row(a, f) for a, f in zip(stored, features, strict=True)]


def _has_pixels(annotation: AnyAnnotation) -> bool:
    return isinstance(annotation, FrameMasks | VolumeMask) or (
        isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask)
    )


def _key_json(run: _Run, key: DataRowKey) -> str:
    if key is run.last_key:  # an item's annotations share its key: no hashing it for each
        return run.last_key_json
    text = run.key_json.get(key)
    if text is None:
        text = run.key_json[key] = orjson.dumps(key.as_dict()).decode()
    run.last_key, run.last_key_json = key, text
    return text


def _failure(run: _Run, uuid: str | None, key: DataRowKey | None, errors: list[dict[str, Any]]) -> None:
    run.failures.append(len(run.statuses))
    shown = key.as_dict() if key is not None else None
    try:
        text = orjson.dumps((uuid, shown, errors), default=repr).decode()  # odd offending values: repr
    except orjson.JSONEncodeError:  # a value nested too deeply for JSON: its repr, shortened
        errors = [{**e, "value": _shortened(e.get("value"))} for e in errors]
        text = orjson.dumps((uuid, shown, errors), default=repr).decode()
    # PostgreSQL stores no NUL in text or JSON; the offending value keeps a visible stand-in.
    run.statuses.append(_NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text)


# A JSON escape of NUL: ``\u0000`` after an even number of backslashes (an odd one escapes the backslash).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _shortened(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _insert_status_pages(conn: sa.Connection, job_id: str, run: _Run) -> None:
    failures = Counter(position // STATUS_PAGE for position in run.failures)
    pages = BulkRows(conn, import_status_pages, ("job_id", "page", "failures", "statuses"))
    pages.insert(
        [
            (job_id, start // STATUS_PAGE, failures[start // STATUS_PAGE], pages.json_text(",".join(page)))
            for start in range(0, len(run.statuses), STATUS_PAGE)
            if (page := run.statuses[start : start + STATUS_PAGE])
        ]
    )


class _Pending:
    """The annotation rows of one chunk, built as tuples in ``_COLUMNS`` order for one bulk insert."""

    def __init__(self, run: _Run, conn: sa.Connection) -> None:
        self.bulk = BulkRows(conn, annotation_rows, _COLUMNS)
        self.stamp = now()
        self.created = self.bulk.datetime(self.stamp)
        self.kind = run.kind.value
        self.rows: list[tuple[Any, ...]] = []


def _import_annotation(
    run: _Run,
    conn: sa.Connection,
    pending: _Pending,
    item: LabeledItem,
    annotation: AnyAnnotation | EncodedAnnotation,
    found: _Row | None = None,
) -> None:
    """Check one annotation of an item and add its rows to ``pending``, with its status; a failure is its own.

    ``found``: the item's data row when it was found already (else looked up here, failing as it fails).
    The rows' label column holds None until the write phase knows the labels (``_commit``)."""
    uuid = annotation.uuid if type(annotation) is EncodedAnnotation else _uuid_of(annotation)
    key = item.data_row
    try:
        if uuid is not None:
            if uuid in run.seen_uuids:
                raise ValidationError(
                    f"uuid {uuid} is used twice in this import (first at {Location(*run.seen_uuids[uuid])})",
                    field="uuid",
                    value=uuid,
                )
            run.seen_uuids[uuid] = (item.file, item.line, item.path_of(uuid))
        row = found if found is not None else _row_for(run, key)
        if row.media_type is not run.media_type:
            raise ValidationError(
                f"data row is {row.media_type.value} but the project is {run.media_type.value}",
                field="data_row",
                value=key.as_dict(),
            )
        label_id = None
        if type(annotation) is EncodedAnnotation and row.media_type is not MediaType.DICOM:
            schema_id, name, tool_type = _encoded_feature(run, row, annotation)
            payload = BulkRows.json({"annotation": annotation.payload})
            pending.rows.append(
                (label_id, run.project_id, row.id, pending.kind, annotation.uuid, schema_id, name, tool_type,
                 None, None, True, None, annotation.confidence, payload, None, pending.created)
            )  # fmt: skip
            run.objects[annotation.uuid] = row.id
            run.labelled[row.id] = None
            # A canonical uuid needs no escaping; the data row's JSON is made once per data row.
            run.statuses.append(f'["{uuid}",{_key_json(run, key)},null]')
        else:
            # On a DICOM row an encoded object is decoded, so the model path says why it fails.
            model = decoded(annotation)
            common = {
                "label_id": label_id,
                "project_id": run.project_id,
                "data_row_id": row.id,
                "kind": run.kind.value,
                "created_at": pending.stamp,
            }
            rows = [pending.bulk.of(values | common) for values in _annotation_rows(run, conn, row, model)]
            if isinstance(model, Relationship):
                where = item.location_of(uuid)
                run.relationships.append(_Deferred(len(run.statuses), uuid, key, where, row, model, rows))
            else:
                pending.rows += rows
                run.labelled[row.id] = None
            run.statuses.append(orjson.dumps((uuid, key.as_dict(), None)).decode())
        run.staging.keep()
        run.succeeded += 1
    except StoreError:
        raise  # the store failing (the object store down) is no fault of the annotation: the import fails whole
    except LabelportError as exc:
        run.staging.drop()
        location = item.location_of(uuid)
        errors = [_error(str(exc), location, getattr(exc, "value", None), type(exc).__name__)]
        _failure(run, uuid, key, errors)


def _clear_labels(run: _Run, chunk: list[LabeledItem | Problem]) -> None:
    """Note each data row the chunk's items name, whose label the write phase empties before their
    annotations go in (an item that names no row of the project leaves nothing to clear; its annotations
    fail on their own)."""
    for item in chunk:
        if isinstance(item, Problem):
            continue
        try:
            row = _row_for(run, item.data_row)
        except LabelportError:
            continue
        if row.id not in run.cleared and row.media_type is run.media_type:
            run.cleared[row.id] = None


def _whole_rows(fmt: str | None) -> bool:
    """Whether an item of the format is the whole label of its data row (``WHOLE_ROWS`` of its module)."""
    if fmt is None:
        return False
    try:
        entry = get_format(fmt, reading=True)
    except LabelportError:
        return False
    return bool(getattr(entry.module, "WHOLE_ROWS", False))


def _process_chunk(run: _Run, conn: sa.Connection, chunk: list[LabeledItem | Problem]) -> None:
    """Check each annotation of each item of ``chunk`` and insert those that pass, with one status each.

    An ``EncodedAnnotation`` (a plain image object a reader's fast path encoded) takes the same checks as its
    model annotation without building it.
    """
    _resolve_rows(run, conn, [item.data_row for item in chunk if not isinstance(item, Problem)])
    if run.whole_rows:
        _clear_labels(run, chunk)
    pending = _Pending(run, conn)
    for item in chunk:
        if isinstance(item, Problem):
            errors = [_error(item.message, item.location, item.value, "ParseError")]
            _failure(run, item.uuid, item.data_row, errors)
            continue
        try:  # once per item: its annotations share it (one that fails looks again, to raise its own error)
            found: _Row | None = _row_for(run, item.data_row)
        except LabelportError:
            found = None
        for label in item.labels:
            for annotation in label.annotations:
                _import_annotation(run, conn, pending, item, annotation, found)
    run.staging.spool(pending.rows)


def _finish_relationships(run: _Run, conn: sa.Connection) -> None:
    """Check the ends of every relationship against the whole import (and what was stored), stage those that
    hold, and turn the status of the others into a failure naming the missing end."""
    holding: list[tuple[Any, ...]] = []
    for deferred in run.relationships:
        try:
            _check_relationship(run, conn, deferred.row, deferred.relation)
        except StoreError:
            raise  # the store failing is no fault of the relationship: the import fails whole
        except LabelportError as exc:
            errors = [_error(str(exc), deferred.location, getattr(exc, "value", None), type(exc).__name__)]
            run.statuses[deferred.position] = orjson.dumps(
                (deferred.uuid, deferred.key.as_dict(), errors), default=repr
            ).decode()
            run.failures.append(deferred.position)
            run.succeeded -= 1
            continue
        holding += deferred.rows
        # Its row is labelled only now: a relationship that fails leaves no label behind.
        run.labelled[deferred.row.id] = None
    run.staging.spool(holding)
    run.relationships.clear()


def _advance(run: _Run, chunk: list[LabeledItem | Problem]) -> int:
    """How far a chunk moved the import: input lines, where every item of it knows its line (NDJSON: a line may
    hold several items, or none), else items."""
    lines = [item.location.line if isinstance(item, Problem) else item.line for item in chunk]
    if any(line is None for line in lines):
        return len(chunk)
    last = max(line for line in lines if line is not None)
    moved = max(0, last - run.line)
    run.line = max(run.line, last)
    return moved


def start_import(
    hub: Hub,
    project_id: str,
    name: str,
    kind: LabelKind | str,
    *,
    fmt: str = "labelbox_ndjson",
    source: bytes | Path | BinaryIO | None = None,
    input_name: str | None = None,
    file_roots: Iterable[Path] = (),
    reader_options: Mapping[str, Any] | None = None,
    relative_to_source: bool = True,
) -> str:
    """Record a QUEUED import job; ``source`` (a file, its bytes or an open stream, such as an upload spooled
    to a scratch file) is kept in the blob store as its input,
    so ``jobs.run`` runs it anywhere, again after a crash. ``fmt`` is a registered format that reads (a name
    or a vendor alias); ``input_name`` names the file in problem locations; ``file_roots`` are extra folders
    the files it names may be read from (the folder of a local file); ``reader_options`` go to the reader;
    ``relative_to_source=False`` for a file that is only a copy (an upload), whose folder means nothing."""
    kind = LabelKind.parse(kind)
    entry = get_format(fmt, reading=True)
    options = {
        "label_kind": kind.value,
        **({"input_name": input_name} if input_name is not None else {}),
        **({"file_roots": [str(Path(r).absolute()) for r in file_roots]} if file_roots else {}),
        **({"reader_options": dict(reader_options)} if reader_options else {}),
        # Relative references of a local file resolve against its folder (the kept copy is elsewhere); an
        # upload's temporary file is no folder of the user's.
        **({"base": str(source.absolute().parent)} if isinstance(source, Path) and relative_to_source else {}),
    }
    return jobs.create(
        hub,
        JobKind.IMPORT,
        entry.name,
        name=name,
        project_id=project_id,
        options=options,
        source=source,
        content_type="application/x-ndjson",
    )


def run_import(
    hub: Hub,
    job_id: str,
    items: Iterable[LabeledItem | Problem],
    *,
    roots: Iterable[Path] = (),
    base: Path | None = None,
    progress: Callable[[int], None] | None = None,
    owner: str | None = None,
    result: Mapping[str, Any] | None = None,
) -> ImportJobInfo:
    """Validate and store the annotations of an import job, and finish it (with ``result``, what it made
    beyond annotations), in one transaction; returns the finished job. Files the items name are read under
    the settings' roots and ``roots``, relative ones against ``base``. Call it through ``jobs.run`` or
    ``jobs.attempt``, which claim the job and end it FAILED with the reason when this raises (the project is
    gone or has no ontology, the store fails): nothing of the import is then written. ``owner`` is the run's
    claim (``JobInfo.claimed_by``): when another runner has taken the job over, the transaction rolls back
    (``jobs.LeaseLostError``), so it is imported once.
    """
    job = jobs.get(hub, job_id, JobKind.IMPORT)
    if job.project_id is None:
        raise NotFoundError(jobs.PROJECT_GONE)
    project = get_project(hub, job.project_id)
    if project.ontology_id is None:
        raise ValidationError(
            f"project {project.name!r} has no ontology; connect one before importing", field="project", value=project.id
        )
    run = _Run(
        hub=hub,
        project_id=project.id,
        media_type=project.media_type,
        kind=LabelKind(job.options["label_kind"]),
        index=OntologyIndex(get_ontology(hub, project.ontology_id).ontology),
        resolver=masks.FileResolver(hub.settings, tuple(roots), base),
        staging=_Staging(),
        whole_rows=_whole_rows(job.format),
    )
    try:
        _check_all(run, items, progress)
        _commit(run, job_id, owner, result)
    finally:
        run.staging.close()
    return get_import_job(hub, job_id)


def _check_all(run: _Run, items: Iterable[LabeledItem | Problem], progress: Callable[[int], None] | None) -> None:
    """The first phase: check every item chunk by chunk, reading the store, staging blobs and rows."""
    chunk: list[LabeledItem | Problem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            with run.hub.read() as conn:
                _process_chunk(run, conn, chunk)
            if progress:
                progress(_advance(run, chunk))
            chunk = []
    if chunk:
        with run.hub.read() as conn:
            _process_chunk(run, conn, chunk)
        if progress:
            progress(_advance(run, chunk))
    with run.hub.read() as conn:
        _finish_relationships(run, conn)


def _commit(run: _Run, job_id: str, owner: str | None, result: Mapping[str, Any] | None = None) -> None:
    """The second phase, one transaction: the job FINISHED (its claim checked first: a run that lost its job
    writes nothing and rolls back), blobs, labels, annotations (replacing the same uuids, or a whole-row
    format's whole label), workflow and statuses."""
    hub = run.hub
    with hub.transaction() as conn:
        total = len(run.statuses)
        jobs.finish(
            hub,
            job_id,
            total=total,
            succeeded=run.succeeded,
            failed=total - run.succeeded,
            result=result,
            owner=owner,
            conn=conn,
        )
        serialise(conn, f"labels:{run.project_id}")
        run.staging.store(conn, hub.blobs)
        label_ids, new = _labels(run, conn)
        cleared = [label_ids[i] for i in run.cleared if i not in new]
        for start in range(0, len(cleared), 900):
            conn.execute(annotation_rows.delete().where(annotation_rows.c.label_id.in_(cleared[start : start + 900])))
        bulk = BulkRows(conn, annotation_rows, _COLUMNS)
        for spooled in run.staging.spooled():
            rows = [(label_ids[r[2]], *r[1:]) for r in spooled]  # the data row's label in the label column
            # (label, uuid) that may be stored already; an emptied label holds none
            keys = [(r[0], r[4]) for r in rows if r[2] not in new and r[2] not in run.cleared]
            for start in range(0, len(keys), 400):
                conn.execute(
                    annotation_rows.delete().where(
                        sa.tuple_(annotation_rows.c.label_id, annotation_rows.c.uuid).in_(keys[start : start + 400])
                    )
                )
            bulk.insert(rows)
        labelled = list(dict.fromkeys([*run.labelled, *run.cleared]))
        workflow.on_labels_imported(conn, run.project_id, labelled, run.kind, actor=hub.actor)
        _insert_status_pages(conn, job_id, run)


def import_annotations(
    hub: Hub,
    project_id: str,
    name: str,
    items: Iterable[LabeledItem | Problem],
    kind: LabelKind | str,
    *,
    fmt: str = "labelbox_ndjson",
    roots: Iterable[Path] = (),
    progress: Callable[[int], None] | None = None,
) -> ImportJobInfo:
    """Import items already read, in this process, as a job without a kept input (it cannot run again);
    returns it FINISHED or FAILED with the reason (statuses via ``import_statuses_of``). Inputs that are
    files or bytes go through ``start_import(source=...)`` and ``jobs.run`` instead."""
    job_id = start_import(hub, project_id, name, kind, fmt=fmt)
    jobs.attempt(
        hub, job_id, lambda job: run_import(hub, job_id, items, roots=roots, progress=progress, owner=job.claimed_by)
    )
    return get_import_job(hub, job_id)


def reader(
    hub: Hub,
    source: Source,
    fmt: str | None,
    kind: LabelKind | str,
    *,
    roots: Iterable[Path] = (),
    options: Mapping[str, Any] | None = None,
    base: Path | None = None,
    project_id: str | None = None,
) -> tuple[FormatEntry, Iterator[LabeledItem | Problem]]:
    """The registered format of ``source`` (``fmt``, a name or vendor alias, or detected from the content) and
    its items, read with the files under ``roots`` (and ``LABELPORT_FILE_ROOTS``) readable; relative file
    references resolve against ``base`` (the folder of the file the input came from).

    With ``project_id`` the reader gets the project's data rows (``ReadContext.media``) and its ontology."""
    entry = _annotations_only(get_format(fmt, reading=True) if fmt is not None else detect_format(source))
    media, ontology = None, None
    if project_id is not None:
        media = media_lookup(hub, project_id)
        project = get_project(hub, project_id)
        ontology = get_ontology(hub, project.ontology_id).ontology if project.ontology_id else None
    ctx = ReadContext(
        policy=ErrorPolicy.SKIP,
        resolver=masks.FileResolver(hub.settings, tuple(roots), base),
        ontology=ontology,
        label_kind=LabelKind.parse(kind),
        options=dict(options or {}),
        media=media,
    )
    return entry, entry.read(source, ctx)


def input_ontology(hub: Hub, project_id: str, entry: FormatEntry, ontology_file: str | Path) -> Ontology:
    """The project's ontology for an input whose labels were made with ``ontology_file`` (a format's own
    JSON, e.g. Encord's): connected as the project's when the project has none; else the project's, matched
    to it by feature name and kind, with the file's ids recorded on the project's features that had none
    (so the reader finds them, and an export writes them back)."""
    load = getattr(entry.module, "ontology_of", None)
    link = getattr(entry.module, "linked_ontology", None)
    if load is None or link is None:
        raise ValidationError(
            f"format {entry.name!r} takes no ontology file", field="ontology", value=str(ontology_file)
        )
    theirs: Ontology = load(ontology_file)
    project = get_project(hub, project_id)
    if project.ontology_id is None:
        from labelport.service.ontologies import create_ontology
        from labelport.service.projects import connect_ontology

        created = create_ontology(hub, theirs.name, theirs, project.media_type)
        connect_ontology(hub, project_id, created.id)
        return created.ontology
    from labelport.service.ontologies import add_external_ids

    ours = get_ontology(hub, project.ontology_id).ontology
    return add_external_ids(hub, project.ontology_id, link(ours, theirs)).ontology


def _annotations_only(entry: FormatEntry) -> FormatEntry:
    """The entry, unless its items bring data rows to create (they are imported by ``service.items``)."""
    if entry.brings_media:
        raise ValidationError(
            f"format {entry.name!r} brings its media (data rows to create); import it with "
            "service.items.import_items (`labelport import`)",
            field="format",
            value=entry.name,
        )
    return entry


def import_source(
    hub: Hub,
    project_id: str,
    name: str,
    source: Path | bytes,
    kind: LabelKind | str,
    *,
    fmt: str | None = None,
    options: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    ontology_file: str | Path | None = None,
) -> ImportJobInfo:
    """Import a file (or its bytes) in this process as a job that keeps its input, through the registered
    format ``fmt`` (recognised from the content when None); the file's folder is readable for the files it
    names. Returns the job FINISHED or FAILED with the reason (the CLI's and the embedded SDK's path).
    ``ontology_file``: the ontology the labels were made with, in the format's own JSON (``input_ontology``)."""
    if isinstance(source, Path) and not source.is_file():
        raise MediaError(f"import file {str(source)!r} does not exist", path=str(source))
    entry = _annotations_only(get_format(fmt, reading=True) if fmt is not None else detect_format(source))
    if ontology_file is not None:
        input_ontology(hub, project_id, entry, ontology_file)
    job_id = start_import(
        hub,
        project_id,
        name,
        kind,
        fmt=entry.name,
        source=source,
        input_name=str(source) if isinstance(source, Path) else None,
        file_roots=(Path(source).absolute().parent,) if isinstance(source, Path) else (),
        reader_options=options,
    )
    jobs.run(hub, job_id, on_progress=progress)
    return get_import_job(hub, job_id)


def get_import_job(hub: Hub, job_id: str) -> ImportJobInfo:
    return ImportJobInfo.of(jobs.get(hub, job_id, JobKind.IMPORT))


def list_import_jobs(hub: Hub, project_id: str, *, offset: int = 0, limit: int | None = None) -> list[ImportJobInfo]:
    """A project's imports, oldest first (a page with ``offset`` and ``limit``)."""
    found = jobs.list_jobs(hub, project_id=project_id, kind=JobKind.IMPORT, offset=offset, limit=limit)
    return [ImportJobInfo.of(j) for j in found]


def import_statuses_of(
    hub: Hub, job_id: str, *, failures_only: bool = False, offset: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """One status per annotation, in input order: ``{uuid, data_row, errors}`` (no errors: it was imported).

    ``data_row`` holds the identifiers the input gave; each error its ``type``, ``message`` and where it was
    found (``file``, ``line``, ``path``) with the offending ``value``. ``offset`` and ``limit`` cut a page:
    only the stored pages of statuses that hold it are read (with ``failures_only``, found by a running sum
    of each page's failures).
    """
    get_import_job(hub, job_id)  # in the caller's organisation, or NotFoundError
    pages = import_status_pages
    # How many statuses each stored page adds, and a running sum: only the pages holding the window are read.
    size = pages.c.failures if failures_only else sa.literal(STATUS_PAGE, sa.Integer)
    through = sa.func.sum(size).over(order_by=pages.c.page)
    inner = sa.select(pages.c.page, pages.c.statuses, (through - size).label("before"), through.label("through"))
    inner = inner.where(pages.c.job_id == job_id)
    if failures_only:
        inner = inner.where(pages.c.failures > 0)
    held = inner.subquery()
    query = sa.select(held.c.statuses, held.c.before).where(held.c.through > offset).order_by(held.c.page)
    if limit is not None:
        query = query.where(held.c.before < offset + limit)
    out: list[dict[str, Any]] = []
    with hub.read() as conn:
        for page, before in conn.execute(query):
            statuses = [
                {"uuid": uuid, "data_row": key, "errors": errors or []}
                for uuid, key, errors in page
                if errors or not failures_only
            ]
            out.extend(statuses[max(0, offset - int(before)) :])
    return out if limit is None else out[:limit][:limit]
    return out


def stored_annotations(
    hub: Hub, project_id: str, data_row_id: str, kind: LabelKind | str
) -> list[tuple[dict[str, Any], AnyAnnotation]]:
    """The stored annotations of one data row (row columns, rebuilt model annotation), in import order."""
    from labelport.model.codec import from_json

    kind = LabelKind.parse(kind)
    with hub.read() as conn:
        rows = conn.execute(
            sa.select(annotation_rows)
            .where(annotation_rows.c.label_id == label_query(project_id, data_row_id, kind).scalar_subquery())
            .order_by(annotation_rows.c.id)
        ).all()
    return [(dict(r._mapping), from_json(r.payload["annotation"])) for r in rows]


__all__ = [
    "ImportJobInfo",
    "get_import_job",
    "import_annotations",
    "import_source",
    "import_statuses_of",
    "list_import_jobs",
    "reader",
    "run_import",
    "start_import",
    "stored_annotations",
]
