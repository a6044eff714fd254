"""Server-side console sessions, in this process's memory: who signed in, the CSRF token of
their forms, idle and absolute timeouts, and what the pages remember for them (saved searches).

The cookie carries only a random session id; a restart signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.api.clients import Principal

COOKIE = "helhet_console"
REMEMBERED_MAX = 50  # saved searches and report subjects per session, oldest forgotten first


@dataclass
class Session:
    """One signed-in person. `remembered` maps short random keys to values that must not
    appear in a URL (person numbers, searches that contain one)."""

    id: str
    principal: Principal
    csrf: str
    started: float
    last_seen: float
    signed_in_at: float  # wall-clock time, for display
    remembered: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    flash: list[str] = field(default_factory=list)

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf, token)

    def remember(self, value: Any) -> str:
        """A short key for `value` in this session (the URL carries the key, not the value)."""
        for key, known in self.remembered.items():
            if known == value:
                self.remembered.move_to_end(key)
                return key
        key = secrets.token_urlsafe(9)
        self.remembered[key] = value
        while len(self.remembered) > REMEMBERED_MAX:
            self.remembered.popitem(last=False)
        return key

    def recall(self, key: str | None) -> Any:
        return self.remembered.get(key) if key else None

    def take_flash(self) -> list[str]:
        messages, self.flash = self.flash, []
        return messages


class SessionStore:
    """Sessions by id; `get` ends a session idle longer than `idle_s` or older than `max_s`."""

    def __init__(
        self,
        idle_s: float,
        max_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.idle_s = idle_s
        self.max_s = max_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: Principal) -> Session:
        now = self._clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            principal=principal,
            csrf=secrets.token_urlsafe(32),
            started=now,
            last_seen=now,
            signed_in_at=self._wall_clock(),
        )
        with self._lock:
            self._expire(now)
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle clock restarted), or None."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.last_seen > self.idle_s or now - session.started > self.max_s

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]
