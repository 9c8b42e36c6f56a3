"""job leases: who claimed a job, until when, and how many times it was claimed

A runner claims a job by a conditional UPDATE that sets ``claimed_by`` and ``lease_expires_at`` and adds one to
``attempts``; it renews the lease while it works, and another runner may take the job over only once the lease
has expired (its runner died). Jobs claimed before this migration have no lease: they can be taken over at
once, as recovery after a restart did until now. The downgrade drops the three columns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("claimed_by")
