"""The audit package's tables (SQLAlchemy Core, on its own MetaData), all named audit_*.

Entries are append-only; each entry row also stores the Merkle subtree hashes it completes.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# The single row (id = 1) that serialises appends: writers lock it, then read size and root.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
)

# One row per leaf. `leaf` is the canonical JSON the tree commits to; the other entry columns
# are copies for queries (verify_log checks they match the leaf). `nodes` holds the hashes of
# the perfect subtrees of 2, 4, 8, … leaves that END at this leaf, 32 bytes each, smallest
# first: node (level l, index j) lives in row (j + 1) * 2**l - 1 at offset (l - 1) * 32.
# Together with leaf_hash that is every perfect subtree, so appends and proofs read O(log n)
# rows and never rebuild the tree.
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", sa.String(27), nullable=False),  # 2025-01-31T12:00:00.000000Z
    sa.Column("event_type", sa.String(16), nullable=False),
    sa.Column("source", sa.String(200)),
    sa.Column("recipient", sa.String(200)),
    sa.Column("subject", sa.String(64)),
    sa.Column("categories", sa.Text, nullable=False),  # compact JSON array, as in the leaf
    sa.Column("outcome", sa.String(200), nullable=False),
    sa.Column("message_id", sa.String(200)),
    sa.Column("leaf", sa.LargeBinary, nullable=False),
    sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("nodes", sa.LargeBinary, nullable=False),
    sa.Index("ix_audit_entries_subject", "subject", "idx"),
    sa.Index("ix_audit_entries_recipient", "recipient", "idx"),
    sa.Index("ix_audit_entries_source", "source", "idx"),
    sa.Index("ix_audit_entries_recorded_at", "recorded_at"),
    sa.Index("ix_audit_entries_message_id", "message_id"),
)

# Signed checkpoints the gateway issued (C2SP tlog-checkpoint notes).
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("issued_at", sa.String(27), nullable=False),
    sa.Index("ix_audit_checkpoints_size", "size"),
)

# Witnesses known to this instance (vkey: "<name>+<hex key id>+<base64(0x04 || public key)>").
audit_witnesses = sa.Table(
    "audit_witnesses",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("vkey", sa.Text, nullable=False),
    sa.Column("added_at", sa.String(27), nullable=False),
)

# Cosignature lines (C2SP tlog-cosignature) received for a stored checkpoint.
audit_cosignatures = sa.Table(
    "audit_cosignatures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("checkpoint_id", sa.Integer, sa.ForeignKey("audit_checkpoints.id"), nullable=False),
    sa.Column("witness", sa.String(200), nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.UniqueConstraint("checkpoint_id", "witness", name="uq_audit_cosignatures_witness"),
)
