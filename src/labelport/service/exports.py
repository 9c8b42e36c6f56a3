"""Exporting a project in any registered format: filters checked up front, the store read in data-row chunks.

``items`` turns the store into ``LabeledItem``s, chunk by chunk (``CHUNK`` data rows and their annotations),
each with its media, its ground-truth label (annotations in their stored form, decoded only by writers that
need model objects) and its review state; ``export`` hands them to a format's ``write``, so nothing holds
the whole project. Masks are never stored per frame: a DICOM mask link names a feature and a frame, and
``mask_png_for_feature`` cuts that PNG from the stored label volume on demand. Embedded exports write the
PNGs beside the export file (``MaskFiles``); a server links
``/api/v1/projects/{project}/annotations/{feature}/index/{frame}/mask`` (``server_mask_url``).

Filters (ANDed): ``last_activity_at`` and ``label_created_at`` as ``[start, end]`` (either may be None;
``YYYY-MM-DD``, ``YYYY-MM-DD hh:mm:ss`` in UTC, or ISO 8601 with an offset, converted to UTC; a date alone
as the end means the whole of that day), ``workflow_status``, ``data_row_ids`` or ``global_keys`` (not
both, at most 2000), ``batch_ids``. The last activity of a data row is the latest of its own update, its
label updates and its workflow changes in the project.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from labelport.errors import NotFoundError, ValidationError
from labelport.formats import Output, get_format
from labelport.formats.base import MaskLink, MaskLinker, Sink, WriteContext, WriteReport
from labelport.imaging.codecs import decode_png_composite, encode_png_grey
from labelport.imaging.grids import decode_label_volume, plane_of
from labelport.model.annotation import VolumeMask
from labelport.model.codec import from_json
from labelport.model.encoded import EncodedAnnotation
from labelport.model.geometry import RasterSource, VolumeSource
from labelport.model.item import DataRowKey, ItemReview, LabeledItem
from labelport.model.label import Label, LabelDetails, LabelKind, PerformanceDetails
from labelport.model.media import MediaAttributes, PlaneGroup
from labelport.model.workflow import WorkflowStatus
from labelport.service import workflow
from labelport.service.datasets import to_data_row
from labelport.service.hub import Hub
from labelport.service.ontologies import get_ontology
from labelport.service.projects import get_project
from labelport.service.records import ProjectInfo
from labelport.store.schema import (
    annotation_rows,
    batch_data_rows,
    batches,
    data_rows,
    datasets,
    labels,
    workflow_tasks,
)

CHUNK = 100
MAX_IDS = 2000
FILTER_KEYS = frozenset(
    {"last_activity_at", "label_created_at", "workflow_status", "data_row_ids", "global_keys", "batch_ids"}
)


# --- filters ----------------------------------------------------------------------------------------


def parse_time(value: Any, *, end: bool, what: str) -> datetime:
    """A filter bound in UTC; a bare date as the end bound means the end of that day."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string date, found {value!r}", field=what, value=value)
    text = value.strip()
    for pattern, has_zone in (("%Y-%m-%d", False), ("%Y-%m-%d %H:%M:%S", False), ("%Y-%m-%dT%H:%M:%S%z", True)):
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d" and end:
            parsed += timedelta(days=1) - timedelta(microseconds=1)
        return parsed.astimezone(UTC) if has_zone else parsed.replace(tzinfo=UTC)
    try:
        iso: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        iso = None
    if iso is not None and iso.tzinfo is not None:
        return iso.astimezone(UTC)
    raise ValidationError(
        f"{what} {value!r} is not a date: use YYYY-MM-DD, YYYY-MM-DD hh:mm:ss or YYYY-MM-DDThh:mm:ss+hhmm",
        field=what,
        value=value,
    )


def _range(raw: Any, name: str) -> tuple[datetime | None, datetime | None] | None:
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise ValidationError(
            f"filter {name} must be [start, end] (either may be None), found {raw!r}", field=name, value=raw
        )
    start = parse_time(raw[0], end=False, what=f"{name} start") if raw[0] is not None else None
    stop = parse_time(raw[1], end=True, what=f"{name} end") if raw[1] is not None else None
    if start is not None and stop is not None and stop < start:
        raise ValidationError(f"filter {name} ends ({raw[1]}) before it starts ({raw[0]})", field=name, value=raw)
    return (start, stop) if (start, stop) != (None, None) else None


