"""Recording and withdrawing consent as the gateway does it: the consent store, its `consent`
log entry and (on withdrawal) the notices to recipients, all in the caller's transaction.

Call `services.consents.refresh(conn)` after the commit so this process decides on it at once;
other processes pick it up before their next forward.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from audit import log as audit_log
from audit.entries import Entry, EntryType
from consent import store
from consent.models import ConsentIn, ConsentRecord
from gateway.sealing import encode_envelope, envelope_sha256, seal
from gateway.services import Services
from gateway.tables import outbox
from schemas import WithdrawalNotice

NOTICE_PURPOSE = "consent_withdrawal_notice"
NOTICE_SOURCE = "helhet"


def _consent_entry(services: Services, record: ConsentRecord, outcome: str, client: str) -> Entry:
    return Entry(
        event_type=EntryType.CONSENT,
        subject_pseudonym=services.pseudonym(record.subject),
        categories=sorted(record.categories),
        purpose=record.purpose,
        basis=record.basis,
        outcome=outcome,
        client=client,
        details={
            "consent_id": record.consent_id,
            "version": record.version,
            "sources": [str(s) for s in record.sources],
            "recipients": [str(r) for r in record.recipients],
        },
    )


def record_consent(
    services: Services, conn: sa.Connection, data: ConsentIn, *, client: str, now: dt.datetime
) -> ConsentRecord:
    record = store.record(conn, data, recorded_by=client, now=now)
    audit_log.append(conn, [_consent_entry(services, record, "recorded", client)], now=now)
    return record


def withdraw_consent(
    services: Services,
    conn: sa.Connection,
    consent_id: str,
    *,
    reason: str,
    client: str,
    now: dt.datetime,
) -> tuple[ConsentRecord, int]:
    """Withdraw; return the new version and how many withdrawal notices were queued."""
    record = store.withdraw(conn, consent_id, by=client, reason=reason, now=now)
    audit_log.append(conn, [_consent_entry(services, record, "withdrawn", client)], now=now)
    return record, _queue_notices(services, conn, record, client=client, now=now)


def _queue_notices(
    services: Services, conn: sa.Connection, record: ConsentRecord, *, client: str, now: dt.datetime
) -> int:
    """A notice to every (recipient, family) that received, or may be receiving, data under it."""
    received: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in conn.execute(
        sa.select(outbox.c.recipient, outbox.c.family_id, outbox.c.categories).where(
            outbox.c.consent_id == record.consent_id,
            outbox.c.kind == "plan_update",
            outbox.c.status.in_(("delivered", "in_flight")),
        )
    ):
        received[(row.recipient, row.family_id)].update(row.categories)
    if not received:
        return 0
    settings = services.settings
    size, _ = audit_log.lock_head(conn)
    entries: list[Entry] = []
    rows: list[dict[str, Any]] = []
    pseudonym = services.pseudonym(record.subject)
    for (recipient, family_id), categories in sorted(received.items()):
        key = services.recipient_keys.get(recipient)
        if key is None:
            continue
        message_id = uuid.uuid4().hex
        notice = WithdrawalNotice(
            notice_id=message_id,
            consent_id=record.consent_id,
            version=record.version,
            subject=record.subject,
            categories=sorted(categories),
            withdrawn_at=now,
        )
        index = size + len(entries)
        envelope = encode_envelope(
            seal(
                notice,
                message_id=message_id,
                disclosure_index=index,
                created_at=now,
                municipality=settings.municipality,
                source=NOTICE_SOURCE,
                recipient=recipient,
                family_id=family_id,
                recipient_public_key=key,
                signing_key=services.instance.signing_key,
                keyring=services.keyring,
            )
        )
        digest = envelope_sha256(envelope)
        entries.append(
            Entry(
                event_type=EntryType.DISCLOSURE,
                source=NOTICE_SOURCE,
                recipient=recipient,
                subject_pseudonym=pseudonym,
                categories=sorted(categories),
                purpose=NOTICE_PURPOSE,
                basis=record.basis,
                message_id=message_id,
                payload_sha256=digest,
                outcome="queued",
                reason="withdrawal_notice",
                client=client,
                family_id=family_id,
                details={"consent_id": record.consent_id, "version": record.version},
            )
        )
        rows.append(
            {
                "message_id": message_id,
                "kind": "withdrawal",
                "status": "pending",
                "family_id": family_id,
                "recipient": recipient,
                "source": NOTICE_SOURCE,
                "topic": settings.topic(recipient),
                "subject": record.subject,
                "categories": sorted(categories),
                "purpose": NOTICE_PURPOSE,
                "basis": record.basis,
                "consent_id": record.consent_id,
                "record_id": None,
                "disclosure_index": index,
                "payload_sha256": digest,
                "envelope": envelope,
                "created_at": now,
                "attempts": 0,
            }
        )
    audit_log.append(conn, entries, now=now)
    if rows:
        conn.execute(outbox.insert(), rows)
    return len(rows)
