"""Retries without an Idempotency-Key: a record is recognised by its own identity (update_id and
content), answered as before and forwarded no second time; a changed record is a new version."""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa

from audit import log as audit_log
from gateway.db.tables import outbox, updates
from gateway.intake.pipeline import RecordAnswer, accept_record
from gateway.intake.services import Services
from tests.helpers.intake import NOW, consent, young_adult_family
from tests.helpers.records import nav_card

CARD = "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c61"


def _post(services: Services, body: bytes, content_type: str = "application/json") -> RecordAnswer:
    return accept_record(
        services,
        agency="nav",
        body=body,
        content_type=content_type,
        client_id="c-nav",
        client_name="nav-system",
        idempotency_key=None,
        now=NOW,
    )


def _counts(services: Services) -> tuple[int, int]:
    """(outbox rows, disclosure entries)."""
    with services.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
        entries = [
            audit_log.get_entry(conn, i).event_type.value for i in range(audit_log.tree_size(conn))
        ]
    return int(rows), entries.count("disclosure")


def _young_adult_sharing_with_school(services: Services) -> str:
    person, _ = young_adult_family(services, ["nav", "school"])
    consent(services, person, sources=["nav"], recipients=["school"], categories=["employment"])
    return person


def test_the_same_record_again_gets_the_same_answer_and_no_second_forward(
    services: Services,
) -> None:
    person = _young_adult_sharing_with_school(services)
    first = _post(services, nav_card(person, CARD))
    assert [r.disclosed for r in first.routes] == [["employment"]]
    assert _counts(services) == (1, 1)
    again = _post(services, nav_card(person, CARD))
    assert again == first
    assert _counts(services) == (1, 1)


def test_the_same_record_in_another_body_is_recognised(services: Services) -> None:
    person = _young_adult_sharing_with_school(services)
    first = _post(services, nav_card(person, CARD))
    other_card = "11111111-2222-4333-8444-555555555555"
    # A re-posted batch: the record already forwarded, re-serialised, and one new record.
    reserialised = json.dumps(json.loads(nav_card(person, CARD)), indent=1).encode()
    batch = reserialised.replace(b"\n", b"") + b"\n" + nav_card(person, other_card)
    answer = _post(services, batch, "application/x-ndjson")
    assert answer.record_id != first.record_id
    assert answer.updates == 2
    assert [r.disclosed for r in answer.routes] == [["employment"]]
    assert _counts(services) == (2, 2)  # only the new record was forwarded


def test_a_changed_record_with_the_same_id_is_a_new_version(services: Services) -> None:
    person = _young_adult_sharing_with_school(services)
    _post(services, nav_card(person, CARD))
    changed = json.loads(nav_card(person, CARD))
    changed["aktivitetskort"]["aktivitetStatus"] = "FULLFORT"
    answer = _post(services, json.dumps(changed).encode())
    assert [r.disclosed for r in answer.routes] == [["employment"]]
    assert _counts(services) == (2, 2)
    with services.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(updates)).scalar_one() == 2


def _plan_update(person: str, title: str) -> bytes:
    return json.dumps(
        {
            "schema": "helhet.plan-update/1",
            "update_id": "coordinator-plan-1",
            "source": {
                "agency": "nav",
                "system": "fagsystem",
                "record_type": "plan",
                "record_id": "plan-1",
                "received_at": NOW.isoformat(),
            },
            "items": [
                {
                    "item_id": "goal-1",
                    "subject": person,
                    "kind": "goal",
                    "category": "employment",
                    "title": title,
                    "status": "planned",
                }
            ],
        }
    ).encode()


def test_the_common_schema_is_recognised_by_record_and_content(services: Services) -> None:
    person = _young_adult_sharing_with_school(services)
    media = "application/vnd.helhet.plan-update+json"
    first = _post(services, _plan_update(person, "Arbeidstrening"), media)
    assert _post(services, _plan_update(person, "Arbeidstrening"), media) == first
    assert _counts(services) == (1, 1)
    changed = _post(services, _plan_update(person, "Arbeidstrening, 50 %"), media)
    assert changed.record_id != first.record_id
    assert _counts(services) == (2, 2)


def test_a_record_about_nobody_enrolled_leaves_no_trace(services: Services) -> None:
    stranger, _ = young_adult_family(services, ["nav"])  # no team agency but nav itself
    _post(services, nav_card(stranger, CARD))
    _post(services, nav_card(stranger, CARD))
    with services.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(updates)).scalar_one() == 0
    assert _counts(services) == (0, 0)


def test_concurrent_retries_forward_once(services: Services) -> None:
    person = _young_adult_sharing_with_school(services)
    answers: list[RecordAnswer] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def post() -> None:
        start.wait()
        try:
            answers.append(_post(services, nav_card(person, CARD)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len({a.record_id for a in answers}) == 1
    assert _counts(services) == (1, 1)
