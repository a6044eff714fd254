"""The plan's storage: a plan row per family (its lifecycle) and every version of every entry,
append-only; a change is a new version that names the version it changes, never an overwrite.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.db.tables import plan_entries, plans
from gateway.errors import PlanClosed, StaleVersion, UnknownEntry
from gateway.plan.models import EntryKind

OPEN, CLOSED, DELETED = "open", "closed", "deleted"


@dataclass(frozen=True)
class Plan:
    family_id: str
    status: str
    version: int
    created_at: dt.datetime
    closed_at: dt.datetime | None
    closed_by: str | None
    close_reason: str | None
    delete_after: dt.datetime | None
    deleted_at: dt.datetime | None

    @classmethod
    def of(cls, row: Any) -> Plan:
        return cls(
            row.family_id,
            row.status,
            int(row.version),
            _aware(row.created_at),
            _aware(row.closed_at),
            row.closed_by,
            row.close_reason,
            _aware(row.delete_after),
            _aware(row.deleted_at),
        )


@dataclass(frozen=True)
class Entry:
    """One version of a plan entry."""

    entry_id: str
    family_id: str
    kind: EntryKind
    version: int
    document: dict[str, Any]
    change_id: str
    recorded_at: dt.datetime
    recorded_by: str

    @classmethod
    def of(cls, row: Any) -> Entry:
        return cls(
            row.entry_id,
            row.family_id,
            EntryKind(row.kind),
            int(row.version),
            dict(row.document),
            row.change_id,
            _aware(row.recorded_at),
            row.recorded_by,
        )

    def view(self) -> dict[str, Any]:
        """The entry as the API answers it."""
        return {
            "entry_id": self.entry_id,
            "kind": self.kind.value,
            "version": self.version,
            "recorded_at": self.recorded_at.isoformat(),
            "recorded_by": self.recorded_by,
            **self.document,
        }


def _aware(value: dt.datetime | None) -> Any:
    """SQLite hands back naive datetimes for timezone columns: they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def get_plan(conn: sa.Connection, family_id: str, *, lock: bool = False) -> Plan | None:
    """The plan row; with `lock`, held until the transaction ends (PostgreSQL)."""
    query = sa.select(plans).where(plans.c.family_id == family_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else Plan.of(row)


def open_plan(conn: sa.Connection, family_id: str, *, by: str, now: dt.datetime) -> Plan:
    """The family's plan, created (empty, open) on its first change; refused once closed.

    The row stays locked for the transaction, so a change and a closing never interleave."""
    plan = get_plan(conn, family_id, lock=True)
    if plan is None:
        conn.execute(
            plans.insert().values(
                family_id=family_id, status=OPEN, version=0, created_at=now, created_by=by
            )
        )
        plan = get_plan(conn, family_id, lock=True)
        assert plan is not None
    if plan.status != OPEN:
        raise PlanClosed(f"the plan of family {family_id!r} is {plan.status}", pointer="")
    return plan


def _bump(conn: sa.Connection, family_id: str) -> int:
    conn.execute(
        plans.update().where(plans.c.family_id == family_id).values(version=plans.c.version + 1)
    )
    return int(
        conn.execute(sa.select(plans.c.version).where(plans.c.family_id == family_id)).scalar_one()
    )


def _insert(
    conn: sa.Connection,
    *,
    entry_id: str,
    family_id: str,
    kind: EntryKind,
    version: int,
    document: dict[str, Any],
    by: str,
    now: dt.datetime,
) -> Entry:
    change_id = uuid.uuid4().hex
    values: dict[str, Any] = {
        "entry_id": entry_id,
        "family_id": family_id,
        "kind": kind.value,
        "version": version,
        "document": document,
        "change_id": change_id,
        "recorded_at": now,
        "recorded_by": by,
    }
    try:
        conn.execute(plan_entries.insert().values(**values))
    except sa.exc.IntegrityError as exc:  # another change of the same version won
        raise StaleVersion(
            f"entry {entry_id!r} changed meanwhile; read it again", pointer="header:If-Match"
        ) from exc
    _bump(conn, family_id)
    return Entry(entry_id, family_id, kind, version, document, change_id, now, by)


def add(
    conn: sa.Connection,
    family_id: str,
    kind: EntryKind,
    document: dict[str, Any],
    *,
    by: str,
    now: dt.datetime,
) -> Entry:
    """A new entry, version 1."""
    return _insert(
        conn,
        entry_id=uuid.uuid4().hex,
        family_id=family_id,
        kind=kind,
        version=1,
        document=document,
        by=by,
        now=now,
    )


def change(
    conn: sa.Connection,
    current: Entry,
    document: dict[str, Any],
    *,
    by: str,
    now: dt.datetime,
) -> Entry:
    """The next version of `current` (which must still be the latest)."""
    return _insert(
        conn,
        entry_id=current.entry_id,
        family_id=current.family_id,
        kind=current.kind,
        version=current.version + 1,
        document=document,
        by=by,
        now=now,
    )


def latest(conn: sa.Connection, family_id: str) -> list[Entry]:
    """The latest version of every entry of the plan, in the order they were created."""
    versions = history_of_plan(conn, family_id)
    found: dict[str, Entry] = {}
    for entry in versions:
        found[entry.entry_id] = entry  # later versions replace earlier ones, order kept
    return list(found.values())


def history_of_plan(conn: sa.Connection, family_id: str) -> list[Entry]:
    """Every version of every entry, oldest first."""
    rows = conn.execute(
        sa.select(plan_entries)
        .where(plan_entries.c.family_id == family_id)
        .order_by(plan_entries.c.recorded_at, plan_entries.c.version, plan_entries.c.entry_id)
    )
    return [Entry.of(row) for row in rows]


def history(conn: sa.Connection, family_id: str, entry_id: str) -> list[Entry]:
    """Every version of one entry, oldest first (404 if the plan has no such entry)."""
    rows = conn.execute(
        sa.select(plan_entries)
        .where(plan_entries.c.family_id == family_id, plan_entries.c.entry_id == entry_id)
        .order_by(plan_entries.c.version)
    ).all()
    if not rows:
        raise UnknownEntry(f"the plan has no entry {entry_id!r}", pointer="path:entry_id")
    return [Entry.of(row) for row in rows]


def current(conn: sa.Connection, family_id: str, entry_id: str) -> Entry:
    return history(conn, family_id, entry_id)[-1]
