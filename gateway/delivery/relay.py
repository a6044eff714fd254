"""The relay: publishes outbox rows to Kafka in order per family, re-checking consent just before.

On the broker's acknowledgement it writes a `delivery` entry and deletes the envelope; a message
whose consent no longer holds is stopped with a `withheld` entry. Rows whose fate is unknown
after a crash (published, not yet recorded) are looked up on the topic before any retry, so a
message is never published twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from audit import log as audit_log
from audit.entries import Entry, EntryType, Outcome
from gateway.clock import utcnow
from gateway.config.instance import Instance
from gateway.db import migrate, outbox
from gateway.db.engine import reading, unavailable
from gateway.errors import GatewayError
from gateway.intake.services import Current, Services
from gateway.kafka.broker import memory_only_warning
from gateway.kafka.publisher import OutMessage, Placement, Publisher

log = logging.getLogger("helhet.relay")


@dataclass
class RelayStats:
    delivered: int = 0
    withheld: int = 0
    failed: int = 0
    recovered: int = 0

    rechecked: int = 0  # plan updates decided again before publishing
    skipped: int = 0  # plan updates whose decision provably still held (nothing changed)

    @property
    def worked(self) -> int:
        return self.delivered + self.withheld + self.failed + self.recovered


@dataclass(frozen=True)
class _Claimed:
    id: int
    message_id: str
    kind: str
    family_id: str
    recipient: str
    source: str
    topic: str
    subject: str | None
    categories: list[str]
    purpose: str
    basis: str | None
    payload_sha256: str
    envelope: bytes

    @classmethod
    def of(cls, row: Any) -> _Claimed:
        return cls(
            row.id,
            row.message_id,
            row.kind,
            row.family_id,
            row.recipient,
            row.source,
            row.topic,
            row.subject,
            list(row.categories),
            row.purpose,
            row.basis,
            row.payload_sha256,
            row.envelope,
        )


class Relay:
    """Moves outbox rows to Kafka. Safe to run in several processes on PostgreSQL."""

    def __init__(
        self,
        services: Services,
        publisher: Publisher,
        *,
        batch_size: int | None = None,
        lease_seconds: float | None = None,
        failure_grace_seconds: float | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.services = services
        self.publisher = publisher
        self.batch_size = batch_size or services.settings.relay_batch_size
        self.lease = dt.timedelta(seconds=lease_seconds or services.settings.relay_lease_seconds)
        # After a failed send, a request already on the wire may still land: look on the topic
        # only once the broker's own request timeout (and some slack) has passed.
        grace = failure_grace_seconds
        if grace is None:
            grace = services.settings.kafka_request_timeout_ms / 1000 + 5
        self.failure_grace = dt.timedelta(seconds=grace)
        self.clock = clock
        self.relay_id = uuid.uuid4().hex[:12]
        self._topics_ready = False
        self._warned: str | None = None
        self.last_error: str | None = None
        self.reached_broker = False  # until its first round reaches the broker, not ready

    def readiness(self) -> tuple[bool, str]:
        """(ready, why not): ready once a round has reached the broker and the last one did."""
        if self.last_error is not None:
            return False, self.last_error
        if not self.reached_broker:
            servers = self.services.settings.kafka_bootstrap_servers
            return False, f"has not reached the broker at {servers} yet"
        return True, ""

    @property
    def engine(self) -> sa.Engine:
        return self.services.engine

    # --- one round ------------------------------------------------------------------------

    def ensure_topics(self) -> None:
        if self._topics_ready:
            return
        from schemas import Agency

        settings = self.services.settings
        cluster_id = self.publisher.ensure_topics(
            [settings.topic(a.value) for a in Agency],
            settings.kafka_topic_partitions,
            settings.kafka_replication_factor,
        )
        self._topics_ready = True
        if not self.reached_broker:
            log.info(
                "relay reached the broker at %s; topics helhet.%s.<agency> ready",
                settings.kafka_bootstrap_servers,
                settings.municipality,
            )
        self.reached_broker = True
        warning = memory_only_warning(cluster_id, settings.kafka_bootstrap_servers)
        if warning and settings.environment != "test" and warning != self._warned:
            log.warning("%s", warning)
            self._warned = warning

    def run_once(self) -> RelayStats:
        """Recover in-doubt rows, then claim, re-check, publish and record one batch.

        It looks through the read door first: a round with nothing to do never waits for,
        or holds, the database's writer lock."""
        stats = RelayStats()
        self.ensure_topics()
        with reading(self.engine) as conn:
            pending, expired = outbox.has_work(conn, self.clock())
        if expired:
            stats.recovered += self._recover()  # rows not found on the topic become pending
        claimed = self._claim(stats) if pending or stats.recovered else []
        if claimed:
            messages = [OutMessage(r.message_id, r.topic, r.family_id, r.envelope) for r in claimed]
            try:
                results = self.publisher.publish(messages)
            except GatewayError as exc:  # no producer at all: every message failed
                results = [exc] * len(claimed)
            self._record(claimed, results, stats)
        return stats

    # --- claim and re-check consent -------------------------------------------------------

    def _claim(self, stats: RelayStats) -> list[_Claimed]:
        now = self.clock()
        with self.engine.begin() as conn:
            rows = outbox.pending(conn, self.batch_size)
            if not rows:
                return []
            rows = self._in_family_order(conn, rows)
            current = self.services.refresh(conn)
            publish: list[_Claimed] = []
            stopped: list[tuple[Any, str, str | None, list[str]]] = []
            for row in rows:
                verdict = self._recheck(current, row, now, stats)
                if verdict is None:
                    publish.append(_Claimed.of(row))
                else:
                    stopped.append((row, *verdict))
            if stopped:
                self._withhold(conn, stopped, now)
                stats.withheld += len(stopped)
            if publish:
                outbox.claim(conn, [c.id for c in publish], now, self.lease)
        return publish

    @staticmethod
    def _in_family_order(conn: sa.Connection, rows: Sequence[Any]) -> list[Any]:
        """Keep only rows with no earlier unfinished row of their family outside this claim."""
        claimed = {row.id for row in rows}
        last: dict[str, int] = {}
        for row in rows:
            last[row.family_id] = max(row.id, last.get(row.family_id, row.id))
        allowed: set[int] = set()
        for ids in outbox.unfinished_ids(conn, last).values():
            for row_id in ids:
                if row_id not in claimed:
                    break
                allowed.add(row_id)
        return [row for row in rows if row.id in allowed]

    def _recheck(
        self, current: Current, row: Any, now: dt.datetime, stats: RelayStats
    ) -> tuple[str, str | None, list[str]] | None:
        """None when the row may go; else (reason, basis, categories denied)."""
        if row.kind != "plan_update":
            return None  # withdrawal notices always go out
        registry = current.families
        facts = registry.person_facts(row.subject)
        if facts is not None and self._unchanged(current, row, now, facts):
            stats.skipped += 1
            return None
        stats.rechecked += 1
        enrolled = [
            e for e in registry.enrolments(row.subject, now.date()) if e.family_id == row.family_id
        ]
        if not enrolled:
            return ("not_enrolled", None, list(row.categories))
        if row.recipient not in enrolled[0].team:
            return ("not_in_team", None, list(row.categories))
        assert facts is not None  # enrolled persons have facts
        decisions = self.services.consents.decide_many(
            row.subject, row.source, row.recipient, list(row.categories), row.purpose, now, facts
        )
        denied = [c for c, d in zip(row.categories, decisions, strict=True) if not d.permit]
        if not denied:
            return None
        first = next(d for d in decisions if not d.permit)
        return (first.reason.value, first.basis, denied)

    def _unchanged(self, current: Current, row: Any, now: dt.datetime, facts: Any) -> bool:
        """Whether the intake's decision provably still holds, so deciding again would give
        the same answer: no consent and no family changed since it was made (the change numbers
        it recorded are still the current ones), the day is the same (family periods are
        days), and no consent period or age of self-determination of the subject began or
        ended in between. Rows queued without the numbers are always decided again."""
        if row.consent_seq is None or row.family_seq is None:
            return False
        if row.consent_seq != current.consent_seq or row.family_seq != current.family_seq:
            return False
        queued = _aware(row.created_at)
        if queued.astimezone(dt.UTC).date() != now.astimezone(dt.UTC).date():
            return False
        return self.services.consents.unchanged_between(
            row.subject, row.categories, queued, now, facts
        )

    def _withhold(
        self,
        conn: sa.Connection,
        stopped: list[tuple[Any, str, str | None, list[str]]],
        now: dt.datetime,
    ) -> None:
        entries = [
            Entry(
                event_type=EntryType.WITHHELD,
                source=row.source,
                recipient=row.recipient,
                subject_pseudonym=self.services.pseudonym(row.subject),
                categories=sorted(denied),
                purpose=row.purpose,
                basis=basis or row.basis,
                message_id=row.message_id,
                payload_sha256=row.payload_sha256,
                outcome=Outcome.STOPPED,
                reason=reason,
                client=f"relay:{self.relay_id}",
                family_id=row.family_id,
                details={"disclosure_index": row.disclosure_index},
            )
            for row, reason, basis, denied in stopped
        ]
        audit_log.append(conn, entries, now=now)
        outbox.withhold(conn, [row.id for row, *_ in stopped])

    # --- record the broker's answer -------------------------------------------------------

    def _delivered(
        self,
        conn: sa.Connection,
        rows: list[tuple[Any, Placement]],
        now: dt.datetime,
        *,
        recovered: bool = False,
    ) -> None:
        if not rows:
            return
        entries = [
            Entry(
                event_type=EntryType.DELIVERY,
                source=row.source,
                recipient=row.recipient,
                subject_pseudonym=self.services.pseudonym(row.subject) if row.subject else None,
                categories=sorted(row.categories),
                purpose=row.purpose,
                basis=row.basis,
                message_id=row.message_id,
                payload_sha256=row.payload_sha256,
                outcome=Outcome.DELIVERED,
                client=f"relay:{self.relay_id}",
                family_id=row.family_id,
                details={
                    "topic": placement.topic,
                    "partition": placement.partition,
                    "offset": placement.offset,
                    **({"recovered": True} if recovered else {}),
                },
            )
            for row, placement in rows
        ]
        audit_log.append(conn, entries, now=now)
        outbox.deliver(conn, [(row.id, p.partition, p.offset) for row, p in rows], now)

    def _record(
        self,
        claimed: list[_Claimed],
        results: list[Placement | Exception],
        stats: RelayStats,
    ) -> None:
        now = self.clock()
        done = [(c, r) for c, r in zip(claimed, results, strict=True) if isinstance(r, Placement)]
        failed = [c for c, r in zip(claimed, results, strict=True) if not isinstance(r, Placement)]
        with self.engine.begin() as conn:
            self._delivered(conn, done, now)
            if failed:
                # Unknown fate: recovery looks on the topic before retrying, after the grace.
                outbox.hold(conn, [c.id for c in failed], now + self.failure_grace)
        stats.delivered += len(done)
        stats.failed += len(failed)
        if failed:
            self._topics_ready = False  # a broker that lost its state needs its topics again
            first = next(r for r in results if isinstance(r, Exception))
            self.last_error = str(first)
            log.warning("%d message(s) not acknowledged: %s", len(failed), first)

    # --- recovery of in-doubt rows --------------------------------------------------------

    def _recover(self) -> int:
        """Rows whose lease ran out while in flight: find them on the topic, else retry them.

        Claimed (lease renewed) in one short transaction, looked up on Kafka outside any
        transaction, then settled in another; a crash in between only repeats the look-up.
        """
        now = self.clock()
        with self.engine.begin() as conn:
            rows = outbox.expired_leases(conn, now, self.batch_size)
            if not rows:
                return 0
            by_topic: dict[str, list[Any]] = defaultdict(list)
            for row in rows:
                by_topic[row.topic].append(row)
            # Messages acknowledged and recorded before the first of these was claimed lie
            # before it on the topic: read each partition only past the last of them.
            after = {
                topic: outbox.last_delivered_offsets(
                    conn, topic, min(r.claimed_at for r in topic_rows)
                )
                for topic, topic_rows in by_topic.items()
            }
            outbox.extend(conn, [r.id for r in rows], now + self.lease)
        found: dict[str, Placement] = {}
        for topic, topic_rows in by_topic.items():
            found.update(
                self.publisher.find(topic, {r.message_id for r in topic_rows}, after[topic])
            )
        settled = self.clock()
        with self.engine.begin() as conn:
            still = outbox.in_flight(conn, [r.id for r in rows])
            on_topic = [(row, found[row.message_id]) for row in still if row.message_id in found]
            self._delivered(conn, on_topic, settled, recovered=True)
            retry = [row.id for row in still if row.message_id not in found]
            if retry:
                outbox.release(conn, retry)
        if on_topic:
            log.info("recovered %d message(s) already on the topic", len(on_topic))
        return len(rows)

    # --- loop -----------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        *,
        idle_sleep: float | None = None,
        drain_seconds: float | None = None,
    ) -> None:
        """Relay until `stop` is set, backing off (up to 30 s) while the broker or the database
        is unavailable; then drain what is waiting for at most `drain_seconds` (default: the
        relay_drain_seconds setting) and close the producer."""
        settings = self.services.settings
        idle = idle_sleep if idle_sleep is not None else settings.relay_poll_interval
        backoff = 0.0
        while not stop.is_set():
            try:
                stats = self.run_once()
                if stats.failed:
                    backoff = min(30.0, max(0.5, backoff * 2))
                else:
                    backoff = 0.0
                    self.last_error = None
                if backoff:
                    stop.wait(backoff)
                elif stats.worked == 0:
                    stop.wait(idle)
            except (GatewayError, sa.exc.SQLAlchemyError) as exc:
                problem = _retriable(exc)
                self.last_error = str(problem)
                backoff = min(30.0, max(0.5, backoff * 2))
                log.warning("%s (retrying in %.1f s)", problem, backoff)
                stop.wait(backoff)
        self.finish(settings.relay_drain_seconds if drain_seconds is None else drain_seconds)

    def finish(self, seconds: float) -> RelayStats:
        """After a stop: publish what is waiting for at most `seconds` (rounds already begun
        end within the broker's request timeout), stopping at once when nothing is waiting or
        a round fails; then close the producer."""
        total = RelayStats()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                stats = self.run_once()
                for name in ("delivered", "withheld", "failed", "recovered"):
                    setattr(total, name, getattr(total, name) + getattr(stats, name))
                if stats.worked == 0 or stats.failed:
                    break
        except (GatewayError, sa.exc.SQLAlchemyError) as exc:
            log.warning("stopped draining: %s", _retriable(exc))
        finally:
            self.publisher.close()
        if total.worked:
            log.info(
                "drained %d message(s) before stopping (%d withheld, %d failed)",
                total.delivered + total.recovered,
                total.withheld,
                total.failed,
            )
        return total


