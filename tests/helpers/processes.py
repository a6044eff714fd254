"""Real helhet processes for the fault suite: `helhet serve` and `helhet relay` as subprocesses
(started, signalled and killed by PID), agency systems posting batches from several threads and
re-posting what failed, and counting what reached the topics.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from gateway.config.instance import Instance
from gateway.delivery.reconcile import topic_messages
from gateway.kafka.broker import free_port
from schemas import Agency
from tests.helpers.intake import consent, enrol, person
from tests.helpers.records import nav_card

PROCESS_DEADLINE_S = 60.0  # start-up, shutdown and draining in these tests take seconds


class HelhetProcess:
    """One `helhet …` subprocess of an instance; its output goes to a log file."""

    def __init__(
        self, config: Path, args: list[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.args = args
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in wait()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *args],
            env={**os.environ, "HELHET_CONFIG": str(config), **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text("utf-8", errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float = PROCESS_DEADLINE_S) -> int:
        """The exit code (negative: the signal that ended it)."""
        try:
            return self.popen.wait(timeout)
        finally:
            if self.popen.poll() is not None:
                self._log.close()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        if self.alive():
            self.signal(signal.SIGKILL)
        self.wait()

    def stop(self) -> int:
        """SIGTERM, as a supervisor does; the exit code."""
        if self.alive():
            self.signal(signal.SIGTERM)
        return self.wait()


def serve(
    config: Path, log_path: Path, *, port: int | None = None, env: dict[str, str] | None = None
) -> tuple[HelhetProcess, str]:
    """`helhet serve` on a port of its own; returns once /healthz answers: (process, base URL)."""
    port = port or free_port()
    process = HelhetProcess(config, ["serve", "--port", str(port)], log_path, env)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _healthy(base), f"helhet serve on {base}", process)
    return process, base


def relay(
    config: Path, log_path: Path, *args: str, env: dict[str, str] | None = None
) -> HelhetProcess:
    return HelhetProcess(config, ["relay", *args], log_path, env)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(
    condition: object, what: str, process: HelhetProcess | None = None, timeout: float = 60
) -> None:
    """Poll `condition()` (a callable) until true; fail naming `what`, with the process's log."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and not process.alive():
            raise AssertionError(f"{what}: the process exited\n{process.output()[-3000:]}")
        if time.monotonic() > deadline:
            log = process.output()[-3000:] if process is not None else ""
            raise AssertionError(f"{what}: not within {timeout} s\n{log}")
        time.sleep(0.05)


# --- agency systems -------------------------------------------------------------------------


def young_people_sharing(instance: Instance, count: int) -> list[str]:
    """`count` families of one 19-year-old each (team nav, school, health) who consent to NAV
    sharing `employment` with the school only: every NAV card goes to school, health is refused.
    """
    from gateway.intake.services import Services

    services = Services(instance)
    services.load()
    people: list[str] = []
    while len(people) < count:
        number, born = person(19)
        if number in people:
            continue  # a person in two families would be sent each record twice
        enrol(
            services,
            [{"id": number, "role": "child", "birth_date": born.isoformat()}],
            ["nav", "school", "health"],
        )
        consent(services, number, sources=["nav"], recipients=["school"], categories=["employment"])
        people.append(number)
    return people


def card_batches(people: list[str], records: int, per_batch: int) -> list[bytes]:
    """`records` different NAV cards about `people` in NDJSON bodies of `per_batch` each."""
    cards = [
        nav_card(people[n % len(people)], f"0e9d8c7b-6a5f-4e3d-8c2b-{n:012d}")
        for n in range(records)
    ]
    return [b"\n".join(cards[i : i + per_batch]) for i in range(0, records, per_batch)]


@dataclass
class PostStats:
    """What the agency systems saw: batches and records accepted, answers by status, retries."""

    batches: int = 0
    records: int = 0
    accepted_batches: int = 0
    accepted_records: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    unexpected: list[str] = field(default_factory=list)  # answers no retry should follow


