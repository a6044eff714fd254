"""End to end over a real HTTP server, a real broker and both databases: records in, consent
enforced, sealed messages out, every disclosure and refusal in the log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from gateway.db.tables import outbox, records
from gateway.kafka.publisher import KafkaPublisher
from tests.helpers.decoder import decode
from tests.helpers.gateway import Gateway
from tests.helpers.records import nav_card, young_person_family
from tests.helpers.topics import raw_records


def plan_updates(messages: list[Any]) -> list[dict[str, Any]]:
    assert all(m.ok for m in messages), [m.error for m in messages]
    return [m.message.payload for m in messages if m.message.kind == "plan_update"]


def test_consent_decides_who_receives(gw: Gateway) -> None:
    person, family = young_person_family(gw, ["nav", "school", "health"])
    gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    answer = gw.post("nav", nav_card(person), "application/json")
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["updates"] == 1
    routes = {r["recipient"]: r for r in body["routes"]}
    assert set(routes) == {"school", "health"}  # the source agency is never a recipient
    assert routes["school"]["disclosed"] == ["employment"] and routes["school"]["withheld"] == []
    assert routes["health"]["disclosed"] == [] and routes["health"]["withheld"] == ["employment"]
    assert all(r["family_id"] == family for r in body["routes"])

    stats = gw.relay().run_once()
    assert stats.delivered == 1 and stats.withheld == 0

    school = plan_updates(gw.receive("school"))
    assert len(school) == 1
    assert [i["subject"] for i in school[0]["items"]] == [person]
    # An agency's own consumer, written from docs/integration.md alone, reads the same message.
    [(key, value)] = raw_records(gw, "school")
    envelope, payload = decode(
        key,
        value,
        gw.agency_keys["school"],
        [gw.instance.signing_key.public_key()],
        "school",
        gw.settings.municipality,
    )
    assert payload == school[0] and envelope["family_id"] == family
    assert gw.receive("health", timeout_s=2) == []

    types = [(e.event_type.value, e.recipient, e.reason) for e in gw.log_entries()]
    assert types[0] == ("consent", None, None)
    assert ("disclosure", "school", "permitted_by_consent") in types
    assert ("refusal", "health", "out_of_scope") in types  # a consent exists, not for health
    assert ("delivery", "school", None) in types
    assert all(person not in json.dumps(e.model_dump(mode="json")) for e in gw.log_entries())
    assert gw.count(outbox, outbox.c.envelope.is_not(None)) == 0  # no copy kept after delivery


def test_subject_in_no_family_keeps_nothing(gw: Gateway) -> None:
    stranger, _ = gw.person(30)
    answer = gw.post("nav", nav_card(stranger), "application/json")
    assert answer.status_code == 202
    assert answer.json()["routes"] == []
    assert gw.count(records) == 0 and gw.count(outbox) == 0
    assert gw.log_entries() == []  # no consent, no family: nothing at all


def test_bad_input_is_refused_whole(gw: Gateway) -> None:
    person, _ = young_person_family(gw, ["nav", "school"])
    gw.consent(subject=person, given_by=[person], sources=["*"], recipients=["*"], categories=["*"])
    broken = json.loads(nav_card(person))
    broken["aktivitetskort"]["aktivitetStatus"] = "KANSKJE"
    answer = gw.post("nav", json.dumps(broken).encode(), "application/json")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["errors"][0]["pointer"] == "/aktivitetskort/aktivitetStatus"
    wrong_type = gw.post("nav", nav_card(person), "text/plain")
    assert wrong_type.status_code == 415
    truncated = gw.post("nav", nav_card(person)[:-20], "application/json")
    assert truncated.status_code == 422
    other_agency = gw.post("nav", nav_card(person), "application/json")  # token is nav's: fine
    assert other_agency.status_code == 202
    with gw.client("nav") as c:
        as_school = c.post(
            "/v1/records/school", content=b"{}", headers={"Content-Type": "application/json"}
        )
    assert as_school.status_code == 403
    # only the one good record was stored and forwarded
    assert gw.count(outbox) == 1
    entries = gw.log_entries()
    assert [e.event_type.value for e in entries] == ["consent", "disclosure", "access"]
    assert entries[-1].outcome == "denied"  # the refused impersonation is itself logged


def test_idempotency_key(gw: Gateway) -> None:
    person, _ = young_person_family(gw, ["nav", "school"])
    gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    first = gw.post("nav", nav_card(person), "application/json", **{"Idempotency-Key": "k-1"})
    again = gw.post("nav", nav_card(person), "application/json", **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    other = gw.post(
        "nav",
        nav_card(person, "11111111-2222-3333-4444-555555555555"),
        "application/json",
        **{"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 409
    assert other.json()["errors"][0]["pointer"] == "header:Idempotency-Key"
    gw.relay().run_once()
    assert len(plan_updates(gw.receive("school"))) == 1


def test_withdrawal_stops_waiting_messages(gw: Gateway) -> None:
    person, _ = young_person_family(gw, ["nav", "school", "housing"])
    to_school = gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["housing"],
        categories=["employment"],
    )
    assert gw.post("nav", nav_card(person), "application/json").status_code == 202
    # The broker is unreachable: the messages wait in the outbox.
    dead = gw.relay(KafkaPublisher("127.0.0.1:1", request_timeout_ms=1000))
    with pytest.raises(Exception):  # noqa: B017 - BrokerUnavailable from topic set-up
        dead.run_once()
    gw.withdraw(to_school)
    stats = gw.relay().run_once()
    assert stats.withheld == 1 and stats.delivered == 1
    withheld = [e for e in gw.log_entries() if e.event_type.value == "withheld"]
    assert len(withheld) == 1
    assert withheld[0].recipient == "school" and withheld[0].reason == "withdrawn"
    assert gw.receive("school", timeout_s=2) == []
    assert len(plan_updates(gw.receive("housing"))) == 1


def test_broker_outage_delivers_once_afterwards(gw: Gateway) -> None:
    person, _ = young_person_family(gw, ["nav", "school"])
    gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    for n in range(3):
        card = nav_card(person, f"0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6{n}")
        assert gw.post("nav", card, "application/json").status_code == 202
    relay = gw.relay()
    relay.failure_grace = dt.timedelta(0)  # nothing can land at an address with no broker
    relay.ensure_topics()
    real = relay.publisher
    relay.publisher = KafkaPublisher("127.0.0.1:1", request_timeout_ms=1000)
    failed = relay.run_once()
    relay.publisher.close()
    assert failed.failed == 3 and failed.delivered == 0
    assert gw.count(outbox, outbox.c.status == "in_flight") == 3
    relay.publisher = real
    for _ in range(3):
        relay.run_once()
    received = plan_updates(gw.receive("school"))
    assert len(received) == 3
    assert len({p["update_id"] for p in received}) == 3
    assert gw.count(outbox, outbox.c.status == "delivered") == 3
