"""The gateway's own tables (clients, families, records, updates, outbox), SQLAlchemy Core.

The consent and audit packages own theirs; one Alembic history covers all of them.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

clients = sa.Table(
    "gateway_clients",
    metadata,
    sa.Column("client_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("agency", sa.String(40), nullable=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    # after a rotation, the old token works until previous_valid_until (a grace period)
    sa.Column("previous_token_sha256", sa.String(64), nullable=True),
    sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
)

families = sa.Table(
    "gateway_families",
    metadata,
    sa.Column("family_id", sa.String(40), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

# One row per (family, member): routing looks families up by person.
family_members = sa.Table(
    "gateway_family_members",
    metadata,
    sa.Column(
        "family_id",
        sa.String(40),
        sa.ForeignKey("gateway_families.family_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("person_id", sa.String(11), primary_key=True),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("guardians", sa.JSON, nullable=False),
    sa.Index("ix_gateway_family_members_person_id", "person_id"),
)

# The family registry's change sequence: one row per family (also per deleted family) with the
# number of its latest change. Numbers are strictly increasing in commit order (a writer holds
# the counter's row lock until it commits), so an in-memory index that has read up to n has seen
# every change numbered below n (gateway/intake/family_index.py). No personal data.
family_changes = sa.Table(
    "gateway_family_changes",
    metadata,
    sa.Column("family_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Index("ix_gateway_family_changes_seq", "seq", unique=True),
)

# One row (id = 1): the last family change sequence number handed out.
family_sequence = sa.Table(
    "gateway_family_sequence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# What an agency posted: for idempotency (same key + same body -> same answer). No content.
records = sa.Table(
    "gateway_records",
    metadata,
    sa.Column("record_id", sa.String(40), primary_key=True),
    sa.Column("agency", sa.String(40), nullable=False),
    sa.Column("client_id", sa.String(40), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("agency", "idempotency_key", name="uq_gateway_records_idempotency"),
)

# Every plan update forwarded, by its own identity: the SHA-256 of its source (agency, system,
# record type, record id) and items, without the update_id and the time received (an adapter
# derives the update_id from the record's bytes, which a re-serialised retry changes). The same
# record posted again (an agency's retry without an Idempotency-Key) is answered from here and
# forwarded no second time; a changed record with the same id is a new version. No content.
updates = sa.Table(
    "gateway_updates",
    metadata,
    sa.Column("agency", sa.String(40), primary_key=True),
    sa.Column("content_sha256", sa.String(64), primary_key=True),
    sa.Column("update_id", sa.String(200), nullable=False),
    sa.Column("record_id", sa.String(40), nullable=False),
    sa.Column("routes", sa.JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# Sealed messages waiting for (or done with) publication. The envelope is deleted once the broker
# acknowledged it; the row stays as the record of where it went.
outbox = sa.Table(
    "gateway_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(40), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),  # plan_update | withdrawal
    # pending | in_flight | delivered | withheld
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("family_id", sa.String(40), nullable=False),
    sa.Column("recipient", sa.String(40), nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("topic", sa.String(250), nullable=False),
    sa.Column("subject", sa.String(11), nullable=True),  # cleared once delivered or withheld
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("purpose", sa.String(100), nullable=False),
    sa.Column("basis", sa.String(200), nullable=True),
    sa.Column("consent_id", sa.String(64), nullable=True),
    sa.Column("record_id", sa.String(40), nullable=True),
    sa.Column("disclosure_index", sa.BigInteger, nullable=False),
    # The consent and family change sequence numbers the intake decided on: while both are
    # still current (and no date or time limit passed meanwhile) the relay's re-check would
    # decide the same, so it is skipped.
    sa.Column("consent_seq", sa.BigInteger, nullable=True),
    sa.Column("family_seq", sa.BigInteger, nullable=True),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("envelope", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),  # when last sent
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("kafka_partition", sa.Integer, nullable=True),
    sa.Column("kafka_offset", sa.BigInteger, nullable=True),
    sa.Index("ix_gateway_outbox_status_id", "status", "id"),
    sa.Index("ix_gateway_outbox_family_status", "family_id", "status"),
    sa.Index("ix_gateway_outbox_consent_id", "consent_id"),
)

# The family plan (gateway/plan/): one row per family that has one, with its lifecycle. The row
# outlives the plan's deletion as a tombstone without personal data (status "deleted").
plans = sa.Table(
    "gateway_plans",
    metadata,
    sa.Column("family_id", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # open | closed | deleted
    sa.Column("version", sa.Integer, nullable=False),  # one more for every change of an entry
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_by", sa.String(200), nullable=True),
    sa.Column("close_reason", sa.String(2000), nullable=True),
    sa.Column("delete_after", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
)

# Every version of every plan entry (goal, measure, meeting, evaluation), append-only: a change
# is a new version, never an update in place.
plan_entries = sa.Table(
    "gateway_plan_entries",
    metadata,
    sa.Column("entry_id", sa.String(40), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("family_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # goal | measure | meeting | evaluation
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("change_id", sa.String(40), nullable=False),  # record_id in the log's entries
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(200), nullable=False),
    sa.Index("ix_gateway_plan_entries_family_id", "family_id", "entry_id"),
)
