"""Exporting a project as Labelbox export_v2 rows: filters checked up front, the store read in data-row chunks.

Nothing holds the whole project: rows are built chunk by chunk (``CHUNK`` data rows and their annotations)
and yielded, so a caller streams them to a file or an HTTP response. Masks are never stored per frame: a
DICOM mask URL names a feature and a frame, and ``mask_png`` cuts that PNG from the stored label volume on
demand. Embedded exports write the PNGs beside the export file (``MaskFiles``); a server links
``/api/v1/projects/{project}/annotations/{feature}/index/{frame}/mask`` (``server_mask_url``).

Filters (ANDed): ``last_activity_at`` and ``label_created_at`` as ``[start, end]`` (either may be None;
``YYYY-MM-DD``, ``YYYY-MM-DD hh:mm:ss`` in UTC, or ISO 8601 with an offset, converted to UTC; a date alone
as the end means the whole of that day), ``workflow_status``, ``data_row_ids`` or ``global_keys`` (not
both, at most 2000), ``batch_ids``. The last activity of a data row is the latest of its own update, its
label updates and its workflow changes in the project.
"""

from __future__ import annotations

import shutil
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelport.errors import NotFoundError, ValidationError
from labelport.formats import labelbox_export as fmt
from labelport.formats.labelbox_export import ExportParams, MaskRequest, StoredItem
from labelport.imaging.codecs import encode_png_grey
from labelport.model.codec import from_json
from labelport.model.label import LabelKind
from labelport.model.media import MediaAttributes, MediaType, PlaneGroup
from labelport.service import masks, workflow
from labelport.service.hub import Hub
from labelport.service.imports import label_query
from labelport.service.ontologies import get_ontology
from labelport.service.projects import get_project
from labelport.service.records import ProjectInfo
from labelport.service.workflow import WorkflowStatus, as_utc
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


class _VolumeCache:
    """The last few decoded label volumes (a DICOM export reads one volume for many frames)."""

    def __init__(self, hub: Hub, size: int = 2) -> None:
        self.hub = hub
        self.size = size
        self.items: OrderedDict[str, np.ndarray[Any, Any]] = OrderedDict()

    def get(self, digest: str) -> np.ndarray[Any, Any]:
        if digest in self.items:
            self.items.move_to_end(digest)
            return self.items[digest]
        volume = masks.decode_label_volume(self.hub.blobs.get(digest))
        self.items[digest] = volume
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return volume


def mask_png(
    hub: Hub, project_id: str, feature_schema_id: str, data_row_id: str, plane: PlaneGroup | str, frame: int
) -> bytes:
    """The binary PNG (0/255) of feature ``feature_schema_id`` on 1-based ``frame`` of ``plane`` of a DICOM row.

    Cut on demand from the stored label volume(s); every ground-truth mask of the feature on the row counts.
    ``frame`` is the 1-based index the mask URLs carry. Raises NotFoundError when nothing is stored.
    """
    group = PlaneGroup.parse(plane)
    with hub.read() as conn:
        attributes = conn.execute(
            sa.select(data_rows.c.media_attributes).where(
                data_rows.c.id == data_row_id, data_rows.c.organization_id == hub.organization_id
            )
        ).scalar()
        rows = conn.execute(
            sa.select(annotation_rows.c.mask_blob, annotation_rows.c.payload).where(
                annotation_rows.c.label_id
                == label_query(project_id, data_row_id, LabelKind.GROUND_TRUTH).scalar_subquery(),
                annotation_rows.c.schema_id == feature_schema_id,
                annotation_rows.c.mask_blob.is_not(None),
            )
        ).all()
    if attributes is None:
        raise NotFoundError(f"no data row with id {data_row_id!r}")
    if not rows:
        raise NotFoundError(f"no stored mask of feature {feature_schema_id!r} on data row {data_row_id!r}")
    media = MediaAttributes.from_dict(attributes)
    view = masks.plane(media, group)
    selected = np.zeros((view.height, view.width), dtype=bool)
    cache = _VolumeCache(hub)
    for blob, payload in rows:
        value = payload.get("label_value")
        if value is None:
            continue
        image = view.extract(cache.get(blob), frame - 1)
        selected |= image == value
    return encode_png_grey(selected)


