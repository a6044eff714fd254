"""API clients (bearer tokens stored as hashes).

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_clients",
        sa.Column("client_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("agency", sa.String(40), nullable=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_gateway_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_gateway_clients_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_gateway_clients_token_sha256")),
    )


def downgrade() -> None:
    op.drop_table("gateway_clients")
