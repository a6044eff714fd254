"""The outbox's states and every change of them, as set-based statements on the caller's
connection (the intake queues rows; the relay moves them; nothing else writes the table).

    pending --claim--> in_flight --acknowledged--> delivered   (envelope and subject erased)
       |                  |----lease out, not on the topic--> pending (released for retry)
       |                  `----found on the topic-----------> delivered
       `--consent or team no longer holds--> withheld         (envelope and subject erased)

After a restore from a backup (`helhet db restored`) every pending or in-flight row becomes
in_flight with its lease run out: it may have been published after the backup was taken, so the
relay looks for it on its topic before it publishes it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from gateway.db.tables import outbox

PENDING, IN_FLIGHT, DELIVERED, WITHHELD = "pending", "in_flight", "delivered", "withheld"
UNFINISHED = (PENDING, IN_FLIGHT)
STATUSES = (PENDING, IN_FLIGHT, DELIVERED, WITHHELD)


def _skip_locked(conn: sa.Connection, query: sa.Select[Any]) -> sa.Select[Any]:
    """Rows other relays hold are skipped on PostgreSQL; SQLite serialises writers anyway."""
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


# --- reads -----------------------------------------------------------------------------------


def pending(conn: sa.Connection, limit: int) -> Sequence[sa.Row[Any]]:
    """The oldest pending rows (locked for this transaction on PostgreSQL)."""
    return conn.execute(
        _skip_locked(
            conn,
            sa.select(outbox).where(outbox.c.status == PENDING).order_by(outbox.c.id).limit(limit),
        )
    ).all()


def has_work(conn: sa.Connection, now: dt.datetime) -> tuple[bool, bool]:
    """(any row pending, any in-flight row whose lease ran out): the relay's look through the
    read door before it takes the writer's (two index probes, no locks)."""
    pending_row = conn.execute(
        sa.select(outbox.c.id).where(outbox.c.status == PENDING).limit(1)
    ).first()
    expired_row = conn.execute(
        sa.select(outbox.c.id)
        .where(outbox.c.status == IN_FLIGHT, outbox.c.lease_until <= now)
        .limit(1)
    ).first()
    return pending_row is not None, expired_row is not None


def unfinished_ids(conn: sa.Connection, last_by_family: Mapping[str, int]) -> dict[str, list[int]]:
    """Per family, the ids of its pending or in-flight rows up to its given last id, in order."""
    if not last_by_family:
        return {}
    found: dict[str, list[int]] = defaultdict(list)
    rows = conn.execute(
        sa.select(outbox.c.family_id, outbox.c.id)
        .where(
            outbox.c.family_id.in_(list(last_by_family)),
            outbox.c.status.in_(UNFINISHED),
            outbox.c.id <= max(last_by_family.values()),
        )
        .order_by(outbox.c.id)
    )
    for family_id, row_id in rows:
        if row_id <= last_by_family[family_id]:
            found[family_id].append(row_id)
    return found


def expired_leases(conn: sa.Connection, now: dt.datetime, limit: int) -> Sequence[sa.Row[Any]]:
    """In-flight rows whose lease ran out: their fate at the broker is unknown."""
    return conn.execute(
        _skip_locked(
            conn,
            sa.select(outbox)
            .where(outbox.c.status == IN_FLIGHT, outbox.c.lease_until <= now)
            .order_by(outbox.c.id)
            .limit(limit),
        )
    ).all()


def last_delivered_offsets(conn: sa.Connection, topic: str, before: dt.datetime) -> dict[int, int]:
    """Per partition of `topic`, the highest offset recorded as delivered before `before`."""
    return {
        int(partition): int(offset)
        for partition, offset in conn.execute(
            sa.select(outbox.c.kafka_partition, sa.func.max(outbox.c.kafka_offset))
            .where(
                outbox.c.topic == topic,
                outbox.c.status == DELIVERED,
                outbox.c.delivered_at < before,
            )
            .group_by(outbox.c.kafka_partition)
        )
    }


def in_flight(conn: sa.Connection, ids: Iterable[int]) -> Sequence[sa.Row[Any]]:
    """Those of `ids` that are still in flight."""
    return conn.execute(
        sa.select(outbox).where(outbox.c.id.in_(list(ids)), outbox.c.status == IN_FLIGHT)
    ).all()


def received_under(conn: sa.Connection, consent_id: str) -> dict[tuple[str, str], set[str]]:
    """(recipient, family) -> categories of plan updates sent, or being sent, under a consent."""
    received: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in conn.execute(
        sa.select(outbox.c.recipient, outbox.c.family_id, outbox.c.categories).where(
            outbox.c.consent_id == consent_id,
            outbox.c.kind == "plan_update",
            outbox.c.status.in_((DELIVERED, IN_FLIGHT)),
        )
    ):
        received[(row.recipient, row.family_id)].update(row.categories)
    return received


