"""write_slots: GitHub's one write per second per installation, kept across processes

Each process spaced its own writes, so two workers writing for one installation wrote twice as fast
as GitHub asks. A row per installation holds the earliest start of its next write; every process
reserves its writes' starts from it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "write_slots",
        sa.Column("installation_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_write_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name=op.f("pk_write_slots")),
    )


def downgrade() -> None:
    op.drop_table("write_slots")
