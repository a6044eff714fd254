"""The outbox's state machine on both databases: every transition, and the reads the relay,
withdrawals, metrics and the demo rely on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from gateway.db import outbox
from gateway.db.tables import outbox as table
from gateway.intake.services import Services
from tests.helpers.intake import NOW, consent, forward, plan_update, young_adult_family


def _queued(services: Services, n: int) -> tuple[str, list[Any]]:
    """n plan updates from NAV to school for one young adult who consented: n pending rows."""
    person, family_id = young_adult_family(services, ["nav", "school"])
    consent_id = consent(
        services, person, sources=["nav"], recipients=["school"], categories=["employment"]
    )
    forward(services, "nav", [plan_update("nav", person, ["employment"]) for _ in range(n)])
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table).where(table.c.family_id == family_id).order_by(table.c.id)
        ).all()
    assert len(rows) == n
    return consent_id, rows


def _rows(services: Services) -> dict[int, Any]:
    with services.engine.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(table))}


def test_queued_rows_are_pending_with_their_envelope(services: Services) -> None:
    _, rows = _queued(services, 2)
    assert {r.status for r in rows} == {outbox.PENDING}
    assert all(r.envelope and r.subject and r.attempts == 0 for r in rows)
    with services.engine.connect() as conn:
        assert [r.id for r in outbox.pending(conn, 10)] == [r.id for r in rows]
        assert [r.id for r in outbox.pending(conn, 1)] == [rows[0].id]
        assert outbox.waiting(conn) == 2
        assert outbox.backlog(conn) == [(outbox.PENDING, "school", 2)]


def test_claim_deliver_erases_the_envelope_and_the_subject(services: Services) -> None:
    consent_id, rows = _queued(services, 3)
    ids = [r.id for r in rows]
    lease = dt.timedelta(seconds=30)
    with services.engine.begin() as conn:
        outbox.claim(conn, ids, NOW, lease)
    claimed = _rows(services)
    assert {r.status for r in claimed.values()} == {outbox.IN_FLIGHT}
    assert all(r.attempts == 1 for r in claimed.values())
    with services.engine.connect() as conn:
        assert outbox.received_under(conn, consent_id) == {
            ("school", rows[0].family_id): {"employment"}
        }
        assert outbox.expired_leases(conn, NOW + lease - dt.timedelta(seconds=1), 10) == []
        assert len(outbox.expired_leases(conn, NOW + lease, 10)) == 3
    with services.engine.begin() as conn:
        outbox.deliver(conn, [(ids[0], 1, 40), (ids[1], 0, 7)], NOW)
    after = _rows(services)
    assert (after[ids[0]].status, after[ids[0]].kafka_partition, after[ids[0]].kafka_offset) == (
        outbox.DELIVERED,
        1,
        40,
    )
    assert after[ids[1]].kafka_offset == 7 and after[ids[2]].status == outbox.IN_FLIGHT
    for row_id in ids[:2]:
        assert after[row_id].envelope is None and after[row_id].subject is None
        assert after[row_id].lease_until is None
    with services.engine.connect() as conn:
        assert outbox.last_delivered_offsets(conn, rows[0].topic, NOW + lease) == {1: 40, 0: 7}
        assert outbox.last_delivered_offsets(conn, rows[0].topic, NOW) == {}  # not before NOW
        assert [r.id for r in outbox.in_flight(conn, ids)] == [ids[2]]
        assert outbox.waiting(conn) == 1


def test_hold_extend_and_release_a_failed_send(services: Services) -> None:
    _, rows = _queued(services, 2)
    ids = [r.id for r in rows]
    later = NOW + dt.timedelta(minutes=5)
    with services.engine.begin() as conn:
        outbox.claim(conn, ids[:1], NOW, dt.timedelta(seconds=30))
        outbox.hold(conn, ids, later)  # only the in-flight row is held
    held = _rows(services)
    assert held[ids[0]].lease_until.replace(tzinfo=dt.UTC) == later
    assert held[ids[1]].lease_until is None and held[ids[1]].status == outbox.PENDING
    with services.engine.begin() as conn:
        outbox.extend(conn, ids[:1], later + dt.timedelta(minutes=1))
        outbox.release(conn, ids[:1])
    released = _rows(services)[ids[0]]
    assert (released.status, released.lease_until, released.attempts) == (outbox.PENDING, None, 1)


def test_withhold_stops_a_message_and_erases_it(services: Services) -> None:
    consent_id, rows = _queued(services, 2)
    with services.engine.begin() as conn:
        outbox.withhold(conn, [rows[0].id])
    after = _rows(services)
    assert after[rows[0].id].status == outbox.WITHHELD
    assert after[rows[0].id].envelope is None and after[rows[0].id].subject is None
    assert after[rows[1].id].status == outbox.PENDING
    with services.engine.connect() as conn:
        assert outbox.received_under(conn, consent_id) == {}  # withheld and pending: not sent
        assert sorted(outbox.backlog(conn)) == [
            (outbox.PENDING, "school", 1),
            (outbox.WITHHELD, "school", 1),
        ]


def test_unfinished_ids_per_family_up_to_each_family_s_last(services: Services) -> None:
    _, first = _queued(services, 3)
    _, second = _queued(services, 2)
    a, b = first[0].family_id, second[0].family_id
    with services.engine.begin() as conn:
        outbox.deliver(conn, [(first[0].id, 0, 1)], NOW)
    with services.engine.connect() as conn:
        found = outbox.unfinished_ids(conn, {a: first[1].id, b: second[1].id})
        assert outbox.unfinished_ids(conn, {}) == {}
    assert found == {a: [first[1].id], b: [second[0].id, second[1].id]}
