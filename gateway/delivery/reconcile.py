"""Reconciliation of the topics against the disclosure log (`helhet audit reconcile`).

Every message on a recipient's topic must have its disclosure entry (same message id, same
SHA-256), and every recorded delivery must be on the topic where the log says it is. Where the
mismatch has a pattern (every earlier delivery gone; messages the log is too short to know),
the report names the likely cause.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from audit.entries import EntryType, LogEntry
from audit.log import tree_size
from audit.query import Filters, query
from gateway.kafka.broker import memory_only_warning
from gateway.kafka.publisher import MESSAGE_ID_HEADER
from gateway.kafka.topics import cluster_id, read_topic


@dataclass(frozen=True)
class TopicMessage:
    topic: str
    partition: int
    offset: int
    message_id: str | None
    sha256: str
    disclosure_index: int | None = None  # as the envelope states it


@dataclass
class ReconcileReport:
    messages: int = 0
    disclosures: int = 0
    deliveries: int = 0
    log_size: int = 0
    first_present: int = 2**63  # the earliest delivery entry found on its topic
    unlogged: list[TopicMessage] = field(default_factory=list)  # on Kafka, no disclosure
    altered: list[TopicMessage] = field(default_factory=list)  # hash differs from the log
    duplicates: list[TopicMessage] = field(default_factory=list)  # one message id twice
    missing: list[dict[str, Any]] = field(default_factory=list)  # delivered, not on Kafka
    # On Kafka with a disclosure entry but no delivery entry yet: being published just now, or
    # published after the backup the database was restored from. Not a mismatch by itself.
    unrecorded: list[TopicMessage] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)  # the likely causes of what is found

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
            "unrecorded": rows(self.unrecorded),
            "log_size": self.log_size,
            "causes": self.causes,
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
        document = _envelope_fields(record.value)
        message_id = raw.decode() if raw else document.get("message_id")
        index = document.get("disclosure_index")
        found.append(
            TopicMessage(
                topic,
                record.partition,
                record.offset,
                message_id if isinstance(message_id, str) else None,
                hashlib.sha256(record.value).hexdigest(),
                index if isinstance(index, int) else None,
            )
        )
    return found


def _envelope_fields(value: bytes | None) -> dict[str, Any]:
    """The envelope's plain fields (message_id, disclosure_index, …); {} if it is not JSON."""
    try:
        document = json.loads(value or b"")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def likely_causes(report: ReconcileReport, memory_warning: str | None) -> list[str]:
    """What a mismatch most likely means, for the operator reading the report."""
    causes: list[str] = []
    missing = sorted(int(m["index"]) for m in report.missing)
    if missing and len(missing) == report.deliveries:
        causes.append(
            f"every one of the {len(missing)} recorded deliveries is missing from the topics: "
            "the broker lost what it held (restarted without its data, or the topics were "
            "deleted and created again)"
        )
    elif missing and missing[-1] < report.first_present:
        causes.append(
            f"the {len(missing)} missing deliveries are the earliest ones (up to entry "
            f"{missing[-1]}); every later one is on its topic: the broker lost what it held "
            "before then (a restart without its data, topics re-created) or the topics' "
            "retention removed them"
        )
    if missing and memory_warning:
        causes.append(memory_warning)
    beyond = [
        m
        for m in report.unlogged
        if m.disclosure_index is not None and m.disclosure_index >= report.log_size
    ]
    if beyond:
        causes.append(
            f"{len(beyond)} message(s) on the topics name disclosure entries beyond the end of "
            f"the log ({report.log_size} entries): the database was restored from an older "
            "backup (or lost its latest transactions) after they were delivered, and their "
            "disclosure and delivery entries are lost"
        )
    return causes


def reconcile(conn: sa.Connection, bootstrap_servers: str, topics: list[str]) -> ReconcileReport:
    report = ReconcileReport(log_size=tree_size(conn))
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
            elif message.message_id not in delivered:
                report.unrecorded.append(message)
            seen[message.message_id] = message
    for message_id, where in delivered.items():
        key = (where["topic"], where["partition"], where["offset"], message_id)
        if key not in placements:
            report.missing.append(where)
        else:
            report.first_present = min(report.first_present, int(where["index"]))
    if report.missing or report.unlogged:
        warning = memory_only_warning(cluster_id(bootstrap_servers), bootstrap_servers)
        report.causes = likely_causes(report, warning)
    return report
