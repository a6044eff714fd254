"""Finding 7: callers without a token could grow the log one entry per request, with no rate
limit. Now every address has a rate limit checked before any token, and repeated refusals are
aggregated per source and window into one entry that counts them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from audit import log as audit_log
from gateway.api.refusals import RefusalLog
from gateway.db import migrate
from gateway.db.engine import create_engine
from tests.helpers.gateway import Gateway


def _denied(entries: list) -> list:  # type: ignore[type-arg]
    return [e for e in entries if e.event_type.value == "access" and e.outcome == "denied"]


def test_repeats_in_a_window_become_one_counted_entry(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    migrate.upgrade(engine)
    clock = [0.0]
    start = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    refusals = RefusalLog(
        engine, 60, clock=lambda: clock[0], now=lambda: start + dt.timedelta(seconds=clock[0])
    )
    details = {"method": "GET", "route": "/v1/disclosures", "status": 401, "remote": "10.0.0.9"}

    def entries() -> list:  # type: ignore[type-arg]
        with engine.connect() as conn:
            return [audit_log.get_entry(conn, i) for i in range(audit_log.tree_size(conn))]

    for _ in range(1000):
        refusals.refused(client="unknown", reason="no_bearer_token", details=details)
        clock[0] += 0.01
    other = {**details, "remote": "10.0.0.10"}
    refusals.refused(client="unknown", reason="no_bearer_token", details=other)
    assert len(entries()) == 2  # the first of each source, at once
    assert refusals.flush() == 0  # the window has not ended
    clock[0] = 61.0
    assert refusals.flush() == 1  # the first source's 999 repeats, in one entry
    summary = entries()[-1]
    assert summary.details["repeated"] == 999
    assert summary.details["since"] == "2026-11-24T12:00:00.000000Z"
    assert summary.details["until"] == "2026-11-24T12:01:01.000000Z"
    assert (summary.reason, summary.client, summary.details["remote"]) == (
        "no_bearer_token",
        "unknown",
        "10.0.0.9",
    )
    refusals.refused(client="unknown", reason="no_bearer_token", details=details)
    assert len(entries()) == 4  # a new window opens with an entry of its own
    engine.dispose()


def test_unauthenticated_requests_grow_the_log_by_one_entry(api: Gateway) -> None:
    before = len(api.log_entries())
    for _ in range(40):
        assert httpx.get(api.base_url + "/v1/disclosures").status_code == 401
        assert httpx.post(api.base_url + "/v1/families", json={}).status_code == 401
    denied = _denied(api.log_entries()[before:])
    assert [(e.details["route"], e.details["status"]) for e in denied] == [
        ("/v1/disclosures", 401),
        ("/v1/families", 401),
    ]
    api.app.state.refusals.flush(everything=True)
    repeats = _denied(api.log_entries())[-2:]
    assert sorted(e.details["repeated"] for e in repeats) == [39, 39]


class TestAddressLimit:
    @pytest.fixture
    def gateway_toml(self) -> str:
        return "rate_limit_per_address_per_minute = 10\n"

    def test_an_address_is_rate_limited_before_its_token_is_looked_at(self, api: Gateway) -> None:
        codes = [httpx.get(api.base_url + "/v1/disclosures").status_code for _ in range(10)]
        assert codes == [401] * 10
        over = httpx.get(api.base_url + "/v1/disclosures")
        assert over.status_code == 429
        assert over.json()["title"] == "Too many requests"
        assert int(over.headers["retry-after"]) >= 1
        with api.client("privacy_officer") as c:  # same address: a valid token does not help
            assert c.get("/v1/disclosures").status_code == 429
        with api.engine.connect() as conn:
            size = audit_log.tree_size(conn)
        assert size <= 3  # one 401, one 429 (and nothing per repeat)
