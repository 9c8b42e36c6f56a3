"""Importing annotations as pre-labels (MAL) or ground truth: validate each record, persist the good ones.

Every record gets a status, SUCCESS or FAILURE with reasons; a bad record never stops the others. All
annotations of one import are written in one transaction, with the job's statuses, so a reader sees the
whole import or none of it. Importing a uuid again on the same data row replaces the earlier annotation.
"""

from __future__ import annotations

import uuid as uuid_module
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa

from labelport.errors import LabelportError, Location, NotFoundError, ValidationError
from labelport.formats.base import DataRowRef, EncodedRecord, Problem, Record
from labelport.imaging import PlaneView, decode_png_composite
from labelport.model.annotation import (
    AnyAnnotation,
    ClassificationAnnotation,
    FrameMask,
    FrameMasks,
    ObjectAnnotation,
    Relationship,
    TrackedObject,
    new_uuid,
)
from labelport.model.codec import to_json
from labelport.model.geometry import Mask, RasterSource
from labelport.model.ids import new_id
from labelport.model.jobs import ImportJobInfo, JobFormat, JobKind
from labelport.model.label import LabelKind
from labelport.model.media import MediaAttributes, MediaType, PlaneGroup
from labelport.service import jobs, masks, workflow
from labelport.service.hub import Hub, now
from labelport.service.ontologies import get_ontology
from labelport.service.projects import get_project
from labelport.service.validation import TOOL_FOR_GEOMETRY, Feature, OntologyIndex
from labelport.store.bulk import BulkRows
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


@dataclass
class _Run:
    """State of one import while it runs."""

    hub: Hub
    project_id: str
    media_type: MediaType
    kind: LabelKind
    index: OntologyIndex
    roots: tuple[Path, ...]
    rows: dict[tuple[str, str], _Row | None] = field(default_factory=dict)
    # Kept per annotation as atoms (strings, tuples of them), which the garbage collector does not track: a
    # large import's dicts and lists here would make each full collection walk all of them.
    seen_uuids: dict[str, tuple[str | None, int | None, str | None]] = field(default_factory=dict)
    per_feature: Counter[tuple[str, str]] = field(default_factory=Counter)
    label_ids: dict[str, str] = field(default_factory=dict)
    colours: dict[str, set[tuple[int, int, int]]] = field(default_factory=dict)
    # JSON [uuid, dataRow, errors or null] in input order; str, as orjson's bytes keep a 4 KiB buffer each
    statuses: list[str] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # positions of FAILURE statuses
    succeeded: int = 0
    objects: dict[str, str] = field(default_factory=dict)  # uuid -> data row id of objects imported so far
    new_labels: set[str] = field(default_factory=set)  # labels this run created: nothing to replace there
    views: dict[tuple[str, PlaneGroup], PlaneView] = field(default_factory=dict)
    # (name, schema id, geometry type) of plain objects -> (schema id, name, tool type) of their tool
    plain_features: dict[tuple[str | None, str | None, type], tuple[str, str, str]] = field(default_factory=dict)
    ref_json: dict[tuple[str | None, str | None], str] = field(default_factory=dict)  # dataRow -> its JSON

    def view(self, row: _Row, group: PlaneGroup) -> PlaneView:
        """The plane view of a DICOM row, built once per import (many annotations share a series)."""
        key = (row.id, group)
        if key not in self.views:
            self.views[key] = masks.plane(row.attributes, group)
        return self.views[key]


def _error(message: str, location: Location, value: Any = None, name: str = "ValidationError") -> dict[str, Any]:
    info = {"line": location.line, "path": location.path, "file": location.file, "value": value}
    return {"name": name, "message": message, "additionalInfo": {k: v for k, v in info.items() if v is not None}}


def _uuid_of(annotation: AnyAnnotation) -> str | None:
    return getattr(annotation, "uuid", None)