def _aware(when: dt.datetime) -> dt.datetime:
    """SQLite gives back naive UTC datetimes; PostgreSQL aware ones."""
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _retriable(exc: Exception) -> GatewayError:
    """A GatewayError as it is; a lost database connection as DatabaseUnavailable; anything
    else is a bug and is raised."""
    if isinstance(exc, GatewayError):
        return exc
    mapped = unavailable(exc)
    if mapped is None:
        raise exc
    return mapped


class RelayThread:
    """The relay inside `helhet serve`: a daemon thread with a stop event."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=relay.run, args=(self.stop_event,), daemon=True, name="helhet-relay"
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop and wait for the drain (relay_drain_seconds plus one broker round at most)."""
        if timeout is None:
            settings = self.relay.services.settings
            timeout = settings.relay_drain_seconds + settings.kafka_request_timeout_ms / 1000 + 5
        self.stop_event.set()
        self.thread.join(timeout)


def _standalone(instance: Instance) -> Relay:
    from gateway.kafka.publisher import KafkaPublisher

    migrate.check_current(instance.engine)
    services = Services(instance)
    services.load()
    return Relay(
        services,
        KafkaPublisher(
            instance.settings.kafka_bootstrap_servers,
            request_timeout_ms=instance.settings.kafka_request_timeout_ms,
        ),
    )


def drain(instance: Instance) -> int:
    """`helhet relay --once`: publish what is waiting (until a round fails); the count delivered."""
    relay = _standalone(instance)
    total = 0
    try:
        while True:
            stats = relay.run_once()
            total += stats.delivered
            if stats.worked == 0 or stats.failed:
                return total
    finally:
        relay.publisher.close()


def run_until_signalled(instance: Instance) -> None:
    """`helhet relay`: relay until SIGTERM or SIGINT, then drain for at most
    relay_drain_seconds (a second signal stops the drain at once)."""
    relay = _standalone(instance)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # asked twice: no more draining
        log.info(
            "%s received: draining for at most %.0f s",
            signal.Signals(signum).name,
            instance.settings.relay_drain_seconds,
        )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    relay.run(stop)