def mask_png_for_feature(hub: Hub, project_id: str, feature_id: str, frame: int) -> bytes:
    """The PNG a mask URL names: feature id (annotation uuid) and 1-based frame (the server route's handler)."""
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
    if row is None:
        raise NotFoundError(f"no annotation {feature_id!r} in project {project_id!r}")
    annotation = from_json(row.payload["annotation"])
    if row.plane_group is not None and row.mask_blob is not None:
        value = row.payload.get("label_value")
        with hub.read() as conn:
            attributes = conn.execute(
                sa.select(data_rows.c.media_attributes).where(data_rows.c.id == row.data_row_id)
            ).scalar_one()
        volume = masks.decode_label_volume(hub.blobs.get(row.mask_blob))
        image = masks.plane(MediaAttributes.from_dict(attributes), PlaneGroup(row.plane_group)).extract(
            volume, frame - 1
        )
        return encode_png_grey(image == value)
    for fm in getattr(annotation, "frames", ()):
        if fm.frame == frame - 1 and fm.source.blob is not None:
            return hub.blobs.get(fm.source.blob)
    geometry = getattr(annotation, "geometry", None)
    source = getattr(geometry, "source", None)
    if source is not None and source.blob is not None:
        return hub.blobs.get(source.blob)
    raise NotFoundError(f"annotation {feature_id!r} has no mask on frame {frame}")


def server_mask_url(base_url: str, project_id: str) -> fmt.MaskUrl:
    """Mask URLs a labelport server answers (the route calls ``mask_png_for_feature``)."""
    base = base_url.rstrip("/")

    def url(request: MaskRequest) -> str:
        index = (request.frame or 0) + 1
        return f"{base}/api/v1/projects/{project_id}/annotations/{request.feature_id}/index/{index}/mask"

    return url


class MaskFiles:
    """Embedded exports: mask PNGs written under ``folder`` and linked as ``file://`` URLs."""

    def __init__(self, hub: Hub, folder: Path) -> None:
        self.hub = hub
        self.folder = folder
        self.cache = _VolumeCache(hub)
        self.attributes: dict[str, MediaAttributes] = {}
        self.data_row_id = ""

    def url(self, request: MaskRequest) -> str:
        if request.blob is None:
            raise NotFoundError(f"mask of {request.feature_id} is not in the blob store")
        if request.plane is not None and request.label_value is not None and request.frame is not None:
            target = self.folder / request.feature_id / request.plane.value / f"{request.frame + 1}.png"
            if not target.exists():
                volume = self.cache.get(request.blob)
                view = masks.plane(self.attributes[self.data_row_id], request.plane)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(encode_png_grey(view.extract(volume, request.frame) == request.label_value))
            return target.as_uri()
        target = self.folder / "composite" / f"{request.blob}.png"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.hub.blobs.path(request.blob), target)
        return target.as_uri()


# --- rows ---------------------------------------------------------------------------------------------


def _iso(value: datetime | None, *, precise: bool = False) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="microseconds" if precise else "seconds")