def _frames_checked(run: _Run, row: _Row, annotation: AnyAnnotation) -> None:
    if isinstance(annotation, TrackedObject) and annotation.group is not None:
        view = run.view(row, annotation.group)
        for keyframe in annotation.keyframes:
            if keyframe.frame >= view.frames:
                raise ValidationError(
                    f"frame {keyframe.frame + 1} is out of range: the {annotation.group.value} plane of this "
                    f"series has frames 1 to {view.frames}",
                    field="frame",
                    value=keyframe.frame + 1,
                )
    elif isinstance(annotation, TrackedObject) and row.attributes.frames is not None:
        for keyframe in annotation.keyframes:
            if keyframe.frame >= row.attributes.frames:
                raise ValidationError(
                    f"frame {keyframe.frame + 1} is out of range: the video has {row.attributes.frames} frames",
                    field="frame",
                    value=keyframe.frame + 1,
                )


def _image_mask(run: _Run, conn: sa.Connection, row: _Row, mask: Mask) -> Mask:
    data = masks.resolve(mask.source, run.hub.settings, run.roots)
    masks.check_size(data, row.attributes.width, row.attributes.height, "the image")
    digest = run.hub.blobs.put(conn, data, "image/png")
    if digest not in run.colours:
        rgb = decode_png_composite(data)
        run.colours[digest] = {tuple(int(v) for v in c) for c in np.unique(rgb.reshape(-1, 3), axis=0)}  # type: ignore[misc]
    if mask.color not in run.colours[digest]:
        raise ValidationError(
            f"mask colour {list(mask.color)} does not occur in the mask image", field="colorRGB", value=list(mask.color)
        )
    return Mask(RasterSource(blob=digest), mask.color)


def _frame_masks(run: _Run, conn: sa.Connection, row: _Row, annotation: FrameMasks) -> tuple[FrameMasks, str | None]:
    """Store a DICOM mask as a label volume (one blob); video masks keep one PNG blob per frame."""
    frames = [masks.resolve(f.source, run.hub.settings, run.roots) for f in annotation.frames]
    if annotation.group is not None and row.media_type is MediaType.DICOM:
        view = run.view(row, annotation.group)
        for frame, data in zip(annotation.frames, frames, strict=True):
            if frame.frame >= view.frames:
                raise ValidationError(
                    f"mask frame {frame.frame + 1} is out of range: the {annotation.group.value} plane of this "
                    f"series has frames 1 to {view.frames}",
                    field="masks.frames.index",
                    value=frame.frame + 1,
                )
            masks.check_size(
                data, view.width, view.height, f"a slice of the {annotation.group.value} plane of this series"
            )
        volume, _counts = masks.label_volume(annotation, frames, view)
        digest = run.hub.blobs.put(conn, masks.encode_label_volume(volume, view.grid), "application/x-nifti+gzip")
        stored = tuple(FrameMask(f.frame, RasterSource(blob=digest)) for f in annotation.frames)
        return replace(annotation, frames=stored), digest
    stored_frames = []
    for frame, data in zip(annotation.frames, frames, strict=True):
        masks.check_size(data, row.attributes.width, row.attributes.height, "the video frame")
        stored_frames.append(FrameMask(frame.frame, RasterSource(blob=run.hub.blobs.put(conn, data, "image/png"))))
    return replace(annotation, frames=tuple(stored_frames)), None


def _check_relationship(run: _Run, conn: sa.Connection, row: _Row, relation: Relationship) -> None:
    """Both ends are objects on the same data row: earlier in this import, or stored before."""
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
                f"relationship {end} {wanted} is not an object on the same data row (imported before it or stored)",
                field=f"relationship.{end}",
                value=wanted,
            )


def label_query(project_id: str, data_row_id: str, kind: LabelKind) -> sa.Select[str]:
    """The id of the one label of a data row in a project, of ``kind``; annotations are found by it."""
    return sa.select(labels.c.id).where(
        labels.c.project_id == project_id, labels.c.data_row_id == data_row_id, labels.c.kind == kind.value
    )


def _has_masks(annotation: AnyAnnotation) -> bool:
    return isinstance(annotation, FrameMasks) or (
        isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask)
    )


