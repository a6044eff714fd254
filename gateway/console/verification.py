"""Verifying the whole log from the console: one run at a time in a background thread, with its
progress (entries checked of the log's size) and the last result kept for the status page.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, replace

from audit import log as audit_log
from audit.verify import verify_log
from gateway.clock import utcnow
from gateway.config.instance import Instance
from gateway.db.engine import reading

log = logging.getLogger("helhet.console")


@dataclass(frozen=True)
class Verification:
    """One run: who started it, how far it got and, once finished, what it found."""

    started_by: str
    started_at: dt.datetime
    total: int
    checked: int = 0
    finished_at: dt.datetime | None = None
    ok: bool | None = None
    entries: int = 0
    checkpoints_checked: int = 0
    problems: tuple[str, ...] = ()
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if not self.running else 0
        return min(100, self.checked * 100 // self.total)

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "checked": self.checked,
            "total": self.total,
            "percent": self.percent,
            "ok": self.ok,
            "entries": self.entries,
            "problems": len(self.problems),
        }


class Verifier:
    """Starts `verify_log` on demand; `current` is the run in progress or the last one."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self._lock = threading.Lock()
        self._current: Verification | None = None
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Verification | None:
        return self._current

    def start(self, by: str) -> Verification:
        """Start a run unless one is running; return the run (the new one or the running one)."""
        with self._lock:
            if self._current is not None and self._current.running:
                return self._current
            with reading(self.instance.engine) as conn:
                total = audit_log.tree_size(conn)
            self._current = Verification(started_by=by, started_at=utcnow(), total=total)
            self._thread = threading.Thread(
                target=self._run, name="helhet-console-verify", daemon=True
            )
            self._thread.start()
            return self._current

    def wait(self, timeout: float | None = None) -> Verification | None:
        """Block until the run in progress (if any) has finished; for the CLI and tests."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._current

    def _progress(self, checked: int) -> None:
        current = self._current
        if current is not None:
            self._current = replace(current, checked=checked)

    def _run(self) -> None:
        instance = self.instance
        try:
            with reading(instance.engine) as conn:
                report = verify_log(
                    conn,
                    instance.signing_key.public_key(),
                    instance.origin,
                    progress=self._progress,
                )
        except Exception as exc:  # the page shows that the run failed; the log has the trace
            log.exception("log verification failed to run")
            self._finish(ok=False, error=f"{type(exc).__name__}: {exc}")
            return
        self._finish(
            ok=report.ok,
            entries=report.entries,
            checkpoints_checked=report.checkpoints_checked,
            problems=tuple(f"[{p.kind}] {p.message}" for p in report.problems[:20]),
        )

    def _finish(self, **result: object) -> None:
        current = self._current
        assert current is not None
        self._current = replace(current, finished_at=utcnow(), **result)  # type: ignore[arg-type]