def waiting_under(conn: sa.Connection, consent_id: str) -> Sequence[sa.RowMapping]:
    """Plan updates under a consent not yet acknowledged by the broker (pending or in flight),
    oldest first: what a withdrawal now stops, or (in flight) may no longer stop."""
    return (
        conn.execute(
            sa.select(
                outbox.c.message_id,
                outbox.c.status,
                outbox.c.family_id,
                outbox.c.recipient,
                outbox.c.source,
                outbox.c.categories,
                outbox.c.created_at,
            )
            .where(
                outbox.c.consent_id == consent_id,
                outbox.c.kind == "plan_update",
                outbox.c.status.in_(UNFINISHED),
            )
            .order_by(outbox.c.id)
        )
        .mappings()
        .all()
    )


def backlog(conn: sa.Connection) -> list[tuple[str, str, int]]:
    """(status, recipient, count) of every row."""
    return [
        (status, recipient, int(count))
        for status, recipient, count in conn.execute(
            sa.select(outbox.c.status, outbox.c.recipient, sa.func.count()).group_by(
                outbox.c.status, outbox.c.recipient
            )
        )
    ]


def backlog_of_family(conn: sa.Connection, family_id: str) -> list[tuple[str, str, int]]:
    """(status, recipient, count) of one family's rows."""
    return [
        (status, recipient, int(count))
        for status, recipient, count in conn.execute(
            sa.select(outbox.c.status, outbox.c.recipient, sa.func.count())
            .where(outbox.c.family_id == family_id)
            .group_by(outbox.c.status, outbox.c.recipient)
        )
    ]


def waiting(conn: sa.Connection) -> int:
    """How many messages are pending or in flight."""
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status.in_(UNFINISHED))
        ).scalar_one()
    )


# --- changes ---------------------------------------------------------------------------------


def queue(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """New sealed messages, pending (each row as the intake builds it)."""
    if rows:
        conn.execute(outbox.insert(), [{**row, "status": PENDING, "attempts": 0} for row in rows])


def claim(conn: sa.Connection, ids: Iterable[int], now: dt.datetime, lease: dt.timedelta) -> None:
    """pending -> in_flight: about to be published, leased until now + lease."""
    conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)))
        .values(
            status=IN_FLIGHT,
            claimed_at=now,
            lease_until=now + lease,
            attempts=outbox.c.attempts + 1,
        )
    )


def withhold(conn: sa.Connection, ids: Iterable[int]) -> None:
    """-> withheld: stopped before publishing; the envelope and the subject are erased."""
    conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)))
        .values(status=WITHHELD, envelope=None, subject=None, lease_until=None)
    )


def deliver(conn: sa.Connection, placements: list[tuple[int, int, int]], now: dt.datetime) -> None:
    """in_flight -> delivered for (id, partition, offset); the envelope and subject are erased."""
    if not placements:
        return
    conn.execute(
        outbox.update()
        .where(outbox.c.id == sa.bindparam("row_id"))
        .values(
            status=DELIVERED,
            envelope=None,
            subject=None,
            lease_until=None,
            delivered_at=now,
            kafka_partition=sa.bindparam("partition"),
            kafka_offset=sa.bindparam("offset"),
        ),
        [{"row_id": i, "partition": p, "offset": o} for i, p, o in placements],
    )


def hold(conn: sa.Connection, ids: Iterable[int], until: dt.datetime) -> None:
    """Keep in-flight rows leased until `until` (a failed send: look on the topic after)."""
    conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)), outbox.c.status == IN_FLIGHT)
        .values(lease_until=until)
    )


def extend(conn: sa.Connection, ids: Iterable[int], until: dt.datetime) -> None:
    """Renew the lease of rows this relay is looking up on the topic."""
    conn.execute(outbox.update().where(outbox.c.id.in_(list(ids))).values(lease_until=until))


def release(conn: sa.Connection, ids: Iterable[int]) -> None:
    """in_flight -> pending: not on the topic after all, to be published again."""
    conn.execute(
        outbox.update().where(outbox.c.id.in_(list(ids))).values(status=PENDING, lease_until=None)
    )


def in_doubt(conn: sa.Connection, now: dt.datetime) -> int:
    """pending | in_flight -> in_flight, lease run out: each may have been published since the
    backup this database was restored from. The relay's recovery then looks every one up on its
    topic (past the deliveries recorded before it was created) before it publishes it.
    Returns the number of rows."""
    result = conn.execute(
        outbox.update()
        .where(outbox.c.status.in_(UNFINISHED))
        .values(
            status=IN_FLIGHT,
            claimed_at=sa.func.coalesce(outbox.c.claimed_at, outbox.c.created_at),
            lease_until=now,
        )
    )
    return int(result.rowcount)