def _store_masks(
    run: _Run, conn: sa.Connection, row: _Row, annotation: AnyAnnotation
) -> tuple[AnyAnnotation, str | None]:
    if isinstance(annotation, ObjectAnnotation) and isinstance(annotation.geometry, Mask):
        stored = _image_mask(run, conn, row, annotation.geometry)
        return replace(annotation, geometry=stored), stored.source.blob
    if isinstance(annotation, FrameMasks):
        return _frame_masks(run, conn, row, annotation)
    return annotation, None


def _annotation_rows(
    annotation: AnyAnnotation, features: list[Feature], mask_blob: str | None
) -> Iterator[dict[str, Any]]:
    """Database rows for one annotation: one per mask instance for per-frame masks, else one."""
    base = {
        "frame": None,
        "plane_group": None,
        "keyframe": True,
        "segment": None,
        "confidence": None,
        "mask_blob": mask_blob,
    }
    if isinstance(annotation, FrameMasks):
        for i, (instance, feature) in enumerate(zip(annotation.instances, features, strict=True)):
            # One row per feature; the first keeps the import's uuid, the others derive a stable one from it.
            row_uuid = (
                annotation.uuid
                if i == 0
                else str(uuid_module.uuid5(uuid_module.UUID(annotation.uuid), feature.schema_id))
            )
            single = replace(annotation, uuid=row_uuid, instances=(instance,))
            yield {
                **base,
                "uuid": row_uuid,
                "schema_id": feature.schema_id,
                "feature_name": feature.name,
                "annotation_type": "frame_masks",
                "frame": min(f.frame for f in annotation.frames),
                "plane_group": annotation.group.value if annotation.group else None,
                "payload": {"annotation": to_json(single), "label_value": i + 1, "source_uuid": annotation.uuid},
            }
        return
    [feature] = features
    # A classification may come without a uuid; it then gets a fresh one.
    row: dict[str, Any] = {
        **base,
        "uuid": annotation.uuid or new_uuid(),
        "schema_id": feature.schema_id,
        "feature_name": feature.name,
    }
    if isinstance(annotation, ObjectAnnotation):
        row.update(
            annotation_type=feature.tool.value if feature.tool else "object",
            frame=annotation.placement.frame,
            plane_group=annotation.placement.group.value if annotation.placement.group else None,
            confidence=annotation.confidence,
        )
    elif isinstance(annotation, TrackedObject):
        row.update(
            annotation_type="track",
            frame=annotation.keyframes[0].frame,
            plane_group=annotation.group.value if annotation.group else None,
            confidence=annotation.confidence,
        )
    elif isinstance(annotation, Relationship):
        row.update(annotation_type="relationship")
    else:
        row.update(annotation_type="classification", confidence=annotation.confidence, frame=annotation.placement.frame)
    row["payload"] = {"annotation": to_json(annotation)}
    yield row


def _resolve_rows(run: _Run, conn: sa.Connection, refs: Iterable[DataRowRef]) -> None:
    wanted_ids = {r.id for r in refs if r.id is not None and ("id", r.id) not in run.rows}
    wanted_keys = {r.global_key for r in refs if r.global_key is not None and ("key", r.global_key) not in run.rows}
    in_batch = sa.exists().where(
        batch_data_rows.c.project_id == run.project_id, batch_data_rows.c.data_row_id == data_rows.c.id
    )
    query = sa.select(
        data_rows.c.id, data_rows.c.global_key, data_rows.c.media_type, data_rows.c.media_attributes, in_batch
    ).where(data_rows.c.organization_id == run.hub.organization_id)
    for column, values, tag in ((data_rows.c.id, wanted_ids, "id"), (data_rows.c.global_key, wanted_keys, "key")):
        for value in values:
            run.rows[(tag, value)] = None
        listed = sorted(values)
        for start in range(0, len(listed), 900):
            for r in conn.execute(query.where(column.in_(listed[start : start + 900]))):
                row = _Row(r[0], r[1], MediaType(r[2]), MediaAttributes.from_dict(r[3]), bool(r[4]))
                run.rows[(tag, r[0] if tag == "id" else r[1])] = row


