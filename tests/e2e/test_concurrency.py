"""Intake, the relay and consent withdrawals at once on SQLite (a real server, the real broker,
several client threads): no answer is a 5xx other than 503 with Retry-After, and every record
accepted is delivered exactly once to each recipient that may have it."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.db import outbox
from gateway.db.engine import reading
from gateway.delivery.relay import Relay
from gateway.kafka.publisher import KafkaPublisher
from recipient.opening import OpenedMessage
from tests.helpers.gateway import Gateway, running_gateway
from tests.helpers.records import nav_card, nav_shares_employment_with_school, young_person_family
from tests.helpers.topics import drain

PERSONS = 12
WITHDRAWN = 4  # the first persons' consents are withdrawn while records about them flow
INTAKE_THREADS = 4
BODIES_PER_THREAD = 10
CARDS_PER_BODY = 5


@pytest.fixture
def gw(tmp_path: Path, sqlite_url: str, kafka_bootstrap: str) -> Iterator[Gateway]:
    # A short wait for the writer's turn, so that some writes do get a 503 and are sent again.
    toml = "database_write_wait_seconds = 0.1\nrelay_batch_size = 50\n"
    with running_gateway(tmp_path, sqlite_url, kafka_bootstrap, toml) as gateway:
        yield gateway


class _Answers:
    """Every status answered, and every 5xx that was not a 503 with Retry-After."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.bad: list[str] = []

    def send(self, request: Callable[[], httpx.Response]) -> httpx.Response:
        """Send until answered other than 503 (a test client retries at once; an agency's
        system waits the seconds in Retry-After)."""
        while True:
            response = request()
            with self.lock:
                self.statuses[response.status_code] += 1
                if response.status_code >= 500 and (
                    response.status_code != 503 or "retry-after" not in response.headers
                ):
                    self.bad.append(f"{response.status_code} {response.text[:300]}")
            if response.status_code != 503 or "retry-after" not in response.headers:
                return response
            assert float(response.headers["retry-after"]) > 0


def test_intake_relay_and_withdrawals_at_once(gw: Gateway) -> None:
    persons, consents = [], []
    for _ in range(PERSONS):
        person, _family = young_person_family(gw, ["nav", "school"])
        persons.append(person)
        consents.append(nav_shares_employment_with_school(gw, person))

    answers = _Answers()
    accepted: dict[str, set[str]] = defaultdict(set)  # person -> card ids answered 202
    progress = threading.Condition()
    bodies_done = [0]
    errors: list[BaseException] = []

    relay = gw.relay()
    stop = threading.Event()
    relay_thread = threading.Thread(
        target=relay.run, args=(stop,), kwargs={"idle_sleep": 0.02, "drain_seconds": 120}
    )

    def intake(thread: int) -> None:
        try:
            with gw.client("nav") as nav:
                for body_number in range(BODIES_PER_THREAD):
                    cards = []
                    for n in range(CARDS_PER_BODY):
                        person = persons[(thread + body_number * CARDS_PER_BODY + n) % PERSONS]
                        cards.append((person, str(uuid.uuid4())))
                    body = b"\n".join(nav_card(person, card) for person, card in cards)
                    response = answers.send(
                        lambda body=body: nav.post(  # type: ignore[misc]
                            "/v1/records/nav",
                            content=body,
                            headers={"Content-Type": "application/x-ndjson"},
                        )
                    )
                    assert response.status_code == 202, response.text
                    with progress:
                        for person, card in cards:
                            accepted[person].add(card)
                        bodies_done[0] += 1
                        progress.notify_all()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def withdrawals() -> None:
        total = INTAKE_THREADS * BODIES_PER_THREAD
        try:
            with gw.client("coordinator") as coordinator:
                for i in range(WITHDRAWN):
                    with progress:  # spread over the run: after a share of the bodies each
                        assert progress.wait_for(
                            lambda i=i: bodies_done[0] >= (i + 1) * total // (WITHDRAWN + 1),  # type: ignore[misc]
                            timeout=300,
                        )
                    response = answers.send(
                        lambda i=i: coordinator.post(  # type: ignore[misc]
                            f"/v1/consents/{consents[i]}/withdraw", json={"reason": "withdrawn"}
                        )
                    )
                    assert response.status_code == 200, response.text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=intake, args=(t,)) for t in range(INTAKE_THREADS)]
    threads.append(threading.Thread(target=withdrawals))
    relay_thread.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    stop.set()  # the relay drains what waits, then stops
    relay_thread.join(600)
    # Its drain ends at the first failed round (a busy database, with a wait this short), and
    # a message published whose delivery could not be recorded stays in flight until its lease
    # runs out. A relay whose clock is past every lease finishes, as after a restart: it looks
    # those up on the topic and publishes the rest.
    later = dt.timedelta(seconds=gw.settings.relay_lease_seconds + 60)
    finishing = Relay(
        gw.services,
        KafkaPublisher(gw.settings.kafka_bootstrap_servers, request_timeout_ms=3000),
        clock=lambda: dt.datetime.now(dt.UTC) + later,
    )
    gw.relays.append(finishing)
    while finishing.run_once().worked:
        pass
    assert not errors, errors
    assert answers.bad == [], answers.bad
    assert set(answers.statuses) <= {200, 202, 503}, answers.statuses
    with reading(gw.engine) as conn:
        assert outbox.waiting(conn) == 0

    delivered = [d.message for d in drain(gw, "school") if d.message.kind == "plan_update"]
    message_ids = Counter(m.message_id for m in delivered)
    assert [m for m, n in message_ids.items() if n > 1] == []

    def card_of(message: OpenedMessage) -> str:
        (card,) = {item["source_ref"] for item in message.payload["items"]}
        return str(card)

    cards = Counter(card_of(m) for m in delivered)
    assert [c for c, n in cards.items() if n > 1] == []  # no record twice to the school
    by_person: dict[str, set[str]] = defaultdict(set)
    for message in delivered:
        (subject,) = {item["subject"] for item in message.payload["items"]}
        by_person[subject].add(card_of(message))
    for number, person in enumerate(persons):
        if number < WITHDRAWN:
            # Withdrawn during the run: what went before the withdrawal, nothing else.
            assert by_person[person] <= accepted[person]
        else:
            assert by_person[person] == accepted[person], number
    assert sum(len(cards) for cards in accepted.values()) == (
        INTAKE_THREADS * BODIES_PER_THREAD * CARDS_PER_BODY
    )
