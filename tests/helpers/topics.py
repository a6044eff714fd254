"""Read a recipient's topic to its current end and open every envelope (fast, no idle wait)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.kafka.topics import read_topic
from recipient.opening import EnvelopeOpener, OpenedMessage
from tests.helpers.gateway import Gateway


@dataclass(frozen=True)
class Delivered:
    partition: int
    offset: int
    message: OpenedMessage


def raw_records(gw: Gateway, agency: str) -> list[tuple[bytes | None, bytes]]:
    """(key, value) of every record on the agency's topic, as the broker holds them."""
    return [(key, value) for _, _, key, value in _read(gw, agency)]


def drain(gw: Gateway, agency: str) -> list[Delivered]:
    """Every message on the agency's topic, verified and decrypted with the agency's key."""
    opener = EnvelopeOpener(
        gw.agency_keys[agency], gw.instance.signing_key.public_key(), expected_recipient=agency
    )
    return [
        Delivered(partition, offset, opener.open(value))
        for partition, offset, _, value in _read(gw, agency)
    ]


def _read(gw: Gateway, agency: str) -> list[tuple[int, int, bytes | None, bytes]]:
    return [
        (r.partition, r.offset, r.key, r.value)
        for r in read_topic(gw.settings.kafka_bootstrap_servers, gw.settings.topic(agency))
    ]


def items_by_recipient(gw: Gateway, agencies: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every plan item each agency received (with its message id and family)."""
    received: dict[str, list[dict[str, Any]]] = {}
    for agency in agencies:
        received[agency] = [
            {
                **item,
                "_message_id": d.message.message_id,
                "_family_id": d.message.family_id,
                "_update_id": d.message.payload["update_id"],
            }
            for d in drain(gw, agency)
            if d.message.kind == "plan_update"
            for item in d.message.payload["items"]
        ]
    return received


def relay_until_done(gw: Gateway, relay: Any, *, timeout_s: float = 90) -> None:
    """Run the relay until no message is pending or in flight (a failed batch is retried
    after its lease, as in production)."""
    import time

    from gateway.db.tables import outbox

    deadline = time.monotonic() + timeout_s
    while gw.count(outbox, outbox.c.status.in_(("pending", "in_flight"))):
        assert time.monotonic() < deadline, "the outbox did not drain"
        if relay.run_once().worked == 0:
            time.sleep(0.2)
