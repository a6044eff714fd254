"""The relay's retry and recovery logic with a fake publisher that fails on demand (DESIGN §12),
on both databases: nothing is published twice, nothing is lost, consent is re-checked.

Every end-to-end test uses the real broker; this one decides what the broker answers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from audit import log as audit_log
from audit.entries import EntryType
from gateway.db import outbox
from gateway.db.tables import outbox as table
from gateway.delivery.relay import Relay
from gateway.errors import BrokerUnavailable
from gateway.intake.services import Services
from gateway.kafka.publisher import OutMessage, Placement
from tests.helpers.intake import (
    consent,
    forward,
    plan_update,
    withdraw,
    young_adult_family,
)


class FakeBroker:
    """Stands in for Kafka: one partition per topic, kept in memory.

    `down`: nothing is stored and every send fails. `lose_acks`: messages are stored but the
    sender hears a failure (the ack was lost), as after a network cut mid-request.
    """

    def __init__(self) -> None:
        self.topics: dict[str, list[OutMessage]] = defaultdict(list)
        self.down = False
        self.lose_acks = False
        self.ensured: list[list[str]] = []
        self.lookups = 0
        self.closed = False

    def publish(self, messages: Sequence[OutMessage]) -> list[Placement | Exception]:
        results: list[Placement | Exception] = []
        for message in messages:
            if self.down:
                results.append(BrokerUnavailable("the broker is down"))
                continue
            self.topics[message.topic].append(message)
            offset = len(self.topics[message.topic]) - 1
            if self.lose_acks:
                results.append(BrokerUnavailable("no acknowledgement"))
            else:
                results.append(Placement(message.topic, 0, offset))
        return results

    def find(
        self, topic: str, message_ids: set[str], after: Mapping[int, int]
    ) -> dict[str, Placement]:
        if self.down:
            raise BrokerUnavailable("the broker is down")
        self.lookups += 1
        return {
            m.message_id: Placement(topic, 0, offset)
            for offset, m in enumerate(self.topics[topic])
            if offset > after.get(0, -1) and m.message_id in message_ids
        }

    def ensure_topics(self, topics: Iterable[str], partitions: int, replication: int) -> None:
        if self.down:
            raise BrokerUnavailable("the broker is down")
        self.ensured.append(list(topics))

    def close(self) -> None:
        self.closed = True

    def published(self) -> list[str]:
        return [m.message_id for messages in self.topics.values() for m in messages]


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def relay(services: Services, broker: FakeBroker, clock: Clock) -> Relay:
    return Relay(services, broker, lease_seconds=30, failure_grace_seconds=20, clock=clock)


def _queue(services: Services, n: int, team: list[str] | None = None) -> tuple[str, str]:
    """n NAV updates for a consenting young adult, permitted to school: (person, consent id)."""
    person, _ = young_adult_family(services, team or ["nav", "school"])
    consent_id = consent(
        services, person, sources=["nav"], recipients=["school"], categories=["employment"]
    )
    forward(services, "nav", [plan_update("nav", person, ["employment"]) for _ in range(n)])
    return person, consent_id


def _statuses(services: Services) -> dict[str, int]:
    with services.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.status, sa.func.count()).group_by(table.c.status)
        ).all()
    return {status: count for status, count in rows}


def _entries(services: Services, event_type: EntryType) -> list[Any]:
    with services.engine.connect() as conn:
        size = audit_log.tree_size(conn)
        found = [audit_log.get_entry(conn, i) for i in range(size)]
    return [e for e in found if e.event_type is event_type]


def test_acknowledged_messages_are_delivered_once_and_erased(
    services: Services, broker: FakeBroker, relay: Relay
) -> None:
    _queue(services, 3)
    stats = relay.run_once()
    assert (stats.delivered, stats.failed, stats.withheld) == (3, 0, 0)
    assert _statuses(services) == {outbox.DELIVERED: 3}
    deliveries = _entries(services, EntryType.DELIVERY)
    assert sorted(e.message_id for e in deliveries) == sorted(broker.published())
    assert all(e.details["offset"] in (0, 1, 2) for e in deliveries)
    assert relay.run_once().worked == 0  # nothing left, nothing published again
    assert len(broker.published()) == 3
    assert len(broker.ensured) == 1  # topics created once


def test_a_lost_acknowledgement_is_found_on_the_topic_not_sent_again(
    services: Services, broker: FakeBroker, relay: Relay, clock: Clock
) -> None:
    _queue(services, 2)
    broker.lose_acks = True
    failed = relay.run_once()
    assert (failed.delivered, failed.failed) == (0, 2)
    assert relay.last_error is not None
    assert _statuses(services) == {outbox.IN_FLIGHT: 2}
    broker.lose_acks = False
    clock.advance(19)  # within the failure grace: a request may still land; do not look yet
    assert relay.run_once().worked == 0 and broker.lookups == 0
    clock.advance(2)
    recovered = relay.run_once()
    assert recovered.recovered == 2 and broker.lookups == 1
    assert _statuses(services) == {outbox.DELIVERED: 2}
    assert len(broker.published()) == 2  # found where they were, never published twice
    assert all(e.details.get("recovered") for e in _entries(services, EntryType.DELIVERY))
    assert len(broker.ensured) == 2  # a failure makes the relay ensure the topics again


def test_a_send_that_never_arrived_is_published_again_after_the_grace(
    services: Services, broker: FakeBroker, relay: Relay, clock: Clock
) -> None:
    _queue(services, 2)
    broker.ensure_topics([], 1, 1)  # the topics exist before the outage
    relay._topics_ready = True
    broker.down = True
    assert relay.run_once().failed == 2
    broker.down = False
    clock.advance(21)
    again = relay.run_once()  # not on the topic: back to pending, and published in this round
    assert (again.recovered, again.delivered) == (2, 2)
    assert _statuses(services) == {outbox.DELIVERED: 2}
    assert len(broker.published()) == len(set(broker.published())) == 2
    with services.engine.connect() as conn:
        attempts = conn.execute(sa.select(table.c.attempts)).scalars().all()
    assert attempts == [2, 2]


def test_the_loop_backs_off_while_the_broker_is_down(
    services: Services, broker: FakeBroker, relay: Relay
) -> None:
    _queue(services, 1)
    broker.down = True
    waits: list[float] = []

    class Stop:
        """A stop event that records each wait and stops after four."""

        def is_set(self) -> bool:
            return len(waits) >= 4

        def wait(self, seconds: float) -> bool:
            waits.append(seconds)
            return len(waits) >= 4

    relay.run(Stop())  # type: ignore[arg-type]
    assert waits == [0.5, 1.0, 2.0, 4.0]
    assert relay.last_error is not None and "down" in relay.last_error
    assert _statuses(services) == {outbox.PENDING: 1}  # nothing lost while down


def test_a_withdrawal_before_publishing_withholds_the_message(
    services: Services, broker: FakeBroker, relay: Relay
) -> None:
    _, consent_id = _queue(services, 2)
    assert withdraw(services, consent_id) == 0  # nothing delivered yet: no notices
    stats = relay.run_once()
    assert (stats.withheld, stats.delivered) == (2, 0)
    assert broker.published() == []
    assert _statuses(services) == {outbox.WITHHELD: 2}
    withheld = _entries(services, EntryType.WITHHELD)
    assert [e.reason for e in withheld] == ["withdrawn", "withdrawn"]


def test_a_family_s_later_message_waits_for_its_earlier_one(
    services: Services, broker: FakeBroker, relay: Relay, clock: Clock
) -> None:
    _queue(services, 2)
    with services.engine.connect() as conn:
        first, second = conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars()
    with services.engine.begin() as conn:  # another relay holds the first message
        outbox.claim(conn, [first], clock(), dt.timedelta(seconds=60))
    assert relay.run_once().worked == 0  # the second may not overtake the first
    assert _statuses(services) == {outbox.IN_FLIGHT: 1, outbox.PENDING: 1}
    clock.advance(61)  # the other relay died: its lease runs out, the message is not on Kafka
    stats = relay.run_once()  # released, then both published in their order
    assert (stats.recovered, stats.delivered) == (1, 2)
    assert _statuses(services) == {outbox.DELIVERED: 2}
    order = {m.message_id: i for i, m in enumerate(broker.topics[next(iter(broker.topics))])}
    with services.engine.connect() as conn:
        ids = dict(conn.execute(sa.select(table.c.id, table.c.message_id)).all())
    assert order[ids[first]] < order[ids[second]]


# --- stopping: a bounded drain ---------------------------------------------------------------


def test_finish_drains_what_waits_then_closes(
    services: Services, broker: FakeBroker, relay: Relay
) -> None:
    _queue(services, 5)
    relay.batch_size = 2
    drained = relay.finish(60)
    assert (drained.delivered, drained.failed) == (5, 0)
    assert _statuses(services) == {"delivered": 5}
    assert broker.closed


def test_finish_with_nothing_waiting_runs_one_empty_round(
    services: Services, broker: FakeBroker, relay: Relay
) -> None:
    assert relay.finish(3600).worked == 0  # returns at once, not after an hour
    assert broker.closed


def test_finish_stops_at_a_failed_round_and_at_its_bound(
    services: Services, broker: FakeBroker, relay: Relay
) -> None:
    _queue(services, 3)
    relay.ensure_topics()
    broker.down = True
    assert relay.finish(3600).failed == 3  # the broker is down: no waiting for it
    assert _statuses(services) == {"in_flight": 3}  # looked up on the topic by the next relay
    broker.down = False
    assert relay.finish(0).worked == 0  # no time left: not one round
    assert _statuses(services) == {"in_flight": 3}
