"""The consent registry's tables (SQLAlchemy Core, own MetaData): append-only versions and the
change-sequence counter that orders every change across all consents.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Document = sa.JSON().with_variant(JSONB(), "postgresql")

consent_versions = sa.Table(
    "consent_versions",
    metadata,
    # Change sequence number: strictly increasing across all consents, in commit order (the
    # writer holds the consent_sequence row lock until it commits).
    sa.Column("seq", BigInt, primary_key=True, autoincrement=False),
    sa.Column("consent_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("subject", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("document", Document, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("consent_id", "version", name="uq_consent_versions_id_version"),
    sa.Index("ix_consent_versions_subject", "subject"),
)

consent_sequence = sa.Table(
    "consent_sequence",
    metadata,
    # One row (id = 1): the last change sequence number handed out.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", BigInt, nullable=False),
    sa.CheckConstraint("id = 1", name="ck_consent_sequence_single_row"),
)
