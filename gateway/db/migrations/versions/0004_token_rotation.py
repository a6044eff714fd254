"""A rotated API token's predecessor, valid until the end of its grace period.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_clients") as batch:
        batch.add_column(sa.Column("previous_token_sha256", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("gateway_clients") as batch:
        batch.drop_column("previous_valid_until")
        batch.drop_column("previous_token_sha256")
