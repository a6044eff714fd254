"""Request rate limits (a token bucket per client, or per address, in this process).

Over its limit a caller is answered 429 with Retry-After (`rate_limit_per_minute` per client,
`rate_limit_per_address_per_minute` per address, before authentication).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem


class RateLimiter:
    """`per_minute` requests per client, with bursts up to the same number; 0 turns it off."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill)
        self._lock = threading.Lock()

    def check(self, client: str) -> float:
        """0 when the request may go; else the seconds until the client may try again."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / rate


def too_many_requests(who: str, per_minute: int, wait: float) -> Problem:
    """The 429 for `who` ("the client", "the address") over its limit, with Retry-After."""
    seconds = max(1, math.ceil(wait))
    return Problem(
        429,
        "Too many requests",
        f"{who} is over its limit of {per_minute} requests per minute; try again in {seconds} s",
        type_=problem_type("rate-limited"),
        headers={"Retry-After": str(seconds)},
    )
