"""Privacy-officer queries over the log, a subject's access report (GDPR art. 15 / innsyn) and
CSV export. Results are parsed from the stored leaves, the bytes the Merkle tree commits to.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from audit.entries import EntryType, LogEntry, format_time
from audit.errors import BadRange
from audit.fhir import to_fhir_audit_event
from audit.tables import audit_entries

MAX_LIMIT = 1000


class Filters(BaseModel):
    """Query filters; every one is optional and they combine with AND.

    `since` is inclusive, `until` exclusive. `subject` is a pseudonym, never a person number.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = None
    source: str | None = None
    recipient: str | None = None
    category: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.*:\-]{1,64}$")
    event_type: EntryType | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class Page(BaseModel):
    entries: list[LogEntry]
    next_cursor: str | None = None


def encode_cursor(index: int, order: str) -> str:
    raw = json.dumps({"after": index, "order": order}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw)
        after, order = doc["after"], doc["order"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRange("invalid cursor") from exc
    if not isinstance(after, int) or after < 0 or order not in ("asc", "desc"):
        raise BadRange("invalid cursor")
    return after, order


def _where(filters: Filters) -> list[sa.ColumnElement[bool]]:
    c = audit_entries.c
    clauses: list[sa.ColumnElement[bool]] = []
    if filters.subject is not None:
        clauses.append(c.subject == filters.subject)
    if filters.source is not None:
        clauses.append(c.source == filters.source)
    if filters.recipient is not None:
        clauses.append(c.recipient == filters.recipient)
    if filters.category is not None:
        # Category names cannot contain quotes, so '"name"' only matches a whole element.
        clauses.append(c.categories.contains(f'"{filters.category}"', autoescape=True))
    if filters.event_type is not None:
        clauses.append(c.event_type == filters.event_type.value)
    if filters.outcome is not None:
        clauses.append(c.outcome == filters.outcome)
    try:
        if filters.since is not None:
            clauses.append(c.recorded_at >= format_time(filters.since))
        if filters.until is not None:
            clauses.append(c.recorded_at < format_time(filters.until))
    except ValueError as exc:
        raise BadRange("from/to need a time zone") from exc
    return clauses


def _matches(entry: LogEntry, filters: Filters) -> bool:
    """Re-check a row against its leaf, so an edited query column cannot add rows."""
    return (
        (filters.subject is None or entry.subject_pseudonym == filters.subject)
        and (filters.source is None or entry.source == filters.source)
        and (filters.recipient is None or entry.recipient == filters.recipient)
        and (filters.category is None or filters.category in entry.categories)
        and (filters.event_type is None or entry.event_type == filters.event_type)
        and (filters.outcome is None or entry.outcome == filters.outcome)
    )


def query(
    conn: sa.Connection,
    filters: Filters | None = None,
    cursor: str | None = None,
    limit: int = 100,
    *,
    order: Literal["asc", "desc"] = "desc",
) -> Page:
    """One page of entries matching `filters`, newest first by default.

    Pass the returned `next_cursor` to get the next page (it remembers the order).
    """
    filters = filters or Filters()
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRange(f"limit must be 1..{MAX_LIMIT}")
    clauses = _where(filters)
    if cursor is not None:
        after, cursor_order = decode_cursor(cursor)
        order = "desc" if cursor_order == "desc" else "asc"
        clauses.append(
            audit_entries.c.idx < after if order == "desc" else audit_entries.c.idx > after
        )
    key = audit_entries.c.idx.desc() if order == "desc" else audit_entries.c.idx.asc()
    stmt = (
        sa.select(audit_entries.c.idx, audit_entries.c.leaf)
        .where(*clauses)
        .order_by(key)
        .limit(limit + 1)
    )
    rows = conn.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [LogEntry.from_leaf(bytes(row.leaf)) for row in rows]
    entries = [e for e in entries if _matches(e, filters)]
    next_cursor = encode_cursor(int(rows[-1].idx), order) if more and rows else None
    return Page(entries=entries, next_cursor=next_cursor)


Tally = Literal["outcome", "recipient", "source", "event_type"]


def counts(conn: sa.Connection, filters: Filters, by: Tally) -> dict[str | None, int]:
    """How many entries match `filters`, by the value of one column (most first).

    Counted on the query columns, which `verify_log` checks against the signed leaves.
    """
    column = audit_entries.c[by]
    stmt = (
        sa.select(column, sa.func.count())
        .where(*_where(filters))
        .group_by(column)
        .order_by(sa.func.count().desc(), column)
    )
    return {value: int(count) for value, count in conn.execute(stmt)}


def daily_counts(conn: sa.Connection, filters: Filters) -> dict[tuple[str, str], int]:
    """(UTC day "YYYY-MM-DD", event type) -> number of matching entries recorded that day."""
    day = sa.func.substr(audit_entries.c.recorded_at, 1, 10)
    event_type = audit_entries.c.event_type
    stmt = (
        sa.select(day, event_type, sa.func.count())
        .where(*_where(filters))
        .group_by(day, event_type)
    )
    return {(str(d), str(t)): int(n) for d, t, n in conn.execute(stmt)}


def iter_entries(
    conn: sa.Connection, filters: Filters | None = None, *, batch: int = 500
) -> Iterator[LogEntry]:
    """Every matching entry, oldest first, fetched page by page."""
    cursor: str | None = None
    while True:
        page = query(conn, filters, cursor, batch, order="asc")
        yield from page.entries
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# --- the subject's access report ------------------------------------------------------------


class ReportLine(BaseModel):
    index: int
    time: dt.datetime
    event_type: EntryType
    source: str | None
    source_name: str | None
    recipient: str | None
    recipient_name: str | None
    categories: list[str]
    purpose: str | None
    basis: str | None
    outcome: str
    reason: str | None
    message_id: str | None
    delivered_at: dt.datetime | None = None


class SubjectReport(BaseModel):
    """Everything the log says about one person: who received what, when, why, on which basis."""

    subject_pseudonym: str
    generated_at: dt.datetime | None = None
    recipients: list[str] = Field(description="every recipient that received data, by name")
    disclosures: list[ReportLine]
    not_disclosed: list[ReportLine] = Field(description="refusals and stopped messages")
    consents: list[ReportLine]
    accesses: list[ReportLine] = Field(description="reads of this person's log entries")


def _line(entry: LogEntry, names: Mapping[str, str]) -> ReportLine:
    return ReportLine(
        index=entry.index,
        time=entry.recorded_at,
        event_type=entry.event_type,
        source=entry.source,
        source_name=names.get(entry.source, entry.source) if entry.source else None,
        recipient=entry.recipient,
        recipient_name=names.get(entry.recipient, entry.recipient) if entry.recipient else None,
        categories=list(entry.categories),
        purpose=entry.purpose,
        basis=entry.basis,
        outcome=entry.outcome,
        reason=entry.reason,
        message_id=entry.message_id,
    )


def subject_report(
    conn: sa.Connection,
    pseudonym: str,
    agency_names: Mapping[str, str],
    *,
    now: dt.datetime | None = None,
) -> SubjectReport:
    """The access report for one subject: every disclosure with the recipient's name."""
    disclosures: list[ReportLine] = []
    not_disclosed: list[ReportLine] = []
    consents: list[ReportLine] = []
    accesses: list[ReportLine] = []
    delivered: dict[tuple[str | None, str | None], dt.datetime] = {}
    for entry in iter_entries(conn, Filters(subject=pseudonym)):
        line = _line(entry, agency_names)
        match entry.event_type:
            case EntryType.DISCLOSURE:
                disclosures.append(line)
            case EntryType.REFUSAL | EntryType.WITHHELD:
                not_disclosed.append(line)
            case EntryType.CONSENT:
                consents.append(line)
            case EntryType.ACCESS:
                accesses.append(line)
            case EntryType.DELIVERY:
                delivered.setdefault((entry.message_id, entry.recipient), entry.recorded_at)
    for line in disclosures:
        line.delivered_at = delivered.get((line.message_id, line.recipient))
    recipients = sorted({line.recipient_name for line in disclosures if line.recipient_name})
    return SubjectReport(
        subject_pseudonym=pseudonym,
        generated_at=now,
        recipients=recipients,
        disclosures=disclosures,
        not_disclosed=not_disclosed,
        consents=consents,
        accesses=accesses,
    )


# --- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "index",
    "recorded_at",
    "event_type",
    "source",
    "source_name",
    "recipient",
    "recipient_name",
    "subject_pseudonym",
    "categories",
    "purpose",
    "basis",
    "message_id",
    "payload_sha256",
    "outcome",
    "reason",
    "client",
    "family_id",
    "details",
]