def _ids(raw: Any, name: str) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise ValidationError(f"filter {name} must be a list of strings, found {raw!r}", field=name, value=raw)
    if not raw:
        raise ValidationError(f"filter {name} must not be empty", field=name, value=[])
    if len(raw) > MAX_IDS:
        raise ValidationError(
            f"filter {name} takes at most {MAX_IDS} items, found {len(raw)}", field=name, value=len(raw)
        )
    bad = [v for v in raw if not isinstance(v, str) or not v]
    if bad:
        raise ValidationError(f"filter {name} must hold non-empty strings, found {bad[0]!r}", field=name, value=bad[0])
    return tuple(raw)


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Checked export filters, ANDed together."""

    last_activity_at: tuple[datetime | None, datetime | None] | None = None
    label_created_at: tuple[datetime | None, datetime | None] | None = None
    workflow_status: WorkflowStatus | None = None
    data_row_ids: tuple[str, ...] | None = None
    global_keys: tuple[str, ...] | None = None
    batch_ids: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | ExportFilters | None) -> ExportFilters:
        if raw is None:
            return cls()
        if isinstance(raw, ExportFilters):
            return raw
        if not isinstance(raw, Mapping):
            raise ValidationError(f"export filters must be a mapping, found {raw!r}", field="filters", value=raw)
        unknown = sorted(set(raw) - FILTER_KEYS)
        if unknown:
            raise ValidationError(
                f"unknown export filter {unknown[0]!r}; expected one of {', '.join(sorted(FILTER_KEYS))}",
                field=f"filters.{unknown[0]}",
                value=raw[unknown[0]],
            )
        if raw.get("data_row_ids") is not None and raw.get("global_keys") is not None:
            raise ValidationError(
                "filters data_row_ids and global_keys cannot both be given; use one", field="filters", value=None
            )
        status = raw.get("workflow_status")
        return cls(
            last_activity_at=_range(raw.get("last_activity_at"), "last_activity_at"),
            label_created_at=_range(raw.get("label_created_at"), "label_created_at"),
            workflow_status=WorkflowStatus.parse(status) if status is not None else None,
            data_row_ids=_ids(raw.get("data_row_ids"), "data_row_ids"),
            global_keys=_ids(raw.get("global_keys"), "global_keys"),
            batch_ids=_ids(raw.get("batch_ids"), "batch_ids"),
        )


def _greatest(conn: sa.Connection, *values: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    name = "max" if conn.dialect.name == "sqlite" else "greatest"
    return sa.func.__getattr__(name)(*values, type_=sa.DateTime(timezone=True))


def _last_activity(conn: sa.Connection, project_id: str) -> sa.ColumnElement[Any]:
    label_update = (
        sa.select(sa.func.max(labels.c.updated_at))
        .where(labels.c.project_id == project_id, labels.c.data_row_id == data_rows.c.id)
        .scalar_subquery()
    )
    return _greatest(
        conn,
        data_rows.c.updated_at,
        sa.func.coalesce(workflow_tasks.c.updated_at, data_rows.c.updated_at),
        sa.func.coalesce(label_update, data_rows.c.updated_at),
    )


def _between(column: sa.ColumnElement[Any], bounds: tuple[datetime | None, datetime | None]) -> list[Any]:
    start, stop = bounds
    out = []
    if start is not None:
        out.append(column >= start)
    if stop is not None:
        out.append(column <= stop)
    return out


def _query(conn: sa.Connection, project_id: str, filters: ExportFilters) -> sa.Select[Any]:
    last_activity = _last_activity(conn, project_id).label("last_activity_at")
    query = (
        sa.select(
            data_rows,
            datasets.c.name.label("dataset_name"),
            batches.c.id.label("batch_id"),
            batches.c.name.label("batch_name"),
            batches.c.priority.label("priority"),
            workflow_tasks.c.status.label("workflow_status"),
            workflow_tasks.c.task_name.label("task_name"),
            last_activity,
        )
        .join(
            batch_data_rows,
            sa.and_(batch_data_rows.c.data_row_id == data_rows.c.id, batch_data_rows.c.project_id == project_id),
        )
        .join(batches, batches.c.id == batch_data_rows.c.batch_id)
        .join(datasets, datasets.c.id == data_rows.c.dataset_id)
        .outerjoin(
            workflow_tasks,
            sa.and_(workflow_tasks.c.project_id == project_id, workflow_tasks.c.data_row_id == data_rows.c.id),
        )
    )
    conditions: list[Any] = []
    if filters.data_row_ids is not None:
        conditions.append(data_rows.c.id.in_(filters.data_row_ids))
    if filters.global_keys is not None:
        conditions.append(data_rows.c.global_key.in_(filters.global_keys))
    if filters.batch_ids is not None:
        conditions.append(batches.c.id.in_(filters.batch_ids))
    if filters.workflow_status is WorkflowStatus.TO_LABEL:
        conditions.append(sa.or_(workflow_tasks.c.status.is_(None), workflow_tasks.c.status == "ToLabel"))
    elif filters.workflow_status is not None:
        conditions.append(workflow_tasks.c.status == filters.workflow_status.value)
    if filters.label_created_at is not None:
        conditions.append(
            sa.exists().where(
                labels.c.project_id == project_id,
                labels.c.data_row_id == data_rows.c.id,
                labels.c.kind == LabelKind.GROUND_TRUTH.value,
                *_between(labels.c.created_at, filters.label_created_at),
            )
        )
    if filters.last_activity_at is not None:
        conditions.extend(_between(_last_activity(conn, project_id), filters.last_activity_at))
    return query.where(*conditions)


def count(hub: Hub, project_id: str, filters: Mapping[str, Any] | ExportFilters | None = None) -> int:
    """How many data rows an export with ``filters`` writes (for progress bars)."""
    checked = ExportFilters.parse(filters)
    get_project(hub, project_id)
    with hub.read() as conn:
        inner = _query(conn, project_id, checked).subquery()
        return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())


# --- masks --------------------------------------------------------------------------------------------


class StorePixels:
    """Stored pixels for writers (``formats.base.PixelStore``): PNG blobs and label volumes, the last few
    volumes kept decoded (an export cuts many frames from one volume)."""

    def __init__(self, hub: Hub, size: int = 2) -> None:
        self.hub = hub
        self.size = size
        self.volumes: OrderedDict[str, npt.NDArray[Any]] = OrderedDict()

    def png(self, source: RasterSource) -> bytes:
        if source.blob is None:
            raise ValidationError("only stored masks are read from the store", field="mask")
        return self.hub.blobs.get(source.blob)

    def plane(self, source: RasterSource) -> npt.NDArray[Any]:
        return decode_png_composite(self.png(source))

    def volume(self, source: VolumeSource, media: Any) -> npt.NDArray[Any]:
        digest = source.blob
        if digest is None:
            raise ValidationError("only stored label volumes are read from the store", field="mask")
        if digest in self.volumes:
            self.volumes.move_to_end(digest)
            return self.volumes[digest]
        volume = decode_label_volume(self.hub.blobs.get(digest))
        self.volumes[digest] = volume
        if len(self.volumes) > self.size:
            self.volumes.popitem(last=False)
        return volume


def mask_png_for_feature(hub: Hub, project_id: str, feature_id: str, frame: int) -> bytes:
    """The PNG a mask URL names: feature id (annotation uuid) and 1-based frame (the server route's handler).

    A DICOM mask is cut from its label volume (0/255 grey) on the plane it was drawn on; an image or video mask
    is its stored PNG.
    """
    with hub.read() as conn:
        row = conn.execute(
            sa.select(annotation_rows)
            .join(labels, labels.c.id == annotation_rows.c.label_id)
            .where(
                labels.c.project_id == project_id,
                labels.c.kind == LabelKind.GROUND_TRUTH.value,
                annotation_rows.c.uuid == feature_id,
            )
        ).first()
        attributes = (
            conn.execute(sa.select(data_rows.c.media_attributes).where(data_rows.c.id == row.data_row_id)).scalar_one()
            if row is not None
            else None
        )
    if row is None:
        raise NotFoundError(f"no annotation {feature_id!r} in project {project_id!r}")
    annotation = from_json(row.payload["annotation"])
    if isinstance(annotation, VolumeMask) and annotation.source.blob is not None:
        volume = decode_label_volume(hub.blobs.get(annotation.source.blob))
        view = plane_of(MediaAttributes.from_dict(attributes or {}), annotation.group or PlaneGroup.AXIAL)
        if not 1 <= frame <= view.frames:
            raise NotFoundError(f"annotation {feature_id!r} has no frame {frame}: its plane has 1 to {view.frames}")
        return encode_png_grey(np.isin(view.extract(volume, frame - 1), annotation.values))
    for fm in getattr(annotation, "frames", ()):
        if fm.frame == frame - 1 and fm.source.blob is not None:
            return hub.blobs.get(fm.source.blob)
    geometry = getattr(annotation, "geometry", None)
    source = getattr(geometry, "source", None)
    if source is not None and source.blob is not None:
        return hub.blobs.get(source.blob)
    raise NotFoundError(f"annotation {feature_id!r} has no mask on frame {frame}")


def server_mask_url(base_url: str, project_id: str) -> MaskLinker:
    """Mask URLs a labelport server answers (the route calls ``mask_png_for_feature``)."""
    base = base_url.rstrip("/")

    def url(link: MaskLink, item: LabeledItem) -> str:
        index = (link.frame or 0) + 1
        return f"{base}/api/v1/projects/{project_id}/annotations/{link.uuid}/index/{index}/mask"

    return url


class MaskFiles:
    """Embedded exports: mask PNGs written under ``folder`` and linked as ``file://`` URLs."""

    def __init__(self, pixels: StorePixels, folder: Path) -> None:
        self.pixels = pixels
        self.folder = folder.absolute()

    def __call__(self, link: MaskLink, item: LabeledItem) -> str:
        if link.volume is not None and link.plane is not None and link.frame is not None and item.media is not None:
            target = self.folder / link.uuid / link.plane.value / f"{link.frame + 1}.png"
            if not target.exists():
                volume = self.pixels.volume(link.volume, item.media)
                view = plane_of(item.media.media_attributes, link.plane)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(encode_png_grey(np.isin(view.extract(volume, link.frame), link.values)))
            return target.as_uri()
        blob = link.raster.blob if link.raster is not None else None
        if blob is None:
            raise NotFoundError(f"mask of {link.uuid} is not in the blob store")
        target = self.folder / "composite" / f"{blob}.png"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.pixels.hub.blobs.get(blob))
        return target.as_uri()


