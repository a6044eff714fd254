"""Reconciliation of the topics against the disclosure log (`helhet audit reconcile`).

Every message on a recipient's topic must have its disclosure entry (same message id, same
SHA-256), and every recorded delivery must be on the topic where the log says it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from audit.entries import EntryType, LogEntry
from audit.query import Filters, query
from gateway.kafka.publisher import MESSAGE_ID_HEADER
from gateway.kafka.topics import read_topic


@dataclass(frozen=True)
class TopicMessage:
    topic: str
    partition: int
    offset: int
    message_id: str | None
    sha256: str


@dataclass
class ReconcileReport:
    messages: int = 0
    disclosures: int = 0
    deliveries: int = 0
    unlogged: list[TopicMessage] = field(default_factory=list)  # on Kafka, no disclosure
    altered: list[TopicMessage] = field(default_factory=list)  # hash differs from the log
    duplicates: list[TopicMessage] = field(default_factory=list)  # one message id twice
    missing: list[dict[str, Any]] = field(default_factory=list)  # delivered, not on Kafka

    @property
    def clean(self) -> bool:
        return not (self.unlogged or self.altered or self.duplicates or self.missing)

    def as_dict(self) -> dict[str, Any]:
        def rows(items: list[TopicMessage]) -> list[dict[str, Any]]:
            return [m.__dict__ for m in items]

        return {
            "clean": self.clean,
            "messages_on_topics": self.messages,
            "disclosure_entries": self.disclosures,
            "delivery_entries": self.deliveries,
            "unlogged": rows(self.unlogged),
            "altered": rows(self.altered),
            "duplicates": rows(self.duplicates),
            "missing": self.missing,
        }


def _entries(conn: sa.Connection, event_type: EntryType) -> Iterator[LogEntry]:
    cursor = None
    while True:
        page = query(conn, Filters(event_type=event_type), cursor, 500, order="asc")
        yield from page.entries
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def topic_messages(bootstrap_servers: str, topic: str) -> list[TopicMessage]:
    """Every message on every partition of `topic`, from the beginning to the current end."""
    found = []
    for record in read_topic(bootstrap_servers, topic):
        raw = record.headers.get(MESSAGE_ID_HEADER)
        message_id = raw.decode() if raw else _message_id_of(record.value)
        found.append(
            TopicMessage(
                topic,
                record.partition,
                record.offset,
                message_id,
                hashlib.sha256(record.value).hexdigest(),
            )
        )
    return found


def _message_id_of(value: bytes | None) -> str | None:
    try:
        document = json.loads(value or b"")
    except ValueError:
        return None
    message_id = document.get("message_id") if isinstance(document, dict) else None
    return message_id if isinstance(message_id, str) else None


def reconcile(conn: sa.Connection, bootstrap_servers: str, topics: list[str]) -> ReconcileReport:
    report = ReconcileReport()
    disclosed: dict[str, str | None] = {}
    for entry in _entries(conn, EntryType.DISCLOSURE):
        report.disclosures += 1
        if entry.message_id:
            disclosed[entry.message_id] = entry.payload_sha256
    delivered: dict[str, dict[str, Any]] = {}
    for entry in _entries(conn, EntryType.DELIVERY):
        report.deliveries += 1
        if entry.message_id:
            delivered[entry.message_id] = {
                "message_id": entry.message_id,
                "index": entry.index,
                **{k: entry.details.get(k) for k in ("topic", "partition", "offset")},
            }
    seen: dict[str, TopicMessage] = {}
    placements: set[tuple[str, int, int, str | None]] = set()
    for topic in topics:
        for message in topic_messages(bootstrap_servers, topic):
            report.messages += 1
            placements.add((message.topic, message.partition, message.offset, message.message_id))
            if message.message_id is None or message.message_id not in disclosed:
                report.unlogged.append(message)
                continue
            if disclosed[message.message_id] != message.sha256:
                report.altered.append(message)
            if message.message_id in seen:
                report.duplicates.append(message)
            seen[message.message_id] = message
    for message_id, where in delivered.items():
        key = (where["topic"], where["partition"], where["offset"], message_id)
        if key not in placements:
            report.missing.append(where)
    return report
