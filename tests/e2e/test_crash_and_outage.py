"""Crashes and broker outages lose nothing and duplicate nothing (real broker, both databases).

- the relay process killed with SIGKILL mid-run and restarted;
- the broker itself stopped while records are accepted, then started again.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from gateway.db.tables import outbox
from gateway.delivery.reconcile import reconcile
from gateway.errors import BrokerUnavailable
from gateway.kafka.broker import EmbeddedBroker
from tests.helpers.gateway import Gateway, running_gateway
from tests.helpers.records import nav_card
from tests.helpers.topics import drain

RECORDS = 60


def _family_with_consent(gw: Gateway) -> str:
    person, born = gw.person(20)
    gw.enrol([{"id": person, "role": "child", "birth_date": born.isoformat()}], ["nav", "school"])
    gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    return person


def _post_many(gw: Gateway, person: str, n: int, *, first: int = 0) -> None:
    """Post `n` different records (cards numbered from `first`)."""
    for i in range(first, first + n):
        card = nav_card(person, f"0e9d8c7b-6a5f-4e3d-8c2b-{i:012d}")
        response = gw.post("nav", card, "application/json")
        assert response.status_code == 202, response.text


def _assert_exactly_once(gw: Gateway, expected: int) -> None:
    messages = drain(gw, "school")
    counts = Counter(d.message.message_id for d in messages)
    assert len(counts) == expected, f"{len(counts)} distinct messages, expected {expected}"
    assert max(counts.values()) == 1, "a message was published twice"
    assert gw.count(outbox, outbox.c.status == "delivered") == expected
    with gw.engine.connect() as conn:
        report = reconcile(conn, gw.settings.kafka_bootstrap_servers, [gw.settings.topic("school")])
    assert report.clean, report.as_dict()
    assert report.deliveries == expected


def _relay_process(gw: Gateway, *args: str) -> subprocess.Popen[str]:
    config = gw.settings.config_file
    assert config is not None
    env = {
        **os.environ,
        "HELHET_CONFIG": str(config),
        "HELHET_RELAY_BATCH_SIZE": "1",
        "HELHET_RELAY_LEASE_SECONDS": "2",
        "HELHET_RELAY_POLL_INTERVAL": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "relay", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_relay_killed_with_sigkill_loses_and_duplicates_nothing(gw: Gateway) -> None:
    person = _family_with_consent(gw)
    _post_many(gw, person, RECORDS)
    process = _relay_process(gw)
    deadline = time.monotonic() + 90
    while gw.count(outbox, outbox.c.status != "pending") < 1:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the relay delivered nothing"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    delivered = gw.count(outbox, outbox.c.status == "delivered")
    assert delivered < RECORDS, "the relay finished before it was killed; nothing was tested"
    time.sleep(2.5)  # let the dead relay's lease run out
    again = _relay_process(gw, "--once")
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    _assert_exactly_once(gw, RECORDS)


def test_broker_stopped_and_started_delivers_everything_once(
    tmp_path: Path, database_url: str
) -> None:
    broker = EmbeddedBroker().start()
    try:
        with running_gateway(tmp_path, database_url, broker.bootstrap_servers) as gw:
            person = _family_with_consent(gw)
            relay = gw.relay()
            relay.failure_grace = dt.timedelta(0)  # the broker is down: nothing can still land
            _post_many(gw, person, 3)
            assert relay.run_once().delivered == 3
            broker.stop()
            _post_many(gw, person, 5, first=3)  # accepted while the broker is down
            down = relay.run_once()
            assert down.delivered == 0 and down.failed == 5
            broker.start()
            for _ in range(10):
                relay.run_once()
                if gw.count(outbox, outbox.c.status != "delivered") == 0:
                    break
            # The bundled broker keeps nothing across a restart: the topic holds what came after.
            messages = drain(gw, "school")
            counts = Counter(d.message.message_id for d in messages)
            assert len(counts) == 5 and max(counts.values()) == 1
            assert gw.count(outbox, outbox.c.status == "delivered") == 8
    finally:
        broker.stop()


class _AcknowledgementLost:
    """The real publisher, but every acknowledgement is lost on the way back (as when the
    gateway dies between the broker's answer and recording it)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def publish(self, messages: Any) -> list[Any]:
        self.real.publish(messages)
        return [BrokerUnavailable("acknowledgement lost") for _ in messages]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_published_but_unrecorded_messages_are_found_not_resent(gw: Gateway) -> None:
    person = _family_with_consent(gw)
    _post_many(gw, person, 4)
    relay = gw.relay()
    relay.failure_grace = dt.timedelta(0)  # the real publish returned: nothing is in flight
    real = relay.publisher
    relay.publisher = _AcknowledgementLost(real)
    lost = relay.run_once()
    assert lost.failed == 4 and lost.delivered == 0
    assert len(drain(gw, "school")) == 4  # they did reach the topic
    relay.publisher = real
    recovered = relay.run_once()
    assert recovered.recovered == 4 and recovered.delivered == 0  # found, not published again
    _assert_exactly_once(gw, 4)
    deliveries = [e for e in gw.log_entries() if e.event_type.value == "delivery"]
    assert len(deliveries) == 4 and all(e.details.get("recovered") for e in deliveries)
