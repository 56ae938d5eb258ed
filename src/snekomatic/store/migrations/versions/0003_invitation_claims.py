"""invitations.claimed_by, invitations.claimed_until: one task at a time acts on an invitation

Several deliveries for one person (pull requests merged together) each advanced the same invitation;
compare-and-set on its state kept the invitation single, but every task that found it "invited" went
on to post a welcome comment. A claim, taken before any step that calls GitHub, lets one task act.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("claimed_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
