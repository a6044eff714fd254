"""One sealed message queued: the envelope for its recipient, its `disclosure` entry and its
outbox row, made together so that nothing reaches Kafka without its entry in the log.

The pipeline (plan updates) and withdrawals (notices) queue their messages through `Batch`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import JsonValue

from audit import log as audit_log
from audit.entries import Entry, EntryType, Outcome
from gateway.db import outbox
from gateway.envelope.sealing import seal_message
from gateway.errors import GatewayError
from gateway.intake.services import Current, Services
from schemas import PlanUpdate, WithdrawalNotice


@dataclass(frozen=True)
class Message:
    """What to send: a payload about one subject, to one recipient, under one basis."""

    kind: str  # plan_update | withdrawal
    payload: PlanUpdate | WithdrawalNotice
    family_id: str
    recipient: str
    source: str
    subject: str
    categories: list[str]
    purpose: str
    basis: str | None
    reason: str
    consent_id: str | None = None
    record_id: str | None = None
    details: dict[str, JsonValue] = field(default_factory=dict)


class Batch:
    """Entries and outbox rows of one transaction, with the log indexes they will get.

    Lock the log head first (`Batch.start`), add messages and other entries in order, then
    `write`: the entries are appended and the rows inserted in the caller's transaction.
    `decided_on` is what the messages were decided on (see `Services.refresh`); each row keeps
    its change numbers so the relay knows whether anything changed since.
    """

    def __init__(
        self,
        services: Services,
        conn: sa.Connection,
        *,
        client: str,
        now: dt.datetime,
        decided_on: Current | None = None,
    ):
        self.services = services
        self.decided_on = decided_on
        self.conn = conn
        self.client = client
        self.now = now
        self.size, _ = audit_log.lock_head(conn)
        self.entries: list[Entry] = []
        self.rows: list[dict[str, Any]] = []
        self._pseudonyms: dict[str, str] = {}

    def pseudonym(self, person: str) -> str:
        if person not in self._pseudonyms:
            self._pseudonyms[person] = self.services.pseudonym(person)
        return self._pseudonyms[person]

    def add_entry(self, entry: Entry) -> None:
        self.entries.append(entry)

    def add_message(self, message: Message) -> bool:
        """Seal and queue; False (nothing added) when the recipient has no public key."""
        key = self.services.recipient_keys.get(message.recipient)
        if key is None:
            return False
        settings = self.services.settings
        index = self.size + len(self.entries)
        message_id = uuid.uuid4().hex
        sealed = seal_message(
            message.payload,
            message_id=message_id,
            disclosure_index=index,
            created_at=self.now,
            municipality=settings.municipality,
            source=message.source,
            recipient=message.recipient,
            family_id=message.family_id,
            recipient_public_key=key,
            signing_key=self.services.instance.signing_key,
            keyring=self.services.keyring,
        )
        data, digest = sealed.data, sealed.sha256
        self.entries.append(
            Entry(
                event_type=EntryType.DISCLOSURE,
                source=message.source,
                recipient=message.recipient,
                subject_pseudonym=self.pseudonym(message.subject),
                categories=message.categories,
                purpose=message.purpose,
                basis=message.basis,
                message_id=message_id,
                payload_sha256=digest,
                outcome=Outcome.QUEUED,
                reason=message.reason,
                client=self.client,
                family_id=message.family_id,
                details=message.details,
            )
        )
        self.rows.append(
            {
                "message_id": message_id,
                "kind": message.kind,
                "family_id": message.family_id,
                "recipient": message.recipient,
                "source": message.source,
                "topic": settings.topic(message.recipient),
                "subject": message.subject,
                "categories": message.categories,
                "purpose": message.purpose,
                "basis": message.basis,
                "consent_id": message.consent_id,
                "record_id": message.record_id,
                "disclosure_index": index,
                "consent_seq": self.decided_on.consent_seq if self.decided_on else None,
                "family_seq": self.decided_on.family_seq if self.decided_on else None,
                "payload_sha256": digest,
                "envelope": data,
                "created_at": self.now,
            }
        )
        return True

    def write(self) -> None:
        indexes = audit_log.append(self.conn, self.entries, now=self.now)
        if indexes[:1] and indexes[0] != self.size:
            raise GatewayError("the disclosure log moved while it was locked")  # pragma: no cover
        outbox.queue(self.conn, self.rows)
