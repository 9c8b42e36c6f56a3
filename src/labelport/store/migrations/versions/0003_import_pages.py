"""import statuses in pages; annotations unique per (label, uuid)

Large imports wrote one status row per annotation and two index entries per annotation row; statuses now
go in pages of 1000 (``[uuid, dataRow, errors]`` each, errors null for SUCCESS), and one unique index on
(label_id, uuid) replaces the (project_id, data_row_id, kind, uuid) one and the label_id one: a label is
one (project, data row, kind), so the rule is the same. Existing statuses are moved into pages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:00:00.000000
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
PAGE = 1000

_statuses = sa.table(
    "import_statuses",
    sa.column("job_id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("uuid", sa.String),
    sa.column("data_row", sa.JSON),
    sa.column("status", sa.String),
    sa.column("errors", sa.JSON),
)
_pages = sa.table(
    "import_status_pages",
    sa.column("job_id", sa.String),
    sa.column("page", sa.Integer),
    sa.column("failures", sa.Integer),
    sa.column("statuses", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_annotations_project_id_data_row_id_kind_uuid", type_="unique")
        batch_op.drop_index(batch_op.f("ix_annotations_label_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_annotations_label_id_uuid"), ["label_id", "uuid"])
    op.create_table(
        "import_status_pages",
        sa.Column("job_id", sa.String(length=25), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("statuses", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_status_pages_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "page", name=op.f("pk_import_status_pages")),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(_statuses).order_by(_statuses.c.job_id, _statuses.c.position))
    for job_id, group in groupby(rows, key=lambda r: r.job_id):
        statuses = [[r.uuid, r.data_row, r.errors if r.status == "FAILURE" else None] for r in group]
        _insert_pages(conn, job_id, statuses)
    op.drop_table("import_statuses")


def _insert_pages(conn: sa.Connection, job_id: str, statuses: list[list[Any]]) -> None:
    for start in range(0, len(statuses), PAGE):
        page = statuses[start : start + PAGE]
        conn.execute(
            _pages.insert().values(
                job_id=job_id, page=start // PAGE, failures=sum(s[2] is not None for s in page), statuses=page
            )
        )


def downgrade() -> None:
    op.create_table(
        "import_statuses",
        sa.Column("job_id", sa.String(length=25), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=64), nullable=True),
        sa.Column("data_row", JSON, nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.CheckConstraint("status in ('SUCCESS', 'FAILURE')", name=op.f("ck_import_statuses_status")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_statuses_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "position", name=op.f("pk_import_statuses")),
    )
    conn = op.get_bind()
    pages = conn.execute(sa.select(_pages).order_by(_pages.c.job_id, _pages.c.page))
    for job_id, group in groupby(pages, key=lambda r: r.job_id):
        statuses = [s for page in group for s in page.statuses]
        for position, (uuid, data_row, errors) in enumerate(statuses):
            conn.execute(
                _statuses.insert().values(
                    job_id=job_id,
                    position=position,
                    uuid=uuid,
                    data_row=data_row,
                    status="FAILURE" if errors else "SUCCESS",
                    errors=errors or [],
                )
            )
    op.drop_table("import_status_pages")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_annotations_label_id_uuid", type_="unique")
        batch_op.create_index(batch_op.f("ix_annotations_label_id"), ["label_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_annotations_project_id_data_row_id_kind_uuid"), ["project_id", "data_row_id", "kind", "uuid"]
        )