def _media_attributes(media_type: MediaType, attributes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(attributes)
    if media_type is MediaType.DICOM:
        out.setdefault("mime_type", "application/dicom")
    if "frames" in out:
        out.setdefault("frame_count", out["frames"])
    return out


@dataclass
class _Context:
    project: ProjectInfo
    params: ExportParams
    features: fmt.Features
    mask_url: fmt.MaskUrl
    mask_files: MaskFiles | None
    errors: list[dict[str, Any]] = field(default_factory=list)


def _row(
    ctx: _Context, r: Any, label: Any, items: list[StoredItem], history: list[workflow.HistoryEntry]
) -> dict[str, Any]:
    params, project = ctx.params, ctx.project
    data_row: dict[str, Any] = {"id": r.id, "global_key": r.global_key, "row_data": r.row_data}
    if params.data_row_details:
        data_row["details"] = {
            "dataset_id": r.dataset_id,
            "dataset_name": r.dataset_name,
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at),
            "last_activity_at": _iso(r.last_activity_at),
            "created_by": None,
        }
    out: dict[str, Any] = {
        fmt.DATA_ROW: data_row,
        fmt.MEDIA_ATTRIBUTES: _media_attributes(MediaType(r.media_type), r.media_attributes),
    }
    if params.attachments:
        out[fmt.ATTACHMENTS] = [
            {
                "type": a["type"],
                "value": a["value"],
                "id": fmt.derived_id(r.id, f"attachment/{i}"),
                **({"name": a["name"]} if a.get("name") else {}),
            }
            for i, a in enumerate(r.attachments)
        ]
    if params.metadata_fields:
        out[fmt.METADATA_FIELDS] = [
            {
                "schema_id": m.get("schema_id") or fmt.derived_id("metadata", m["name"]),
                "schema_name": m["name"],
                "value": m["value"],
            }
            for m in r.metadata_fields
        ]
    labels_out = []
    if label is not None:
        if ctx.mask_files is not None:
            ctx.mask_files.data_row_id = r.id
            ctx.mask_files.attributes[r.id] = MediaAttributes.from_dict(r.media_attributes)
        try:
            block = fmt.annotations_block(
                project.media_type, items, ctx.features, ctx.mask_url, interpolated_frames=params.interpolated_frames
            )
        except ValidationError as exc:
            ctx.errors.append({"data_row_id": r.id, "message": str(exc)})
            block = fmt.annotations_block(project.media_type, [], ctx.features, ctx.mask_url)
        shown: dict[str, Any] = {
            "label_kind": fmt.LABEL_KIND[project.media_type],
            "version": fmt.VERSION,
            "id": label.id,
        }
        if params.label_details:
            shown[fmt.LABEL_DETAILS] = {
                "created_at": _iso(label.created_at),
                "updated_at": _iso(label.updated_at),
                "created_by": label.created_by,
                "content_last_updated_at": _iso(label.updated_at),
                "reviews": [
                    {
                        "id": fmt.derived_id(label.id, f"review/{_iso(h.at, precise=True)}"),
                        "action": h.action.value,
                        "score": 1 if h.action is workflow.WorkflowAction.APPROVE else -1,
                        "created_at": _iso(h.at, precise=True),
                        "created_by": h.actor,
                    }
                    for h in history
                    if h.action in (workflow.WorkflowAction.APPROVE, workflow.WorkflowAction.REJECT)
                    and as_utc(h.at) >= as_utc(label.created_at)
                ],
            }
        if params.performance_details:
            shown[fmt.PERFORMANCE_DETAILS] = {
                "seconds_to_create": label.seconds_to_create or 0,
                "seconds_to_review": label.seconds_to_review or 0,
                "skipped": bool(label.skipped),
            }
        shown[fmt.ANNOTATIONS] = block
        labels_out.append(shown)
    project_block: dict[str, Any] = {"name": project.name, "project_name": project.name, fmt.LABELS: labels_out}
    if params.project_details:
        status = WorkflowStatus(r.workflow_status) if r.workflow_status else WorkflowStatus.TO_LABEL
        project_block[fmt.PROJECT_DETAILS] = {
            "ontology_id": project.ontology_id,
            "task_name": r.task_name or status.task_name,
            "batch_id": r.batch_id,
            "batch_name": r.batch_name,
            "priority": r.priority,
            "consensus_expected_label_count": 1,
            "workflow_status": status.export_name,
            "workflow_history": [h.as_labelbox(project.id) for h in history],
        }
    out[fmt.PROJECTS] = {project.id: project_block}
    return out


def export_rows(
    hub: Hub,
    project_id: str,
    params: Mapping[str, Any] | ExportParams | None = None,
    filters: Mapping[str, Any] | ExportFilters | None = None,
    *,
    mask_url: fmt.MaskUrl | None = None,
    mask_folder: Path | None = None,
    errors: list[dict[str, Any]] | None = None,
    chunk: int = CHUNK,
) -> Iterator[dict[str, Any]]:
    """export_v2 rows of a project, one per data row, streamed. Params and filters are checked at the call.

    Masks: ``mask_folder`` writes PNGs there and links ``file://`` URLs; else ``mask_url`` builds the links
    (``server_mask_url``). Rows whose annotations cannot be written get an entry in ``errors``.
    """
    checked_params = ExportParams.parse(params)
    checked_filters = ExportFilters.parse(filters)
    project = get_project(hub, project_id)
    ontology = get_ontology(hub, project.ontology_id).ontology if project.ontology_id else None
    files = MaskFiles(hub, mask_folder) if mask_folder is not None else None
    url = files.url if files is not None else (mask_url or server_mask_url("", project_id))
    ctx = _Context(project, checked_params, fmt.Features(ontology), url, files, errors if errors is not None else [])
    return _rows(hub, ctx, checked_filters, chunk)


