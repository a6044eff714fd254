"""family change sequence (the in-memory family index) and the sequence numbers an outbox row
was decided on (the relay's re-check skipped while they are current)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    changes = op.create_table(
        "gateway_family_changes",
        sa.Column("family_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("family_id", name=op.f("pk_gateway_family_changes")),
    )
    op.create_index("ix_gateway_family_changes_seq", "gateway_family_changes", ["seq"], unique=True)
    sequence = op.create_table(
        "gateway_family_sequence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_family_sequence")),
    )
    # Every family enrolled so far is a change already made, numbered in the order enrolled.
    conn = op.get_bind()
    family_ids = [
        row.family_id
        for row in conn.execute(
            sa.text("SELECT family_id FROM gateway_families ORDER BY created_at, family_id")
        )
    ]
    if family_ids:
        op.bulk_insert(
            changes, [{"family_id": f, "seq": n} for n, f in enumerate(family_ids, start=1)]
        )
    op.bulk_insert(sequence, [{"id": 1, "value": len(family_ids)}])
    with op.batch_alter_table("gateway_outbox") as batch:
        batch.add_column(sa.Column("consent_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("family_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gateway_outbox") as batch:
        batch.drop_column("family_seq")
        batch.drop_column("consent_seq")
    op.drop_table("gateway_family_sequence")
    op.drop_index("ix_gateway_family_changes_seq", table_name="gateway_family_changes")
    op.drop_table("gateway_family_changes")
