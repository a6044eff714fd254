"""The consent registry: record, withdraw and read versioned consents on a Connection the
caller passes in (and whose transaction it owns, so audit entries can share it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from consent.errors import AlreadyWithdrawn, InvalidConsent, UnknownConsent
from consent.models import ConsentIn, ConsentRecord, ConsentStatus
from consent.tables import consent_sequence, consent_versions

# Stored documents were validated when written; reading them back must not depend on whether
# this instance accepts synthetic identifiers today.
_TRUSTED: dict[str, Any] = {"allow_synthetic_ids": True}
_STREAM = 5000


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidConsent("must be an aware date-time", field=name)
    return value


def _text(value: str, name: str, limit: int) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(value) <= limit:
        raise InvalidConsent(f"must be 1 to {limit} characters", field=name)
    return value


def _record(document: Any) -> ConsentRecord:
    return ConsentRecord.model_validate(document, context=_TRUSTED)


def _next_seq(conn: sa.Connection) -> int:
    """Take the next change sequence number, holding the counter's row lock until commit.

    Holding the lock makes commit order equal sequence order, so a reader that has seen
    sequence n has seen every change numbered below n (no change is ever skipped).
    """
    bump = (
        sa.update(consent_sequence)
        .where(consent_sequence.c.id == 1)
        .values(value=consent_sequence.c.value + 1)
        .returning(consent_sequence.c.value)
    )
    value = conn.execute(bump).scalar_one_or_none()
    if value is None:
        dialect = conn.dialect.name
        insert: Any
        if dialect == "postgresql":
            insert = postgresql.insert(consent_sequence).on_conflict_do_nothing()
        elif dialect == "sqlite":
            insert = sqlite.insert(consent_sequence).on_conflict_do_nothing()
        else:  # pragma: no cover - helhet runs on SQLite and PostgreSQL
            insert = sa.insert(consent_sequence)
        conn.execute(insert.values(id=1, value=0))
        value = conn.execute(bump).scalar_one()
    return int(value)


def _insert(conn: sa.Connection, record: ConsentRecord) -> None:
    conn.execute(
        sa.insert(consent_versions).values(
            seq=_next_seq(conn),
            consent_id=record.consent_id,
            version=record.version,
            subject=record.subject,
            status=record.status.value,
            document=record.model_dump(mode="json"),
            recorded_at=record.recorded_at.astimezone(dt.UTC),
        )
    )


def record(
    conn: sa.Connection, consent: ConsentIn, *, recorded_by: str, now: dt.datetime
) -> ConsentRecord:
    """Record a new consent (version 1, active); valid_from defaults to `now`."""
    _aware(now, "now")
    recorded_by = _text(recorded_by, "recorded_by", 200)
    if consent.valid_until is not None and consent.valid_until <= now:
        raise InvalidConsent("the consent would already have ended", field="valid_until")
    fields = consent.model_dump()
    fields["valid_from"] = consent.valid_from or now
    try:
        new = ConsentRecord.model_validate(
            {
                **fields,
                "consent_id": str(uuid.uuid4()),
                "version": 1,
                "status": ConsentStatus.ACTIVE,
                "recorded_at": now,
                "recorded_by": recorded_by,
            },
            context=_TRUSTED,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidConsent(
            error["msg"], field="/".join(str(p) for p in error["loc"]) or None
        ) from exc
    _insert(conn, new)
    return new


def withdraw(
    conn: sa.Connection, consent_id: str, *, by: str, reason: str, now: dt.datetime
) -> ConsentRecord:
    """Withdraw a consent: a new version with status withdrawn, effective at once.

    Raises UnknownConsent for an unknown id and AlreadyWithdrawn when it already is.
    """
    _aware(now, "now")
    by = _text(by, "by", 200)
    reason = _text(reason, "reason", 2000)
    _next_seq(conn)  # lock first, so two concurrent withdrawals cannot both see it active
    current = get(conn, consent_id)
    if current.status is ConsentStatus.WITHDRAWN:
        raise AlreadyWithdrawn(
            f"consent {consent_id} was withdrawn at {current.recorded_at.isoformat()}",
            field="consent_id",
        )
    new = current.model_copy(
        update={
            "version": current.version + 1,
            "status": ConsentStatus.WITHDRAWN,
            "recorded_at": now,
            "recorded_by": by,
            "withdrawal_reason": reason,
        }
    )
    _insert(conn, new)
    return new


def get(conn: sa.Connection, consent_id: str, version: int | None = None) -> ConsentRecord:
    """One version of a consent (the latest unless `version` is given)."""
    query = sa.select(consent_versions.c.document).where(
        consent_versions.c.consent_id == consent_id
    )
    if version is None:
        query = query.order_by(consent_versions.c.version.desc()).limit(1)
    else:
        query = query.where(consent_versions.c.version == version)
    document = conn.execute(query).scalar_one_or_none()
    if document is None:
        what = f"consent {consent_id}" + ("" if version is None else f" version {version}")
        raise UnknownConsent(f"no {what}", field="consent_id" if version is None else "version")
    return _record(document)


def history(conn: sa.Connection, consent_id: str) -> list[ConsentRecord]:
    """Every version of a consent, oldest first."""
    rows = conn.execute(
        sa.select(consent_versions.c.document)
        .where(consent_versions.c.consent_id == consent_id)
        .order_by(consent_versions.c.version)
    ).scalars()
    records = [_record(document) for document in rows]
    if not records:
        raise UnknownConsent(f"no consent {consent_id}", field="consent_id")
    return records


def _latest(rows: Iterator[Any]) -> list[ConsentRecord]:
    latest: dict[str, Any] = {}
    for document in rows:
        previous = latest.get(document["consent_id"])
        if previous is None or previous["version"] < document["version"]:
            latest[document["consent_id"]] = document
    return [_record(document) for document in latest.values()]


def list_for_subject(conn: sa.Connection, subject: str) -> list[ConsentRecord]:
    """The latest version of each of the subject's consents, in the order first recorded."""
    rows = conn.execute(
        sa.select(consent_versions.c.document)
        .where(consent_versions.c.subject == subject)
        .order_by(consent_versions.c.seq)
    ).scalars()
    return _latest(iter(rows))


def documents_since(conn: sa.Connection, seq: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(sequence, stored document) of every version after `seq`, streamed in order.

    What the index reads: one range query on the primary key, no model validation.
    """
    rows = conn.execute(
        sa.select(consent_versions.c.seq, consent_versions.c.document)
        .where(consent_versions.c.seq > seq)
        .order_by(consent_versions.c.seq)
        .execution_options(yield_per=_STREAM)
    )
    for row in rows:
        yield int(row[0]), row[1]


def last_seq(conn: sa.Connection) -> int:
    """The highest change sequence number recorded (0 for an empty registry)."""
    value = conn.execute(sa.select(sa.func.max(consent_versions.c.seq))).scalar_one_or_none()
    return int(value or 0)
