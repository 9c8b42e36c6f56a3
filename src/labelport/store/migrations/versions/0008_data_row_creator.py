"""data rows keep who created them (``data_rows.created_by``, an email), as export details show it

Rows created before this migration have no known creator (NULL).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_rows", schema=None) as batch_op:
        batch_op.drop_column("created_by")
