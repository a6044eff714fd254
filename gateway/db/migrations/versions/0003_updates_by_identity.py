"""plan updates by their own identity (retries without an Idempotency-Key)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_updates",
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("update_id", sa.String(length=200), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("routes", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agency", "content_sha256", name=op.f("pk_gateway_updates")),
    )


def downgrade() -> None:
    op.drop_table("gateway_updates")
