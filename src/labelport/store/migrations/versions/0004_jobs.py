"""one jobs table for imports and exports

``import_jobs`` and ``export_jobs`` become rows of ``jobs`` (kind import | export), which keeps the
organisation of each job, so a job outlives its project (``project_id`` is set NULL when the project goes).
An import's label kind moves into ``options``; an export's params and filters too. Export formats get the
names jobs record (``export_v2`` -> ``labelbox_export_v2``, ``export_labels`` -> ``labelbox_export_labels``)
and a finished export's file is named in ``output``. ``import_status_pages`` points at ``jobs``.

The downgrade moves them back; jobs that the old tables cannot hold (no project any more, conversions) are
dropped with their status pages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
NOW = sa.DateTime(timezone=True)
STATES = "state in ('QUEUED', 'RUNNING', 'FINISHED', 'FAILED')"
# export_jobs.format -> (jobs.format, the file a finished export wrote in its folder)
EXPORT_FORMATS = {
    "export_v2": ("labelbox_export_v2", "export.ndjson"),
    "export_labels": ("labelbox_export_labels", "labels.json"),
}
EXPORT_FORMATS_BACK = {new: old for old, (new, _file) in EXPORT_FORMATS.items()}


def _common() -> tuple[sa.ColumnClause[Any], ...]:
    """Columns every job table has (new objects each time: a column belongs to one table)."""
    return (
        sa.column("id", sa.String),
        sa.column("project_id", sa.String),
        sa.column("format", sa.String),
        sa.column("state", sa.String),
        sa.column("error", sa.Text),
        sa.column("created_at", NOW),
        sa.column("started_at", NOW),
        sa.column("finished_at", NOW),
        sa.column("created_by", sa.String),
    )


_jobs = sa.table(
    "jobs",
    *_common(),
    sa.column("organization_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("name", sa.String),
    sa.column("options", JSON),
    sa.column("input_blob", sa.String),
    sa.column("output", sa.Text),
    sa.column("progress_done", sa.Integer),
    sa.column("progress_total", sa.Integer),
    sa.column("total", sa.Integer),
    sa.column("succeeded", sa.Integer),
    sa.column("failed", sa.Integer),
    sa.column("errors", JSON),
)
_import_jobs = sa.table(
    "import_jobs",
    *_common(),
    sa.column("name", sa.String),
    sa.column("kind", sa.String),
    sa.column("input_blob", sa.String),
    sa.column("total", sa.Integer),
    sa.column("succeeded", sa.Integer),
    sa.column("failed", sa.Integer),
)
_export_jobs = sa.table(
    "export_jobs",
    *_common(),
    sa.column("params", JSON),
    sa.column("filters", JSON),
    sa.column("rows", sa.Integer),
    sa.column("errors", JSON),
)
_projects = sa.table("projects", sa.column("id", sa.String), sa.column("organization_id", sa.String))
_pages = sa.table("import_status_pages", sa.column("job_id", sa.String))

_TIMES = ("state", "error", "created_at", "started_at", "finished_at", "created_by")


def _times(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _TIMES}


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("organization_id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("input_blob", sa.String(length=64), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("started_at", NOW, nullable=True),
        sa.Column("finished_at", NOW, nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.CheckConstraint("kind in ('import', 'export', 'convert')", name=op.f("ck_jobs_kind")),
        sa.CheckConstraint(STATES, name=op.f("ck_jobs_state")),
        sa.ForeignKeyConstraint(
            ["input_blob"], ["blobs.sha256"], name=op.f("fk_jobs_input_blob_blobs"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_jobs_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_jobs_project_id_projects"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_state"), ["state"], unique=False)

    conn = op.get_bind()
    imports = conn.execute(
        sa.select(_import_jobs, _projects.c.organization_id).join(
            _projects, _projects.c.id == _import_jobs.c.project_id
        )
    ).all()
    for row in imports:
        finished = row.state == "FINISHED"
        conn.execute(
            _jobs.insert().values(
                id=row.id,
                organization_id=row.organization_id,
                project_id=row.project_id,
                kind="import",
                format=row.format,
                name=row.name,
                options={"label_kind": row.kind},
                input_blob=row.input_blob,
                output=None,
                progress_done=row.total,
                progress_total=row.total if finished else None,
                total=row.total,
                succeeded=row.succeeded,
                failed=row.failed,
                errors=[],
                **_times(row),
            )
        )
    exports = conn.execute(
        sa.select(_export_jobs, _projects.c.organization_id).join(
            _projects, _projects.c.id == _export_jobs.c.project_id
        )
    ).all()
    for row in exports:
        new_format, file_name = EXPORT_FORMATS[row.format]
        finished = row.state == "FINISHED"
        errors = list(row.errors or [])
        conn.execute(
            _jobs.insert().values(
                id=row.id,
                organization_id=row.organization_id,
                project_id=row.project_id,
                kind="export",
                format=new_format,
                name=row.format,
                # Jobs of the old table were all a server's: masks and files linked as server paths.
                options={"params": row.params, "filters": row.filters, "links": "server"},
                input_blob=None,
                output=f"{row.id}/{file_name}" if finished else None,
                progress_done=row.rows,
                progress_total=row.rows if finished else None,
                total=row.rows,
                succeeded=row.rows,
                failed=len(errors),
                errors=errors,
                **_times(row),
            )
        )

    with op.batch_alter_table("import_status_pages", schema=None) as batch_op:
        batch_op.drop_constraint("fk_import_status_pages_job_id_import_jobs", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_import_status_pages_job_id_jobs"), "jobs", ["job_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_jobs_project_id"))
    op.drop_table("export_jobs")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_project_id"))
    op.drop_table("import_jobs")


def downgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("input_blob", sa.String(length=64), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("started_at", NOW, nullable=True),
        sa.Column("finished_at", NOW, nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.CheckConstraint(STATES, name=op.f("ck_import_jobs_state")),
        sa.ForeignKeyConstraint(
            ["input_blob"], ["blobs.sha256"], name=op.f("fk_import_jobs_input_blob_blobs"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_import_jobs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_jobs_project_id"), ["project_id"], unique=False)
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(length=25), nullable=False),
        sa.Column("project_id", sa.String(length=25), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("filters", JSON, nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("started_at", NOW, nullable=True),
        sa.Column("finished_at", NOW, nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.CheckConstraint(STATES, name=op.f("ck_export_jobs_state")),
        sa.CheckConstraint("format in ('export_v2', 'export_labels')", name=op.f("ck_export_jobs_format")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_export_jobs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_jobs_project_id"), ["project_id"], unique=False)

    conn = op.get_bind()
    for row in conn.execute(sa.select(_jobs).order_by(_jobs.c.created_at, _jobs.c.id)).all():
        if row.project_id is None:
            continue
        options = row.options or {}
        if row.kind == "import":
            conn.execute(
                _import_jobs.insert().values(
                    id=row.id,
                    project_id=row.project_id,
                    name=row.name,
                    kind=options.get("label_kind", "prediction"),
                    format=row.format,
                    input_blob=row.input_blob,
                    total=row.total,
                    succeeded=row.succeeded,
                    failed=row.failed,
                    **_times(row),
                )
            )
        elif row.kind == "export" and row.format in EXPORT_FORMATS_BACK:
            conn.execute(
                _export_jobs.insert().values(
                    id=row.id,
                    project_id=row.project_id,
                    format=EXPORT_FORMATS_BACK[row.format],
                    params=options.get("params") or {},
                    filters=options.get("filters") or {},
                    rows=row.total,
                    errors=list(row.errors or []),
                    **_times(row),
                )
            )
    # Pages of jobs the old table cannot hold go with them (their job rows are dropped below).
    conn.execute(_pages.delete().where(_pages.c.job_id.not_in(sa.select(_import_jobs.c.id))))
    with op.batch_alter_table("import_status_pages", schema=None) as batch_op:
        batch_op.drop_constraint("fk_import_status_pages_job_id_jobs", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_import_status_pages_job_id_import_jobs"),
            "import_jobs",
            ["job_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_jobs_project_id"))
        batch_op.drop_index(batch_op.f("ix_jobs_organization_id"))
    op.drop_table("jobs")