def csv_row(entry: LogEntry, names: Mapping[str, str]) -> list[str]:
    def text(value: str | None) -> str:
        value = value or ""
        # Neutralise spreadsheet formulas (CSV injection).
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

    return [
        str(entry.index),
        format_time(entry.recorded_at),
        entry.event_type.value,
        text(entry.source),
        text(names.get(entry.source, "") if entry.source else ""),
        text(entry.recipient),
        text(names.get(entry.recipient, "") if entry.recipient else ""),
        text(entry.subject_pseudonym),
        text(";".join(entry.categories)),
        text(entry.purpose),
        text(entry.basis),
        text(entry.message_id),
        text(entry.payload_sha256),
        text(entry.outcome),
        text(entry.reason),
        text(entry.client),
        text(entry.family_id),
        text(
            json.dumps(entry.details, sort_keys=True, ensure_ascii=False) if entry.details else ""
        ),
    ]


def export_csv(
    conn: sa.Connection,
    filters: Filters | None = None,
    agency_names: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """CSV text (header first), chunk by chunk: ready for a streaming HTTP response."""
    names = agency_names or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for count, entry in enumerate(iter_entries(conn, filters), start=1):
        writer.writerow(csv_row(entry, names))
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_fhir(
    conn: sa.Connection,
    filters: Filters | None = None,
    *,
    version: Literal["R4", "R5"] = "R5",
    origin: str = "helhet",
    agency_names: Mapping[str, str] | None = None,
) -> Iterator[dict[str, object]]:
    """FHIR AuditEvent resources (as JSON dicts) for the matching entries, oldest first."""
    for entry in iter_entries(conn, filters):
        yield to_fhir_audit_event(entry, version, origin=origin, agency_names=agency_names)


__all__ = [
    "CSV_COLUMNS",
    "Filters",
    "Page",
    "ReportLine",
    "SubjectReport",
    "counts",
    "daily_counts",
    "export_csv",
    "export_fhir",
    "iter_entries",
    "query",
    "subject_report",
    "to_fhir_audit_event",
]