def _row_for(run: _Run, ref: DataRowRef) -> _Row:
    row = run.rows.get(("id", ref.id) if ref.id is not None else ("key", ref.global_key or ""))
    if row is None:
        shown = f"id {ref.id!r}" if ref.id is not None else f"globalKey {ref.global_key!r}"
        raise NotFoundError(f"data row with {shown} does not exist")
    if not row.in_project:
        raise ValidationError(
            f"data row {row.global_key or row.id!r} is not in a batch of this project; add it with create_batch",
            field="dataRow",
            value=ref.as_labelbox(),
        )
    return row


def _label_id(run: _Run, conn: sa.Connection, data_row_id: str) -> str:
    if data_row_id in run.label_ids:
        return run.label_ids[data_row_id]
    existing = conn.execute(label_query(run.project_id, data_row_id, run.kind)).scalar()
    stamp = now()
    if existing is None:
        existing = new_id()
        run.new_labels.add(data_row_id)
        conn.execute(
            labels.insert().values(
                id=existing,
                project_id=run.project_id,
                data_row_id=data_row_id,
                kind=run.kind.value,
                created_at=stamp,
                updated_at=stamp,
                created_by=run.hub.actor,
                updated_by=run.hub.actor,
                skipped=False,
            )
        )
    else:
        conn.execute(labels.update().where(labels.c.id == existing).values(updated_at=stamp, updated_by=run.hub.actor))
    run.label_ids[data_row_id] = str(existing)
    return str(existing)


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


def _encoded_feature(run: _Run, row: _Row, item: EncodedRecord) -> tuple[str, str, str]:
    """Schema id, name and tool type of a plain image object the reader encoded, once it passed the checks
    its record would."""
    wanted = (item.name, item.schema_id, item.geometry)
    feature = run.plain_features.get(wanted)
    if feature is None:
        tool = run.index.tool(item.name, item.schema_id, TOOL_FOR_GEOMETRY[item.geometry])
        feature = run.plain_features[wanted] = (tool.schema_id, tool.name, tool.type.value)
    _count_feature(run, row.id, feature[0], feature[1])
    return feature


def _record_rows(run: _Run, conn: sa.Connection, row: _Row, annotation: AnyAnnotation) -> list[dict[str, Any]]:
    """The database rows of one model annotation, once it passed every check."""
    features = run.index.check(annotation, row.media_type)
    _frames_checked(run, row, annotation)
    if isinstance(annotation, Relationship):
        _check_relationship(run, conn, row, annotation)
    for feature in features:
        _count_feature(run, row.id, feature.schema_id, feature.name)
    stored, mask_blob = annotation, None
    if _has_masks(annotation):
        # Inside a savepoint, so a mask that fails leaves no blob row behind.
        with conn.begin_nested():
            stored, mask_blob = _store_masks(run, conn, row, annotation)
    if isinstance(annotation, ObjectAnnotation | TrackedObject):
        run.objects[annotation.uuid] = row.id
    return list(_annotation_rows(stored, features, mask_blob))


def _ref_json(run: _Run, ref: dict[str, str]) -> str:
    key = (ref.get("id"), ref.get("globalKey"))
    text = run.ref_json.get(key)
    if text is None:
        text = run.ref_json[key] = orjson.dumps(ref).decode()
    return text


def _failure(run: _Run, uuid: str | None, ref: dict[str, Any] | None, errors: list[dict[str, Any]]) -> None:
    run.failures.append(len(run.statuses))
    run.statuses.append(orjson.dumps((uuid, ref, errors), default=repr).decode())  # odd offending values: repr


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


