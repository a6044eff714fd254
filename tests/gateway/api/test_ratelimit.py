"""The per-client token bucket (unit), and 429 over a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.api.ratelimit import RateLimiter
from tests.helpers.gateway import Gateway, running_gateway


def test_bucket_allows_bursts_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one per second, bursts of 60
    assert all(limiter.check("a") == 0 for _ in range(60))
    wait = limiter.check("a")
    assert 0.9 < wait <= 1.0
    assert limiter.check("b") == 0  # clients have their own buckets
    now[0] += 1.0
    assert limiter.check("a") == 0
    assert limiter.check("a") > 0
    assert RateLimiter(0).check("a") == 0  # off


@pytest.fixture
def gw(tmp_path: Path, sqlite_url: str, kafka_bootstrap: str) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path, sqlite_url, kafka_bootstrap, extra_toml="rate_limit_per_minute = 5\n"
    ) as gateway:
        yield gateway


def test_over_the_limit_is_429_and_logged(gw: Gateway) -> None:
    with gw.client("coordinator") as c:
        codes = [c.get("/v1/legal-bases").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        refused = c.get("/v1/legal-bases")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["title"] == "Too many requests"
    with gw.client("privacy_officer") as c:  # another client is not affected
        assert c.get("/v1/legal-bases").status_code == 200
    denied = [
        e for e in gw.log_entries() if e.event_type.value == "access" and e.outcome == "denied"
    ]
    # the first refusal at once; its repeat in the same window is counted, logged at its end
    assert len(denied) == 1 and denied[0].reason == "rate_limited"
    gw.app.state.refusals.flush(everything=True)
    denied = [
        e for e in gw.log_entries() if e.event_type.value == "access" and e.outcome == "denied"
    ]
    assert len(denied) == 2 and all(e.reason == "rate_limited" for e in denied)
    assert denied[1].details["repeated"] == 1
