"""Recording and withdrawing consent as the gateway does it: the consent store, its `consent`
log entry and (on withdrawal) the notices to recipients, all in the caller's transaction.

Call `services.refresh_after_commit()` after the commit so this process decides on it at once;
other processes pick it up before their next forward.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from audit import log as audit_log
from audit.entries import Entry, EntryType, Outcome
from consent import store
from consent.errors import InvalidConsent
from consent.models import ConsentIn, ConsentRecord
from gateway.db import outbox
from gateway.intake.minimise import PURPOSE
from gateway.intake.queue import Batch, Message
from gateway.intake.services import Services
from schemas import WithdrawalNotice

NOTICE_PURPOSE = "consent_withdrawal_notice"
# The purposes the gateway forwards for: a consent for any other would never cover anything.
KNOWN_PURPOSES = (PURPOSE,)
NOTICE_SOURCE = "helhet"


def _consent_entry(
    services: Services, record: ConsentRecord, outcome: Outcome, client: str
) -> Entry:
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
    """Store a consent and log it; one for a purpose the gateway never forwards for is
    refused (InvalidConsent at `purpose`, listing the known ones) instead of lying dead."""
    if data.purpose not in KNOWN_PURPOSES:
        raise InvalidConsent(
            f"unknown purpose {data.purpose!r}: this gateway forwards only for "
            + ", ".join(KNOWN_PURPOSES),
            field="purpose",
        )
    record = store.record(conn, data, recorded_by=client, now=now)
    audit_log.append(conn, [_consent_entry(services, record, Outcome.RECORDED, client)], now=now)
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
    audit_log.append(conn, [_consent_entry(services, record, Outcome.WITHDRAWN, client)], now=now)
    return record, _queue_notices(services, conn, record, client=client, now=now)


def _queue_notices(
    services: Services, conn: sa.Connection, record: ConsentRecord, *, client: str, now: dt.datetime
) -> int:
    """A notice to every (recipient, family) that received, or may be receiving, data under it."""
    received = outbox.received_under(conn, record.consent_id)
    if not received:
        return 0
    batch = Batch(services, conn, client=client, now=now)
    for (recipient, family_id), categories in sorted(received.items()):
        notice_id = uuid.uuid4().hex
        batch.add_message(
            Message(
                kind="withdrawal",
                payload=WithdrawalNotice(
                    notice_id=notice_id,
                    consent_id=record.consent_id,
                    version=record.version,
                    subject=record.subject,
                    categories=sorted(categories),
                    withdrawn_at=now,
                ),
                family_id=family_id,
                recipient=recipient,
                source=NOTICE_SOURCE,
                subject=record.subject,
                categories=sorted(categories),
                purpose=NOTICE_PURPOSE,
                basis=record.basis,
                reason="withdrawal_notice",
                consent_id=record.consent_id,
                details={"consent_id": record.consent_id, "version": record.version},
            )
        )
    batch.write()
    return len(batch.rows)