def _process_chunk(run: _Run, conn: sa.Connection, chunk: list[Record | EncodedRecord | Problem]) -> None:
    """Check each item of ``chunk`` and insert the annotations that pass, with one status per item.

    An ``EncodedRecord`` (a plain image object a reader's fast path encoded) takes the same checks as its
    model record without building it; on a DICOM row it is built, so the model path says why it fails.
    """
    _resolve_rows(run, conn, [item.data_row for item in chunk if not isinstance(item, Problem)])
    bulk = BulkRows(conn, annotation_rows, _COLUMNS)
    pending: list[tuple[Any, ...]] = []
    stamp = now()
    created = bulk.datetime(stamp)
    kind = run.kind.value
    for item in chunk:
        if isinstance(item, Problem):
            errors = [_error(item.message, item.location, item.value, "ParseError")]
            _failure(run, item.uuid, dict(item.data_row) if item.data_row else None, errors)
            continue
        encoded = isinstance(item, EncodedRecord)
        uuid = item.uuid if isinstance(item, EncodedRecord) else _uuid_of(item.annotation)
        ref = item.data_row.as_labelbox()
        try:
            if uuid is not None and uuid in run.seen_uuids:
                raise ValidationError(
                    f"uuid {uuid} is used twice in this import (first at {Location(*run.seen_uuids[uuid])})",
                    field="uuid",
                    value=uuid,
                )
            if uuid is not None:
                where = item if isinstance(item, EncodedRecord) else item.location
                run.seen_uuids[uuid] = (where.file, where.line, where.path)
            row = _row_for(run, item.data_row)
            if row.media_type is not run.media_type:
                raise ValidationError(
                    f"data row is {row.media_type.value} but the project is {run.media_type.value}",
                    field="dataRow",
                    value=ref,
                )
            if isinstance(item, EncodedRecord) and row.media_type is not MediaType.DICOM:
                schema_id, name, tool_type = _encoded_feature(run, row, item)
                payload = BulkRows.json({"annotation": item.stored})
                pending.append(
                    (_label_id(run, conn, row.id), run.project_id, row.id, kind, item.uuid, schema_id, name,
                     tool_type, None, None, True, None, item.confidence, payload, None, created)
                )  # fmt: skip
                run.objects[item.uuid] = row.id
            else:
                record = item.record() if isinstance(item, EncodedRecord) else item
                values = _record_rows(run, conn, row, record.annotation)
                common = {
                    "label_id": _label_id(run, conn, row.id),
                    "project_id": run.project_id,
                    "data_row_id": row.id,
                    "kind": kind,
                    "created_at": stamp,
                }
                pending += [bulk.of(value | common) for value in values]
            if encoded:  # a canonical uuid needs no escaping; the data row's JSON is made once per row
                run.statuses.append(f'["{uuid}",{_ref_json(run, ref)},null]')
            else:
                run.statuses.append(orjson.dumps((uuid, ref, None)).decode())
            run.succeeded += 1
        except LabelportError as exc:
            errors = [_error(str(exc), item.location, getattr(exc, "value", None), type(exc).__name__)]
            _failure(run, uuid, ref, errors)
    if pending:
        keys = [(p[0], p[4]) for p in pending if p[2] not in run.new_labels]  # label_id, uuid; data_row_id
        for start in range(0, len(keys), 400):
            conn.execute(
                annotation_rows.delete().where(
                    sa.tuple_(annotation_rows.c.label_id, annotation_rows.c.uuid).in_(keys[start : start + 400])
                )
            )
        bulk.insert(pending)


def start_import(
    hub: Hub,
    project_id: str,
    name: str,
    kind: LabelKind | str,
    *,
    fmt: JobFormat | str = JobFormat.LABELBOX_NDJSON,
    source: bytes | Path | None = None,
    input_name: str | None = None,
    file_roots: Iterable[Path] = (),
) -> str:
    """Record a QUEUED import job; ``source`` (the file or its bytes) is kept in the blob store as its input,
    so ``jobs.run`` runs it anywhere, again after a crash. ``input_name`` names the file in problem locations;
    ``file_roots`` are extra folders its mask files may be read from (the folder of a local file)."""
    kind = LabelKind.parse(kind)
    options = {
        "label_kind": kind.value,
        **({"input_name": input_name} if input_name is not None else {}),
        **({"file_roots": [str(Path(r).absolute()) for r in file_roots]} if file_roots else {}),
    }
    return jobs.create(
        hub,
        JobKind.IMPORT,
        fmt,
        name=name,
        project_id=project_id,
        options=options,
        source=source,
        content_type="application/x-ndjson",
    )


