"""The relay's re-check before publishing, on the real broker and both databases: skipped only
while provably nothing changed since the intake decided (the consent and family change numbers
it recorded are current, and no time limit passed), never weakened: a withdrawal, a family
change or a consent running out in between still stops the message, also when another process
made the change."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from audit import log as audit_log
from audit.entries import EntryType
from gateway.db.engine import create_engine, reading
from gateway.db.tables import outbox
from gateway.delivery.relay import Relay
from gateway.intake import families
from gateway.intake.services import Services
from gateway.kafka.publisher import KafkaPublisher
from tests.helpers.intake import NOW, consent, forward, plan_update, withdraw, young_adult_family


class _Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> _Clock:
    return _Clock(dt.datetime.now(dt.UTC))


@pytest.fixture
def relay(services: Services, kafka_bootstrap: str, clock: _Clock) -> Iterator[Relay]:
    relay = Relay(services, KafkaPublisher(kafka_bootstrap, request_timeout_ms=3000), clock=clock)
    yield relay
    relay.publisher.close()


def _queue(services: Services, n: int, **consent_fields: object) -> tuple[str, str, str]:
    """n NAV updates for a consenting young adult, permitted to school: (person, family id,
    consent id)."""
    person, family_id = young_adult_family(services, ["nav", "school"])
    consent_id = consent(
        services,
        person,
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
        **consent_fields,
    )
    routes = forward(
        services, "nav", [plan_update("nav", person, ["employment"]) for _ in range(n)]
    )
    assert [(r.recipient, r.disclosed) for r in routes] == [("school", ["employment"])]
    return person, family_id, consent_id


def _withheld_reasons(services: Services) -> list[str | None]:
    with reading(services.engine) as conn:
        size = audit_log.tree_size(conn)
        entries = [audit_log.get_entry(conn, i) for i in range(size)]
    return [e.reason for e in entries if e.event_type is EntryType.WITHHELD]


def test_with_nothing_changed_the_intake_s_decision_stands(
    services: Services, relay: Relay
) -> None:
    _queue(services, 3)
    with reading(services.engine) as conn:
        numbers = conn.execute(sa.select(outbox.c.consent_seq, outbox.c.family_seq)).all()
    assert len(numbers) == 3 and all(c is not None and f is not None for c, f in numbers)
    stats = relay.run_once()
    assert (stats.delivered, stats.withheld, stats.skipped, stats.rechecked) == (3, 0, 3, 0)


def test_a_withdrawal_between_queueing_and_relaying_still_stops_it(
    services: Services, relay: Relay
) -> None:
    _, _, consent_id = _queue(services, 2)
    withdraw(services, consent_id)
    stats = relay.run_once()
    assert (stats.delivered, stats.withheld, stats.skipped, stats.rechecked) == (0, 2, 0, 2)
    assert _withheld_reasons(services) == ["withdrawn", "withdrawn"]


def test_a_withdrawal_in_another_process_still_stops_it(services: Services, relay: Relay) -> None:
    """The relay's process never heard of the withdrawal: it reads it by change number."""
    _, _, consent_id = _queue(services, 2)
    engine = create_engine(services.settings.database_url)
    try:
        other = Services(dataclasses.replace(services.instance, engine=engine))
        other.load()
        withdraw(other, consent_id)
    finally:
        engine.dispose()
    stats = relay.run_once()
    assert (stats.delivered, stats.withheld, stats.skipped) == (0, 2, 0)
    assert _withheld_reasons(services) == ["withdrawn", "withdrawn"]


def test_a_family_change_between_queueing_and_relaying_still_stops_it(
    services: Services, relay: Relay
) -> None:
    _, family_id, _ = _queue(services, 2)
    with services.engine.begin() as conn:
        families.patch(conn, family_id, families.FamilyPatch(team=["nav", "housing"]), now=NOW)
    stats = relay.run_once()
    assert (stats.delivered, stats.withheld, stats.skipped, stats.rechecked) == (0, 2, 0, 2)
    assert _withheld_reasons(services) == ["not_in_team", "not_in_team"]


def test_a_consent_running_out_between_queueing_and_relaying_still_stops_it(
    services: Services, relay: Relay, clock: _Clock
) -> None:
    """No change number moves when a consent simply ends: the time limit itself is checked."""
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    _queue(services, 2, valid_until=until.isoformat())
    clock.now = until + dt.timedelta(seconds=1)
    stats = relay.run_once()
    assert (stats.delivered, stats.withheld, stats.skipped, stats.rechecked) == (0, 2, 0, 2)
    assert _withheld_reasons(services) == ["expired", "expired"]


def test_rows_queued_without_change_numbers_are_decided_again(
    services: Services, relay: Relay
) -> None:
    """Rows queued before the numbers were recorded (or by another path) are re-checked."""
    _queue(services, 2)
    with services.engine.begin() as conn:
        conn.execute(outbox.update().values(consent_seq=None, family_seq=None))
    stats = relay.run_once()
    assert (stats.delivered, stats.skipped, stats.rechecked) == (2, 0, 2)
