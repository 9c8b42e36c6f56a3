"""workflow history keeps a reason: why a reviewer rejected a row (the web viewer asks for one)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_history", schema=None) as batch_op:
        batch_op.drop_column("reason")