# --- items --------------------------------------------------------------------------------------------


def _label(r: Any, annotations: list[EncodedAnnotation]) -> Label:
    return Label(
        kind=LabelKind(r.kind),
        annotations=tuple(annotations),
        details=LabelDetails(r.created_at, r.updated_at, r.created_by, r.updated_by),
        performance=PerformanceDetails(r.seconds_to_create, r.seconds_to_review, bool(r.skipped)),
        id=r.id,
    )


def items(
    hub: Hub,
    project_id: str,
    filters: Mapping[str, Any] | ExportFilters | None = None,
    *,
    kind: LabelKind = LabelKind.GROUND_TRUTH,
    chunk: int = CHUNK,
) -> Iterator[LabeledItem]:
    """The project's data rows as items, one per data row in id order, streamed (filters checked at the call).

    Each holds its media, its label of ``kind`` (when it has one) with the annotations in their stored form,
    and its review state (batch, workflow status and history, dataset, activity).
    """
    checked = ExportFilters.parse(filters)
    project = get_project(hub, project_id)
    return _items(hub, project, checked, kind, chunk)


def _items(
    hub: Hub, project: ProjectInfo, filters: ExportFilters, kind: LabelKind, chunk: int
) -> Iterator[LabeledItem]:
    last = ""
    while True:
        with hub.read() as conn:
            query = _query(conn, project.id, filters).where(data_rows.c.id > last).order_by(data_rows.c.id).limit(chunk)
            rows = conn.execute(query).all()
            if not rows:
                return
            ids = [r.id for r in rows]
            label_rows = {
                r.data_row_id: r
                for r in conn.execute(
                    sa.select(labels).where(
                        labels.c.project_id == project.id, labels.c.kind == kind.value, labels.c.data_row_id.in_(ids)
                    )
                )
            }
            annotations: dict[str, list[EncodedAnnotation]] = {i: [] for i in ids}
            annotation_query = (
                sa.select(
                    annotation_rows.c.data_row_id,
                    annotation_rows.c.uuid,
                    annotation_rows.c.schema_id,
                    annotation_rows.c.feature_name,
                    annotation_rows.c.confidence,
                    annotation_rows.c.payload,
                )
                .where(annotation_rows.c.label_id.in_([r.id for r in label_rows.values()]))
                .order_by(annotation_rows.c.id)
            )
            for row_id, uuid, schema_id, name, confidence, payload in conn.execute(annotation_query):
                annotations[row_id].append(
                    EncodedAnnotation(uuid, payload["annotation"], name, schema_id, None, confidence)
                )
            history = workflow.histories(conn, project.id, ids)
        for r in rows:
            label = label_rows.get(r.id)
            status = WorkflowStatus(r.workflow_status) if r.workflow_status else WorkflowStatus.TO_LABEL
            review = ItemReview(
                project_id=project.id,
                project_name=project.name,
                ontology_id=project.ontology_id,
                batch_id=r.batch_id,
                batch_name=r.batch_name,
                priority=r.priority,
                status=status,
                task_name=r.task_name or status.task_name,
                history=tuple(history.get(r.id, ())),
                dataset_name=r.dataset_name,
                created_at=r.created_at,
                updated_at=r.updated_at,
                last_activity_at=r.last_activity_at,
            )
            yield LabeledItem(
                DataRowKey(id=r.id, global_key=r.global_key),
                (_label(label, annotations[r.id]),) if label is not None else (),
                media=to_data_row(r),
                review=review,
            )
        last = rows[-1].id


