"""A database whose lock another connection holds: reads (the token lookup, GETs) go on, and a
write waits at most `database_write_wait_seconds`, then is answered 503 problem+json with
Retry-After, with nothing stored; never a 500 "database is locked" (also not from the request
guard, which looks the token up before the app runs)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

from gateway.db.engine import create_engine, sqlite_file
from gateway.demo.run import RetryAfter503
from tests.helpers.gateway import Gateway, running_gateway
from tests.helpers.records import nav_shares_employment_with_school, young_person_family

NO_BROKER = "127.0.0.1:9"
WAIT = "database_write_wait_seconds = 1\n"


@contextmanager
def _lock_held(gw: Gateway) -> Iterator[None]:
    """SQLite: another connection holds the writer lock. PostgreSQL: another connection holds
    the consent counter's row lock, which every consent change takes first."""
    url = gw.settings.database_url
    path = sqlite_file(url)
    if path is not None:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
        return
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT value FROM consent_sequence FOR UPDATE")).all()
            yield
    finally:
        engine.dispose()


def _assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["status"] == 503 and problem["type"].endswith("/unavailable")
    assert "traceback" not in response.text.lower()


def test_a_write_behind_a_held_lock_is_a_503_with_retry_after(
    tmp_path: Path, database_url: str
) -> None:
    with running_gateway(tmp_path, database_url, NO_BROKER, WAIT) as gw:
        person, _ = young_person_family(gw, ["nav", "school"])
        consent_id = nav_shares_employment_with_school(gw, person)
        with gw.client("coordinator") as coordinator:
            with _lock_held(gw):
                # Reading needs no lock: the token is looked up, the consent read.
                read = coordinator.get(f"/v1/consents/{consent_id}")
                assert read.status_code == 200 and read.json()["status"] == "active"
                _assert_busy(
                    coordinator.post(f"/v1/consents/{consent_id}/withdraw", json={"reason": "x"})
                )
            # Nothing of the refused request was stored: the consent is still active, and the
            # same request now succeeds (it is not "already withdrawn").
            assert coordinator.get(f"/v1/consents/{consent_id}").json()["status"] == "active"
            again = coordinator.post(f"/v1/consents/{consent_id}/withdraw", json={"reason": "x"})
            assert again.status_code == 200, again.text
            assert again.json()["status"] == "withdrawn"


def test_the_request_guard_answers_503_not_500_when_the_token_lookup_waits_too_long(
    tmp_path: Path, postgres_url: str
) -> None:
    """The token is looked up before the app runs (outside its exception handlers). On
    PostgreSQL even a read can wait for a lock (a table locked by a migration, say): past the
    wait the guard answers 503 as the app would, not 500."""
    with running_gateway(tmp_path, postgres_url, NO_BROKER, WAIT) as gw:
        engine = create_engine(postgres_url)
        try:
            with gw.client("coordinator") as coordinator:
                with engine.begin() as conn:
                    conn.execute(sa.text("LOCK TABLE gateway_clients IN ACCESS EXCLUSIVE MODE"))
                    _assert_busy(coordinator.get("/v1/consents", params={"subject": "x"}))
                answer = coordinator.get("/v1/families/unknown")
                assert answer.status_code == 404  # the lock released: the token is known
        finally:
            engine.dispose()


def test_a_client_honouring_retry_after_gets_its_write_through(
    tmp_path: Path, sqlite_url: str
) -> None:
    """`make demo`'s client (as an agency system should) sends a 503'd request again after
    Retry-After; the lock released meanwhile, the retry succeeds."""
    with running_gateway(tmp_path, sqlite_url, NO_BROKER, WAIT) as gw:
        person, _ = young_person_family(gw, ["nav", "school"])
        consent_id = nav_shares_employment_with_school(gw, person)
        refused = threading.Event()

        class Watching(httpx.HTTPTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = super().handle_request(request)
                if response.status_code == 503:
                    refused.set()
                return response

        answers: list[httpx.Response] = []
        client = httpx.Client(
            base_url=gw.base_url,
            headers={"Authorization": f"Bearer {gw.tokens['coordinator']}"},
            transport=RetryAfter503(Watching()),
            timeout=30,
        )
        with client:
            with _lock_held(gw):
                thread = threading.Thread(
                    target=lambda: answers.append(
                        client.post(f"/v1/consents/{consent_id}/withdraw", json={"reason": "x"})
                    )
                )
                thread.start()
                assert refused.wait(30)  # the first attempt was answered 503: release the lock
            thread.join(30)
        assert [a.status_code for a in answers] == [200]
        assert answers[0].json()["status"] == "withdrawn"
