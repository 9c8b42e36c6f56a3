"""a dataset's data rows are listed in (created_at, id) order from an index: ``ix_data_rows_dataset_order``
on (dataset_id, created_at, id) replaces the index on dataset_id alone (its first column serves the same
lookups), so a page of a large dataset is read from the index instead of sorting every row

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 00:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_data_rows_dataset_order", "data_rows", ["dataset_id", "created_at", "id"])
    op.drop_index("ix_data_rows_dataset_id", table_name="data_rows")


def downgrade() -> None:
    op.create_index("ix_data_rows_dataset_id", "data_rows", ["dataset_id"])
    op.drop_index("ix_data_rows_dataset_order", table_name="data_rows")
