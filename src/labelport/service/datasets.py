"""Datasets and their data rows: creation with per-row failures, look-ups by id and global key."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from labelport.errors import ConflictError, LabelportError, MediaError, NotFoundError, ValidationError
from labelport.model.ids import new_id
from labelport.model.media import Attachment, DataRow, MediaAttributes, MediaType, MetadataField
from labelport.model.records import CreateRowsResult, DatasetInfo, RowFailure
from labelport.service import media
from labelport.service.files import FilePolicy
from labelport.service.hub import Hub, now
from labelport.store.schema import data_rows, datasets

log = logging.getLogger(__name__)

MAX_DEPTH = 32  # nesting of a spec (metadata values, attachments): deeper is not data anyone means
UNREADABLE = "row_data could not be read (an unexpected error; the server's log has the details)"
ROW_KEYS = frozenset({"row_data", "global_key", "media_type", "metadata_fields", "attachments", "external_id"})


def create_dataset(hub: Hub, name: str, description: str | None = None) -> DatasetInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"dataset name must be a non-empty string, found {name!r}", field="name", value=name)
    info = DatasetInfo(id=new_id(), name=name, description=description, created_at=now())
    with hub.transaction() as conn:
        conn.execute(
            datasets.insert().values(
                id=info.id,
                organization_id=hub.organization_id,
                name=name,
                description=description,
                created_at=info.created_at,
            )
        )
    return info


def _dataset(row: sa.Row[Any]) -> DatasetInfo:
    return DatasetInfo(id=row.id, name=row.name, description=row.description, created_at=row.created_at)


def get_dataset(hub: Hub, dataset_id: str) -> DatasetInfo:
    with hub.read() as conn:
        row = conn.execute(
            sa.select(datasets).where(datasets.c.id == dataset_id, datasets.c.organization_id == hub.organization_id)
        ).first()
    if row is None:
        raise NotFoundError(f"no dataset with id {dataset_id!r}")
    return _dataset(row)


def list_datasets(hub: Hub, *, offset: int = 0, limit: int | None = None) -> list[DatasetInfo]:
    """The organisation's datasets, oldest first (``limit`` of them from ``offset``: a page, cut in SQL)."""
    with hub.read() as conn:
        rows = conn.execute(
            sa.select(datasets)
            .where(datasets.c.organization_id == hub.organization_id)
            .order_by(datasets.c.created_at, datasets.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
    return [_dataset(r) for r in rows]


@dataclass(frozen=True, slots=True)
class _Prepared:
    index: int
    spec: dict[str, Any]
    row: DataRow
    stored_row_data: str


def _parse_spec(index: int, spec: Any, dataset_id: str, policy: FilePolicy) -> _Prepared:
    where = f"data row {index}"
    if not isinstance(spec, Mapping):
        raise ValidationError(f"{where}: expected an object with row_data, found {spec!r}", field="", value=spec)
    _check_text(spec, where)
    unknown = sorted(set(spec) - ROW_KEYS)
    if unknown:
        raise ValidationError(
            f"{where}: unknown field {unknown[0]!r}; expected {', '.join(sorted(ROW_KEYS))}",
            field=unknown[0],
            value=spec[unknown[0]],
        )
    if "row_data" not in spec:
        raise ValidationError(f"{where}: row_data is missing", field="row_data", value=None)
    claimed = MediaType.parse(spec["media_type"]) if spec.get("media_type") is not None else None
    global_key = spec.get("global_key")
    if global_key is not None and (not isinstance(global_key, str) or not global_key.strip()):
        raise ValidationError(
            f"{where}: global_key must be a non-empty string, found {global_key!r}",
            field="global_key",
            value=global_key,
        )
    external_id = spec.get("external_id")
    if external_id is not None and (not isinstance(external_id, str) or not external_id.strip()):
        raise ValidationError(
            f"{where}: external_id must be a non-empty string, found {external_id!r}",
            field="external_id",
            value=external_id,
        )
    metadata = tuple(_metadata(m, where) for m in spec.get("metadata_fields") or ())
    attachments = tuple(_attachment(a, where) for a in spec.get("attachments") or ())
    stored, media_type, attributes = media.describe(spec["row_data"], claimed, where, policy)
    stored_text = stored if isinstance(stored, str) else orjson.dumps(stored).decode()
    row = DataRow(
        id=new_id(),
        row_data=stored_text,
        media_type=media_type,
        global_key=global_key,
        dataset_id=dataset_id,
        media_attributes=attributes,
        metadata_fields=metadata,
        attachments=attachments,
        external_id=external_id,
    )
    return _Prepared(index=index, spec=dict(spec), row=row, stored_row_data=stored_text)


def _check_text(spec: Mapping[str, Any], where: str) -> None:
    """Refuse NUL characters anywhere in a spec (PostgreSQL cannot store them; SQLite is held to the same
    rule) and nesting deeper than ``MAX_DEPTH``, naming the field."""
    stack: list[tuple[Any, str, int]] = [(spec, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValidationError(f"{where}: {path} is nested deeper than {MAX_DEPTH} levels", field=path)
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationError(
                    f"{where}: {path} contains a NUL character (\\u0000), which labelport does not store",
                    field=path,
                    value=value.replace("\x00", "\ufffd")[:200],
                )
        elif isinstance(value, Mapping):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and "\x00" in key:
                    raise ValidationError(
                        f"{where}: a field name contains a NUL character (\\u0000)", field=name.replace("\x00", "?")
                    )
                stack.append((item, name, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


def _metadata(raw: Any, where: str) -> MetadataField:
    if isinstance(raw, MetadataField):
        return raw
    if not isinstance(raw, Mapping) or "value" not in raw or not (raw.get("name") or raw.get("schema_id")):
        raise ValidationError(
            f"{where}: metadata field needs name (or schema_id) and value, found {raw!r}",
            field="metadata_fields",
            value=raw,
        )
    return MetadataField(
        name=str(raw.get("name") or raw.get("schema_id")), value=raw["value"], schema_id=raw.get("schema_id")
    )


def _attachment(raw: Any, where: str) -> Attachment:
    if isinstance(raw, Attachment):
        return raw
    if not isinstance(raw, Mapping):
        raise ValidationError(f"{where}: attachment must be an object, found {raw!r}", field="attachments", value=raw)
    try:
        return Attachment(type=raw.get("type"), value=raw.get("value"), name=raw.get("name"))  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc.message}", field=exc.field, value=exc.value) from None


def _failure(index: int, spec: Any, exc: LabelportError) -> RowFailure:
    return RowFailure(
        index=index,
        message=str(exc),
        spec=dict(spec) if isinstance(spec, Mapping) else {"row_data": spec},
        field=getattr(exc, "field", None),
        value=getattr(exc, "value", getattr(exc, "path", None)),
    )


def create_data_rows(
    hub: Hub,
    dataset_id: str,
    specs: Iterable[Any],
    progress: Callable[[int], None] | None = None,
) -> CreateRowsResult:
    """Create data rows; each bad row fails on its own with a reason, and the good rows land together.

    Rejected per row: unknown fields, a file outside ``LABELPORT_FILE_ROOTS`` (when set), a missing file,
    content that is not the claimed media type (a DICOM series that is not DICOM), unreadable DICOM, a
    global key used twice in the request or already used in the organisation.
    """
    get_dataset(hub, dataset_id)
    result = CreateRowsResult()
    prepared: list[_Prepared] = []
    keys_seen: dict[str, int] = {}
    policy = FilePolicy.for_rows(hub.settings)
    for index, spec in enumerate(specs):
        try:
            item = _parse_spec(index, spec, dataset_id, policy)
            key = item.row.global_key
            if key is not None and key in keys_seen:
                first = keys_seen[key]
                raise ConflictError(
                    f"data row {index}: global_key {key!r} is used twice in this request (first by data row {first})"
                )
            if key is not None:
                keys_seen[key] = index
            prepared.append(item)
        except LabelportError as exc:
            result.failures.append(_failure(index, spec, exc))
        except Exception:  # a reader library failing in a way nobody foresaw: this row fails, not the request
            log.exception("data row %d could not be read", index)
            result.failures.append(_failure(index, spec, MediaError(f"data row {index}: {UNREADABLE}")))
        if progress is not None:
            progress(1)
    existing = existing_global_keys(hub, [p.row.global_key for p in prepared if p.row.global_key])
    good: list[_Prepared] = []
    for item in prepared:
        if item.row.global_key in existing:
            message = (
                f"data row {item.index}: global_key {item.row.global_key!r} already exists "
                f"(data row {existing[item.row.global_key]})"
            )
            result.failures.append(RowFailure(item.index, message, item.spec, "global_key", item.row.global_key))
        else:
            good.append(item)
    if good:
        stamp = now()
        with hub.transaction() as conn:
            conn.execute(
                data_rows.insert(),
                [
                    {
                        "id": p.row.id,
                        "organization_id": hub.organization_id,
                        "dataset_id": dataset_id,
                        "global_key": p.row.global_key,
                        "external_id": p.row.external_id,
                        "row_data": p.stored_row_data,
                        "media_type": p.row.media_type.value,
                        "media_attributes": p.row.media_attributes.as_dict(),
                        "metadata_fields": [
                            {"name": m.name, "value": m.value, "schema_id": m.schema_id} for m in p.row.metadata_fields
                        ],
                        "attachments": [{"type": a.type, "value": a.value, "name": a.name} for a in p.row.attachments],
                        "created_at": stamp,
                        "updated_at": stamp,
                        "created_by": hub.actor,
                    }
                    for p in good
                ],
            )
        result.created = [p.row for p in good]
    result.failures.sort(key=lambda f: f.index)
    return result


def existing_global_keys(hub: Hub, keys: Sequence[str | None]) -> dict[str, str]:
    """{global key: data row id} for the keys that exist in the organisation."""
    wanted = [k for k in keys if k and "\x00" not in k]  # no stored key holds a NUL (PostgreSQL cannot)
    found: dict[str, str] = {}
    with hub.read() as conn:
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            rows = conn.execute(
                sa.select(data_rows.c.global_key, data_rows.c.id).where(
                    data_rows.c.organization_id == hub.organization_id, data_rows.c.global_key.in_(chunk)
                )
            )
            found.update({str(k): str(i) for k, i in rows})
    return found


def to_data_row(row: sa.Row[Any]) -> DataRow:
    return DataRow(
        id=row.id,
        row_data=row.row_data,
        media_type=MediaType(row.media_type),
        global_key=row.global_key,
        dataset_id=row.dataset_id,
        media_attributes=MediaAttributes.from_dict(row.media_attributes),
        metadata_fields=tuple(MetadataField(**m) for m in row.metadata_fields),
        attachments=tuple(Attachment(**a) for a in row.attachments),
        external_id=row.external_id,
    )


def get_data_row(hub: Hub, data_row_id: str) -> DataRow:
    with hub.read() as conn:
        row = conn.execute(
            sa.select(data_rows).where(
                data_rows.c.id == data_row_id, data_rows.c.organization_id == hub.organization_id
            )
        ).first()
    if row is None:
        raise NotFoundError(f"no data row with id {data_row_id!r}")
    return to_data_row(row)


def list_data_rows(hub: Hub, dataset_id: str, *, offset: int = 0, limit: int | None = None) -> list[DataRow]:
    """A dataset's rows, oldest first (a page with ``offset`` and ``limit``)."""
    get_dataset(hub, dataset_id)
    with hub.read() as conn:
        rows = conn.execute(
            sa.select(data_rows)
            .where(data_rows.c.dataset_id == dataset_id)
            .order_by(data_rows.c.created_at, data_rows.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
    return [to_data_row(r) for r in rows]


def data_row_ids_for_global_keys(hub: Hub, keys: Sequence[str]) -> tuple[list[str | None], list[str]]:
    """Ids in the order of ``keys`` (None where unknown) and the keys that were not found."""
    found = existing_global_keys(hub, keys)
    return [found.get(k) for k in keys], [k for k in keys if k not in found]
