"""Operator metrics in the Prometheus text format (GET /metrics, operator role).

Counters live in the process; gauges (outbox backlog, log size, consents) are read on scrape.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa

from audit import log as audit_log
from gateway.db import outbox

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Thread-safe labelled counters of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[tuple[tuple[str, str], ...]]] = {}
        self._help: dict[str, str] = {}

    def inc(self, name: str, help_text: str, amount: int = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help.setdefault(name, help_text)
            self._counters.setdefault(name, Counter())[key] += amount

    def value(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._counters.get(name, Counter())[tuple(sorted(labels.items()))]

    def render_counters(self) -> list[str]:
        with self._lock:
            lines: list[str] = []
            for name in sorted(self._counters):
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} counter"]
                for labels, count in sorted(self._counters[name].items()):
                    lines.append(f"{name}{_labels(labels)} {count}")
            return lines


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    items = [
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in pairs
    ]
    return "{" + ",".join(items) + "}" if items else ""


def _gauge(name: str, help_text: str, values: list[tuple[dict[str, str], float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{_labels(sorted(labels.items()))} {value:g}" for labels, value in values]
    return lines


def render(
    metrics: Metrics,
    conn: sa.Connection,
    *,
    consents: int,
    relay_error: str | None,
    relay_running: bool,
) -> str:
    backlog = outbox.backlog(conn)
    lines = metrics.render_counters()
    lines += _gauge(
        "helhet_outbox_messages",
        "Messages in the outbox by status (pending, in_flight, delivered, withheld) and recipient",
        [({"status": s, "recipient": r}, float(n)) for s, r, n in backlog],
    )
    lines += _gauge(
        "helhet_disclosure_log_entries",
        "Entries in the disclosure log",
        [({}, float(audit_log.tree_size(conn)))],
    )
    lines += _gauge(
        "helhet_consents", "Consents in this process's decision index", [({}, float(consents))]
    )
    lines += _gauge(
        "helhet_relay_up",
        "1 when this process's relay runs and its last round reached the broker",
        [({}, 1.0 if relay_running and relay_error is None else 0.0)],
    )
    return "\n".join(lines) + "\n"