def _rows(hub: Hub, ctx: _Context, filters: ExportFilters, chunk: int) -> Iterator[dict[str, Any]]:
    project_id = ctx.project.id
    last = ""
    while True:
        with hub.read() as conn:
            query = _query(conn, project_id, filters).where(data_rows.c.id > last).order_by(data_rows.c.id).limit(chunk)
            rows = conn.execute(query).all()
            if not rows:
                return
            ids = [r.id for r in rows]
            label_rows = {
                r.data_row_id: r
                for r in conn.execute(
                    sa.select(labels).where(
                        labels.c.project_id == project_id,
                        labels.c.kind == LabelKind.GROUND_TRUTH.value,
                        labels.c.data_row_id.in_(ids),
                    )
                )
            }
            items: dict[str, list[StoredItem]] = {i: [] for i in ids}
            annotation_query = (
                sa.select(
                    annotation_rows.c.data_row_id,
                    annotation_rows.c.uuid,
                    annotation_rows.c.schema_id,
                    annotation_rows.c.payload,
                )
                .where(annotation_rows.c.label_id.in_([r.id for r in label_rows.values()]))
                .order_by(annotation_rows.c.id)
            )
            for a in conn.execute(annotation_query):
                try:
                    annotation = from_json(a.payload["annotation"])
                except ValidationError as exc:
                    ctx.errors.append({"data_row_id": a.data_row_id, "feature_id": a.uuid, "message": str(exc)})
                    continue
                items[a.data_row_id].append(StoredItem(a.uuid, a.schema_id, annotation, a.payload.get("label_value")))
            history = (
                workflow.histories(conn, project_id, ids)
                if ctx.params.project_details or ctx.params.label_details
                else {}
            )
        for r in rows:
            yield _row(ctx, r, label_rows.get(r.id), items[r.id], history.get(r.id, []))
        last = rows[-1].id


# --- legacy export_labels ----------------------------------------------------------------------------


def legacy_rows(
    hub: Hub,
    project_id: str,
    *,
    start: str | None = None,
    end: str | None = None,
    folder: Path,
    mask_url: fmt.MaskUrl | None = None,
    link: Callable[[Path], str] | None = None,
) -> Iterator[dict[str, Any]]:
    """``project.export_labels`` rows (the pre-export_v2 shape), one per label created in [start, end].

    DICOM and video labels link their per-frame annotations: one NDJSON file per group under ``folder``.
    Embedded, masks are PNGs under ``folder/masks`` and files are linked as ``file://`` URLs; a server passes
    ``mask_url`` (``server_mask_url``) and ``link`` (a file under ``folder`` -> the URL that serves it).
    """
    filters = {"label_created_at": [start, end]} if start is not None or end is not None else None
    params = {"data_row_details": True, "label_details": True, "performance_details": True, "project_details": True}
    folder.mkdir(parents=True, exist_ok=True)
    if mask_url is not None:
        rows = export_rows(hub, project_id, params, filters, mask_url=mask_url)
    else:
        rows = export_rows(hub, project_id, params, filters, mask_folder=folder / "masks")
    for row in rows:
        block = row[fmt.PROJECTS][project_id]
        for label in block[fmt.LABELS]:
            yield _legacy(row, block, label, folder, link or Path.as_uri)


def _legacy_object(obj: dict[str, Any], key: bool) -> dict[str, Any]:
    out = {
        "featureId": obj[fmt.FEATURE_ID],
        "schemaId": obj[fmt.FEATURE_SCHEMA_ID],
        "title": obj["name"],
        "value": obj["value"],
        "keyframe": key,
        "classifications": obj[fmt.CLASSIFICATIONS],
    }
    for name in ("line", "bounding_box", "point", "polygon"):
        if name in obj:
            out["bbox" if name == "bounding_box" else name] = obj[name]
    if "mask" in obj:
        out["instanceURI"] = obj["mask"]["url"]
    if "composite_mask" in obj:
        out["instanceURI"] = obj["composite_mask"]["url"]
    return out


def _frames_file(
    target: Path, frames: Mapping[str, Any], keymap: Mapping[str, Mapping[str, bool]], link: Callable[[Path], str]
) -> str:
    import orjson

    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for number, frame in frames.items():
            line = {
                "frameNumber": int(number),
                "classifications": frame[fmt.CLASSIFICATIONS],
                "objects": [
                    _legacy_object(o, keymap.get(fid, {}).get(number, True)) for fid, o in frame[fmt.OBJECTS].items()
                ],
                "relationships": [],
            }
            out.write(orjson.dumps(line) + b"\n")
    return link(target)