# --- export -------------------------------------------------------------------------------------------


def check_options(fmt: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """A writer's options, checked by the format (``formats.X.parse_options``) before anything runs."""
    entry = get_format(fmt, reading=False)
    parse = getattr(entry.module, "parse_options", None)
    if parse is None:
        if options:
            raise ValidationError(f"format {entry.name!r} takes no options, found {sorted(options)}", field="options")
        return {}
    checked: dict[str, Any] = parse(dict(options or {}))
    return checked


def export(
    hub: Hub,
    project_id: str,
    fmt: str,
    sink: Sink,
    *,
    options: Mapping[str, Any] | None = None,
    filters: Mapping[str, Any] | ExportFilters | None = None,
    link_mask: MaskLinker | None = None,
    mask_folder: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> WriteReport:
    """Write the project's items with the format ``fmt`` (a registry name or a vendor alias) to ``sink``.

    Options and filters are checked before anything is read. Masks are linked by ``link_mask``, or written
    as PNG files under ``mask_folder`` (default: beside a file sink, ``<file>.masks``).
    """
    entry = get_format(fmt, reading=False)
    checked = check_options(entry.name, options)
    stream = items(hub, project_id, filters)
    project = get_project(hub, project_id)
    ontology = get_ontology(hub, project.ontology_id).ontology if project.ontology_id else None
    pixels = StorePixels(hub)
    if link_mask is None:
        if mask_folder is None and isinstance(sink, str | Path):
            mask_folder = Path(sink) / "masks" if entry.output is Output.FOLDER else Path(f"{sink}.masks")
        link_mask = MaskFiles(pixels, mask_folder) if mask_folder is not None else server_mask_url("", project_id)

    def counted() -> Iterator[LabeledItem]:
        for item in stream:
            yield item
            if progress is not None:
                progress(1)

    ctx = WriteContext(ontology=ontology, pixels=pixels, link_mask=link_mask, options=checked)
    return entry.write(counted(), sink, ctx)


__all__ = [
    "ExportFilters",
    "MaskFiles",
    "StorePixels",
    "check_options",
    "count",
    "export",
    "items",
    "mask_png_for_feature",
    "parse_time",
    "server_mask_url",
]
