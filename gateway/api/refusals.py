"""Refused accesses in the log, aggregated: the first refusal of a kind from a source in a
window is an entry at once; repeats in that window are counted and logged as ONE entry when the
window ends (or the process stops). Anyone without a token can no longer grow the log at will.

A kind is (client, address, method, route, status, reason): a different route, reason or
address is a new kind, so the log still shows every distinct attempt and how often it came.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import JsonValue

from audit import log as audit_log
from audit.entries import Entry, EntryType, format_time
from gateway.clock import utcnow

log = logging.getLogger("helhet.access")
DENIED = "denied"

Kind = tuple[str, str, str, str, int, str]  # client, address, method, route, status, reason


@dataclass
class _Window:
    opened: float  # monotonic
    opened_at: dt.datetime
    details: dict[str, JsonValue]
    repeats: int = 0


class RefusalLog:
    """Writes refused accesses as `access` entries (outcome denied), aggregated per window."""

    def __init__(
        self,
        engine: sa.Engine,
        window_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.window = window_seconds
        self._clock = clock
        self._now = now
        self._windows: dict[Kind, _Window] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refused(
        self, *, client: str, reason: str, details: dict[str, JsonValue], role: str | None = None
    ) -> None:
        """One refusal: an entry now if it opens a window of its kind, else counted."""
        kind: Kind = (
            client,
            str(details.get("remote", "")),
            str(details.get("method", "")),
            str(details.get("route", "")),
            int(details.get("status", 0)),  # type: ignore[arg-type]
            reason,
        )
        now = self._clock()
        with self._lock:
            window = self._windows.get(kind)
            if window is not None and now - window.opened < self.window:
                window.repeats += 1
                return
            if window is not None:
                self._write_repeats(kind, window)
            self._windows[kind] = _Window(now, self._now(), details)
        self._write(
            Entry(
                event_type=EntryType.ACCESS,
                outcome=DENIED,
                reason=reason,
                client=client,
                details=details,
            )
        )

    def flush(self, *, everything: bool = False) -> int:
        """Log the repeats of every window that has ended (all of them with `everything`);
        returns the number of entries written."""
        now = self._clock()
        with self._lock:
            ended = [
                (kind, window)
                for kind, window in self._windows.items()
                if everything or now - window.opened >= self.window
            ]
            for kind, _ in ended:
                del self._windows[kind]
        written = 0
        for kind, window in ended:
            written += self._write_repeats(kind, window)
        return written

    def _write_repeats(self, kind: Kind, window: _Window) -> int:
        if window.repeats == 0:
            return 0
        details = {
            **window.details,
            "repeated": window.repeats,
            "since": format_time(window.opened_at),
            "until": format_time(self._now()),
        }
        self._write(
            Entry(
                event_type=EntryType.ACCESS,
                outcome=DENIED,
                reason=kind[5],
                client=kind[0],
                details=details,
            )
        )
        return 1

    def _write(self, entry: Entry) -> None:
        """Append and commit; a failure is logged and swallowed (the refusal stands anyway,
        and an unwritable log must not turn a 401 into a 500)."""
        try:
            with self.engine.begin() as conn:
                audit_log.append(conn, [entry], now=utcnow())
        except Exception:
            log.exception("could not log a refused access (%s)", entry.reason)

    # --- the flusher: windows that ended are logged even when no refusal follows -----------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="helhet-refusals")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(min(self.window, 5.0)):
            self.flush()

    def stop(self) -> None:
        """Stop the flusher and log every open window's repeats."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush(everything=True)
