"""Publishing sealed messages to Kafka (kafka-python, acks=all, idempotent) and finding them again.

An interface so the relay's retry logic can be tested with a failing fake; everything end to end
uses KafkaPublisher against a real broker.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from gateway.errors import BrokerUnavailable
from gateway.kafka.topics import read_topic

log = logging.getLogger("helhet.publisher")
MESSAGE_ID_HEADER = "helhet-message-id"


@dataclass(frozen=True, slots=True)
class OutMessage:
    message_id: str
    topic: str
    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the broker stored a message."""

    topic: str
    partition: int
    offset: int


class Publisher(Protocol):
    def publish(self, messages: Sequence[OutMessage]) -> list[Placement | Exception]:
        """Send in order; one result per message: its placement, or why it failed."""

    def find(
        self, topic: str, message_ids: set[str], after: Mapping[int, int]
    ) -> dict[str, Placement]:
        """Which of `message_ids` are already on `topic` (reading partitions past `after`)."""

    def ensure_topics(self, topics: Iterable[str], partitions: int, replication: int) -> str | None:
        """Create the topics that do not exist; return the cluster's id (None if unknown)."""

    def close(self) -> None: ...


def probe(bootstrap_servers: str, timeout: float = 1.0) -> None:
    """Raise BrokerUnavailable unless some bootstrap server accepts a TCP connection.

    kafka-python waits its whole bootstrap timeout (15 s by default) for a broker that is down;
    this notices in a second, so a relay waiting for the broker stops promptly when asked.
    """
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        with contextlib.suppress(OSError, ValueError):
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
            return
    raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap_servers}: no server answers")


class KafkaPublisher:
    """The real publisher: one idempotent producer, created lazily, recreated after failures."""

    def __init__(self, bootstrap_servers: str, *, request_timeout_ms: int = 15000) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.request_timeout_ms = request_timeout_ms
        self._producer: KafkaProducer | None = None

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            probe(self.bootstrap_servers)
            try:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=5,
                    max_in_flight_requests_per_connection=5,
                    request_timeout_ms=self.request_timeout_ms,
                    max_block_ms=self.request_timeout_ms,
                    bootstrap_timeout_ms=self.request_timeout_ms,
                    retries=5,
                )
            except KafkaError as exc:
                raise BrokerUnavailable(
                    f"cannot reach Kafka at {self.bootstrap_servers}: {exc}"
                ) from exc
        return self._producer

    def publish(self, messages: Sequence[OutMessage]) -> list[Placement | Exception]:
        producer = self._get_producer()
        futures = []
        results: list[Placement | Exception] = []
        deadline = time.monotonic() + self.request_timeout_ms / 1000
        try:
            for message in messages:
                futures.append(
                    producer.send(
                        message.topic,
                        key=message.key.encode(),
                        value=message.value,
                        headers=[(MESSAGE_ID_HEADER, message.message_id.encode())],
                    )
                )
            producer.flush(timeout=self.request_timeout_ms / 1000)
        except KafkaError as exc:
            log.warning("publishing failed: %s", exc)
        for future in futures:
            try:
                meta = future.get(timeout=max(0.0, deadline - time.monotonic()))
                results.append(Placement(meta.topic, meta.partition, meta.offset))
            except Exception as exc:
                results.append(exc)
        results.extend(BrokerUnavailable("not sent") for _ in range(len(messages) - len(results)))
        if any(isinstance(r, Exception) for r in results):
            self._reset()
        return results

    def _reset(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):  # a broken producer is discarded anyway
                self._producer.close(timeout=2)
            self._producer = None

    def find(
        self, topic: str, message_ids: set[str], after: Mapping[int, int]
    ) -> dict[str, Placement]:
        if not message_ids:
            return {}
        found: dict[str, Placement] = {}
        for record in read_topic(
            self.bootstrap_servers,
            topic,
            after=after,
            request_timeout_ms=self.request_timeout_ms + 5000,
        ):
            raw = record.headers.get(MESSAGE_ID_HEADER)
            if raw is not None and raw.decode() in message_ids:
                found[raw.decode()] = Placement(topic, record.partition, record.offset)
        return found

    def ensure_topics(self, topics: Iterable[str], partitions: int, replication: int) -> str | None:
        probe(self.bootstrap_servers)
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers,
                request_timeout_ms=self.request_timeout_ms,
                bootstrap_timeout_ms=self.request_timeout_ms,
            )
        except KafkaError as exc:
            raise BrokerUnavailable(
                f"cannot reach Kafka at {self.bootstrap_servers}: {exc}"
            ) from exc
        try:
            existing = set(admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):  # another process won
                    admin.create_topics(
                        [
                            NewTopic(t, num_partitions=partitions, replication_factor=replication)
                            for t in missing
                        ]
                    )
            cluster_id = admin.describe_cluster().get("cluster_id")
        except KafkaError as exc:
            raise BrokerUnavailable(f"cannot create topics: {exc}") from exc
        finally:
            admin.close()
        return cluster_id if isinstance(cluster_id, str) else None

    def close(self) -> None:
        self._reset()
