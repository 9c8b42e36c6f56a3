"""labelport's own stored forms: ontologies, import statuses, DICOM masks; data rows get an external id

The store no longer keeps any platform's wire shape:
- ``ontologies.normalized`` (Labelbox's normalized JSON) becomes ``definition``, labelport's own JSON
  (``model.ontology.ontology_to_dict``);
- import status pages hold ``[uuid, data_row, errors]`` with ``data_row`` as ``{id | global_key}`` and each
  error ``{type, message, file, line, path, value}`` (Labelbox's ``dataRow``/``additionalInfo`` shape is made
  by ``formats.labelbox.statuses`` when a Labelbox user reads them);
- a DICOM mask row (a ``FrameMasks`` whose label volume value sat beside it as ``label_value``) becomes a
  ``VolumeMask`` naming its values; the frames it was drawn on are kept beside it for the downgrade;
- ``data_rows.external_id`` (another platform's id of the asset), indexed per organisation.

This migration reads and writes JSON with labelport's own parsers (``formats.labelbox.ontology``), so the
conversion is the one the code applies to new data.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

_ontologies = sa.table(
    "ontologies",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("media_type", sa.String),
    sa.column("normalized", JSON),
    sa.column("definition", JSON),
)
_pages = sa.table(
    "import_status_pages",
    sa.column("job_id", sa.String),
    sa.column("page", sa.Integer),
    sa.column("statuses", JSON),
)
_annotations = sa.table(
    "annotations",
    sa.column("id", sa.Integer),
    sa.column("annotation_type", sa.String),
    sa.column("plane_group", sa.String),
    sa.column("frame", sa.Integer),
    sa.column("mask_blob", sa.String),
    sa.column("payload", JSON),
)
_INFO = ("file", "line", "path", "value")


def _key_up(ref: Any) -> Any:
    if not isinstance(ref, dict):
        return ref
    if "globalKey" in ref:
        return {"global_key": ref["globalKey"]}
    return {k: v for k, v in ref.items() if k == "id"} or ref


def _key_down(ref: Any) -> Any:
    if not isinstance(ref, dict):
        return ref
    if ref.get("id") is not None:
        return {"id": ref["id"]}
    if ref.get("global_key") is not None:
        return {"globalKey": ref["global_key"]}
    return ref


def _error_up(error: dict[str, Any]) -> dict[str, Any]:
    info = error.get("additionalInfo") or {}
    out = {"type": error.get("name"), "message": error.get("message")}
    out.update({k: info[k] for k in _INFO if info.get(k) is not None})
    return out


def _error_down(error: dict[str, Any]) -> dict[str, Any]:
    info = {k: error[k] for k in ("line", "path", "file", "value") if error.get(k) is not None}
    return {"name": error.get("type"), "message": error.get("message"), "additionalInfo": info}


def _convert_pages(conn: sa.Connection, up: bool) -> None:
    key, error = (_key_up, _error_up) if up else (_key_down, _error_down)
    for row in conn.execute(sa.select(_pages)).all():
        statuses = [
            [uuid, key(ref), [error(e) for e in errors] if errors else None] for uuid, ref, errors in row.statuses
        ]
        conn.execute(
            _pages.update().where(_pages.c.job_id == row.job_id, _pages.c.page == row.page).values(statuses=statuses)
        )


def _masks_up(conn: sa.Connection) -> None:
    query = sa.select(_annotations).where(
        _annotations.c.annotation_type == "frame_masks", _annotations.c.plane_group.is_not(None)
    )
    for row in conn.execute(query).all():
        payload = row.payload
        value = payload.get("label_value")
        old = payload.get("annotation") or {}
        if value is None or row.mask_blob is None:
            continue
        instance = (old.get("instances") or [{}])[0]
        mask = {"type": "VolumeMask", "uuid": old["uuid"], "source": {"type": "VolumeSource", "blob": row.mask_blob}}
        mask["values"] = [value]
        for name in ("name", "schema_id"):
            if instance.get(name) is not None:
                mask[name] = instance[name]
        mask["group"] = row.plane_group
        if instance.get("color") is not None:
            mask["color"] = instance["color"]
        frames = [f["frame"] for f in old.get("frames", [])]
        conn.execute(
            _annotations.update()
            .where(_annotations.c.id == row.id)
            .values(annotation_type="volume_mask", payload={"annotation": mask, "frames": frames})
        )


def _masks_down(conn: sa.Connection) -> None:
    for row in conn.execute(sa.select(_annotations).where(_annotations.c.annotation_type == "volume_mask")).all():
        mask = row.payload.get("annotation") or {}
        blob = {"type": "RasterSource", "blob": row.mask_blob}
        frames = row.payload.get("frames") or [row.frame or 0]
        instance = {"type": "MaskInstance", "color": mask.get("color") or [255, 255, 255]}
        for name in ("name", "schema_id"):
            if mask.get(name) is not None:
                instance[name] = mask[name]
        old = {
            "type": "FrameMasks",
            "uuid": mask["uuid"],
            "frames": [{"type": "FrameMask", "frame": f, "source": blob} for f in frames],
            "instances": [instance],
            "group": mask.get("group") or row.plane_group,
        }
        values = mask.get("values") or [1]
        conn.execute(
            _annotations.update()
            .where(_annotations.c.id == row.id)
            .values(
                annotation_type="frame_masks",
                frame=min(frames),
                payload={"annotation": old, "label_value": values[0], "source_uuid": mask["uuid"]},
            )
        )


def upgrade() -> None:
    from labelport.formats.labelbox.ontology import from_normalized
    from labelport.model.ontology import ontology_to_dict

    with op.batch_alter_table("ontologies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("definition", JSON, nullable=True))
    conn = op.get_bind()
    for row in conn.execute(sa.select(_ontologies)).all():
        ontology = from_normalized(row.name, row.normalized, row.media_type)
        conn.execute(
            _ontologies.update().where(_ontologies.c.id == row.id).values(definition=ontology_to_dict(ontology))
        )
    with op.batch_alter_table("ontologies", schema=None) as batch_op:
        batch_op.alter_column("definition", existing_type=JSON, nullable=False)
        batch_op.drop_column("normalized")
    with op.batch_alter_table("data_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_data_rows_external_id", ["organization_id", "external_id"], unique=False)
    _convert_pages(conn, up=True)
    _masks_up(conn)


def downgrade() -> None:
    from labelport.formats.labelbox.ontology import to_normalized
    from labelport.model.ontology import ontology_from_dict

    conn = op.get_bind()
    _masks_down(conn)
    _convert_pages(conn, up=False)
    with op.batch_alter_table("data_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_data_rows_external_id")
        batch_op.drop_column("external_id")
    with op.batch_alter_table("ontologies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("normalized", JSON, nullable=True))
    for row in conn.execute(sa.select(_ontologies)).all():
        ontology = ontology_from_dict({**row.definition, "name": row.name})
        conn.execute(_ontologies.update().where(_ontologies.c.id == row.id).values(normalized=to_normalized(ontology)))
    with op.batch_alter_table("ontologies", schema=None) as batch_op:
        batch_op.alter_column("normalized", existing_type=JSON, nullable=False)
        batch_op.drop_column("definition")