def _legacy(
    row: dict[str, Any], block: dict[str, Any], label: dict[str, Any], folder: Path, link: Callable[[Path], str]
) -> dict[str, Any]:
    annotations = label[fmt.ANNOTATIONS]
    details, performance = label[fmt.LABEL_DETAILS], label[fmt.PERFORMANCE_DETAILS]
    project_details = block[fmt.PROJECT_DETAILS]
    shown: dict[str, Any] = {
        "objects": [],
        "classifications": annotations.get(fmt.CLASSIFICATIONS, []),
        "relationships": [],
    }
    if fmt.GROUPS in annotations:
        shown["groups"] = []
        for name, group in annotations[fmt.GROUPS].items():
            keymap = {fid: m.get(name, {}) for fid, m in annotations[fmt.KEY_FRAME_FEATURE_MAP].items()}
            target = folder / "frames" / label["id"] / f"{name.lower()}.ndjson"
            url = _frames_file(target, group[fmt.FRAMES], keymap, link)
            shown["groups"].append(
                {"name": name.lower(), "objects": [], "classifications": [], "relationships": [], "frames": url}
            )
    elif fmt.FRAMES in annotations:
        shown["frames"] = _frames_file(
            folder / "frames" / label["id"] / "video.ndjson",
            annotations[fmt.FRAMES],
            annotations[fmt.KEY_FRAME_FEATURE_MAP],
            link,
        )
    else:
        shown["objects"] = [_legacy_object(o, True) for o in annotations[fmt.OBJECTS]]
        shown["relationships"] = annotations[fmt.RELATIONSHIPS]
    history = [
        {
            "actorId": h["created_by"],
            "action": h["action"],
            "createdAt": h["created_at"],
            **(
                {"previousTaskId": h["previous_task_id"], "previousTaskName": h["previous_task_name"]}
                if "previous_task_id" in h
                else {}
            ),
            **({"nextTaskId": h["next_task_id"], "nextTaskName": h["next_task_name"]} if "next_task_id" in h else {}),
        }
        for h in project_details["workflow_history"]
    ]
    return {
        "ID": label["id"],
        "DataRow ID": row[fmt.DATA_ROW]["id"],
        "Labeled Data": row[fmt.DATA_ROW]["row_data"],
        "Label": shown,
        "Created By": details["created_by"],
        "Project Name": block["name"],
        "Created At": details["created_at"],
        "Updated At": details["updated_at"],
        "Seconds to Label": performance["seconds_to_create"],
        "External ID": row[fmt.DATA_ROW]["global_key"],
        "Global Key": row[fmt.DATA_ROW]["global_key"],
        "Agreement": -1,
        "Benchmark Agreement": -1,
        "Benchmark ID": None,
        "Dataset Name": row[fmt.DATA_ROW]["details"]["dataset_name"],
        "Reviews": details["reviews"],
        "View Label": None,
        "Has Open Issues": 0,
        "Skipped": performance["skipped"],
        "DataRow Workflow Info": {"taskName": project_details["task_name"], "Workflow History": history},
    }


# --- export tasks (embedded) ---------------------------------------------------------------------------


@dataclass
class ExportResult:
    path: Path
    rows: int
    errors: list[dict[str, Any]]


def run_export(
    hub: Hub,
    project_id: str,
    params: Mapping[str, Any] | ExportParams | None,
    filters: Mapping[str, Any] | ExportFilters | None,
    folder: Path,
    *,
    mask_url: fmt.MaskUrl | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write ``folder/export.ndjson``; params and filters checked first. Masks are PNGs under
    ``folder/masks`` linked as ``file://`` URLs, or links ``mask_url`` makes (``server_mask_url``)."""
    errors: list[dict[str, Any]] = []
    if mask_url is not None:
        rows = export_rows(hub, project_id, params, filters, mask_url=mask_url, errors=errors)
    else:
        rows = export_rows(hub, project_id, params, filters, mask_folder=folder / "masks", errors=errors)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "export.ndjson"
    tmp = folder / ".export.ndjson.partial"

    def counted() -> Iterator[dict[str, Any]]:
        for row in rows:
            yield row
            if progress is not None:
                progress(1)

    written = fmt.write(counted(), tmp)
    tmp.replace(path)
    return ExportResult(path, written, errors)


__all__ = [
    "ExportFilters",
    "ExportParams",
    "ExportResult",
    "MaskFiles",
    "count",
    "export_rows",
    "legacy_rows",
    "mask_png",
    "mask_png_for_feature",
    "parse_time",
    "run_export",
    "server_mask_url",
]