def run_import(
    hub: Hub,
    job_id: str,
    items: Iterable[Record | EncodedRecord | Problem],
    *,
    roots: Iterable[Path] = (),
    progress: Callable[[int], None] | None = None,
) -> ImportJobInfo:
    """Validate and store the annotations of an import job, and finish it, in one transaction; returns the
    finished job. Call it through ``jobs.run`` or ``jobs.attempt``, which claim the job and end it FAILED
    with the reason when this raises (the project is gone or has no ontology, the store fails): nothing of
    the import is then written.
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
        roots=(Path.cwd(), *roots),
    )
    with hub.transaction() as conn:
        chunk: list[Record | EncodedRecord | Problem] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= CHUNK:
                _process_chunk(run, conn, chunk)
                if progress:
                    progress(len(chunk))
                chunk = []
        if chunk:
            _process_chunk(run, conn, chunk)
            if progress:
                progress(len(chunk))
        workflow.on_labels_imported(conn, run.project_id, list(run.label_ids), run.kind, actor=hub.actor)
        _insert_status_pages(conn, job_id, run)
        total = len(run.statuses)
        jobs.finish(hub, job_id, total=total, succeeded=run.succeeded, failed=total - run.succeeded, conn=conn)
    return get_import_job(hub, job_id)


def import_annotations(
    hub: Hub,
    project_id: str,
    name: str,
    items: Iterable[Record | EncodedRecord | Problem],
    kind: LabelKind | str,
    *,
    fmt: JobFormat | str = JobFormat.LABELBOX_NDJSON,
    roots: Iterable[Path] = (),
    progress: Callable[[int], None] | None = None,
) -> ImportJobInfo:
    """Import items already read, in this process, as a job without a kept input (it cannot run again);
    returns it FINISHED or FAILED with the reason (statuses via ``import_statuses_of``). Inputs that are
    files or bytes go through ``start_import(source=...)`` and ``jobs.run`` instead."""
    job_id = start_import(hub, project_id, name, kind, fmt=fmt)
    jobs.attempt(hub, job_id, lambda _job: run_import(hub, job_id, items, roots=roots, progress=progress))
    return get_import_job(hub, job_id)


def get_import_job(hub: Hub, job_id: str) -> ImportJobInfo:
    return ImportJobInfo.of(jobs.get(hub, job_id, JobKind.IMPORT))


def list_import_jobs(hub: Hub, project_id: str) -> list[ImportJobInfo]:
    return [ImportJobInfo.of(j) for j in jobs.list_jobs(hub, project_id=project_id, kind=JobKind.IMPORT)]


def import_statuses_of(hub: Hub, job_id: str, *, failures_only: bool = False) -> list[dict[str, Any]]:
    get_import_job(hub, job_id)  # in the caller's organisation, or NotFoundError
    pages = import_status_pages
    query = sa.select(pages.c.statuses).where(pages.c.job_id == job_id).order_by(pages.c.page)
    if failures_only:
        query = query.where(pages.c.failures > 0)
    with hub.read() as conn:
        return [
            {"uuid": uuid, "dataRow": ref, "status": "FAILURE" if errors else "SUCCESS", "errors": errors or []}
            for page in conn.execute(query).scalars()
            for uuid, ref, errors in page
            if errors or not failures_only
        ]


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
    "ClassificationAnnotation",
    "ImportJobInfo",
    "get_import_job",
    "import_annotations",
    "import_statuses_of",
    "list_import_jobs",
    "run_import",
    "start_import",
    "stored_annotations",
]