class Poster:
    """Agency systems posting NDJSON batches from several threads, as a real one does after a
    time-out or a refused connection: the same batch again, without an Idempotency-Key, until
    it is answered 202. A 503 must carry Retry-After; any other answer is recorded as
    unexpected and the batch is not posted again."""

    def __init__(
        self,
        bases: list[str],
        token: str,
        batches: list[bytes],
        *,
        threads: int = 4,
        fresh_connections: bool = False,
    ) -> None:
        self.bases = bases
        self.fresh_connections = fresh_connections  # a new connection for every request
        self.token = token
        self.stats = PostStats(batches=len(batches))
        self.stats.records = sum(len(b.split(b"\n")) for b in batches)
        self._queue = list(enumerate(batches))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def start(self) -> Poster:
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout: float = 300) -> PostStats:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        assert not any(t.is_alive() for t in self._threads), "the posters did not finish"
        return self.stats

    def _next(self) -> tuple[int, bytes] | None:
        with self._lock:
            return self._queue.pop(0) if self._queue else None

    def _count(self, **changes: int) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def _run(self, number: int) -> None:
        base = self.bases[number % len(self.bases)]
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/x-ndjson"}
        if self.fresh_connections:
            headers["Connection"] = "close"
        with httpx.Client(base_url=base, headers=headers, timeout=20) as client:
            while (item := self._next()) is not None:
                _, body = item
                self._post_until_answered(client, body)

    def _post_until_answered(self, client: httpx.Client, body: bytes) -> None:
        attempts = 0
        while not self._stop.is_set():
            if attempts:
                self._count(retries=1)
            attempts += 1
            try:
                response = client.post("/v1/records/nav", content=body)
            except httpx.HTTPError as exc:  # the server died, or is not back yet
                with self._lock:
                    self.stats.statuses[type(exc).__name__] += 1
                time.sleep(0.1)
                continue
            with self._lock:
                self.stats.statuses[str(response.status_code)] += 1
            if response.status_code == 202:
                self._count(accepted_batches=1, accepted_records=len(body.split(b"\n")))
                return
            if response.status_code == 503 and "retry-after" in response.headers:
                assert response.headers["content-type"] == "application/problem+json"
                time.sleep(min(float(response.headers["retry-after"]), 0.5))
                continue
            with self._lock:
                self.stats.unexpected.append(f"{response.status_code}: {response.text[:300]}")
            return


# --- what reached the topics ---------------------------------------------------------------


def topic_counts(bootstrap_servers: str, topics: Iterable[str]) -> Counter[str]:
    """How often each message id is on the topics."""
    return Counter(
        m.message_id or "?" for topic in topics for m in topic_messages(bootstrap_servers, topic)
    )


def outbox_count(instance: Instance, *statuses: str) -> int:
    """Outbox rows in `statuses` (default: waiting, i.e. pending or in flight)."""
    import sqlalchemy as sa

    from gateway.db.tables import outbox

    with instance.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.status.in_(statuses or ("pending", "in_flight")))
            ).scalar_one()
        )


def all_topics(instance: Instance) -> list[str]:
    return [instance.settings.topic(a.value) for a in Agency]


def outcome(instance: Instance, stats: PostStats, *, expected: int) -> dict[str, object]:
    """The fault's counts: what was posted and accepted, what is on the topics (each accepted
    NAV card should be one message to the school), and whether the log verifies and the topics
    reconcile with it."""
    from audit import verify_log
    from gateway.delivery.reconcile import reconcile

    topics = all_topics(instance)
    counts = topic_counts(instance.settings.kafka_bootstrap_servers, topics)
    waiting = outbox_count(instance)
    with instance.engine.connect() as conn:
        verified = verify_log(conn, instance.signing_key.public_key(), instance.origin, [])
        report = reconcile(conn, instance.settings.kafka_bootstrap_servers, topics)
    return {
        "posted": stats.records,
        "accepted": stats.accepted_records,
        "retried_batches": stats.retries,
        "answers": dict(sorted(stats.statuses.items())),
        "delivered": len(counts),
        "duplicates": sum(n - 1 for n in counts.values()),
        "missing": max(0, expected - len(counts)),
        "extra": max(0, len(counts) - expected),
        "still_waiting": int(waiting),
        "log_verified": verified.ok,
        "reconcile_clean": report.clean,
    }


EXACTLY_ONCE = {"duplicates": 0, "missing": 0, "extra": 0, "still_waiting": 0}


def assert_exactly_once(counts: dict[str, object]) -> None:
    """Every accepted record delivered once, the log intact, the topics matching it."""
    assert {k: counts[k] for k in EXACTLY_ONCE} == EXACTLY_ONCE, counts
    assert counts["accepted"] == counts["posted"], counts
    assert counts["log_verified"] and counts["reconcile_clean"], counts
