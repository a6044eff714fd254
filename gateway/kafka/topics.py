"""Read a topic from given offsets up to its end at the time of the call (no consumer group).

The relay's crash recovery, `helhet audit reconcile` and the tests all read topics this way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from gateway.errors import BrokerUnavailable
from recipient import topics as recipient_topics
from recipient.errors import BrokerUnavailable as RecipientBrokerUnavailable


@dataclass(frozen=True, slots=True)
class TopicRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def topic_partitions(bootstrap_servers: str, topic: str, request_timeout_ms: int) -> set[int]:
    """The topic's partitions (empty: no such topic); see recipient.topics."""
    try:
        return recipient_topics.topic_partitions(bootstrap_servers, topic, request_timeout_ms)
    except RecipientBrokerUnavailable as exc:
        raise BrokerUnavailable(str(exc)) from exc


def cluster_id(bootstrap_servers: str, request_timeout_ms: int = 10000) -> str | None:
    """The cluster's id as the broker reports it; None when it cannot be asked."""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=request_timeout_ms,
            bootstrap_timeout_ms=request_timeout_ms,
        )
    except KafkaError:
        return None
    try:
        found = admin.describe_cluster().get("cluster_id")
    except KafkaError:
        return None
    finally:
        admin.close()
    return found if isinstance(found, str) else None


def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    after: Mapping[int, int] | None = None,
    timeout_s: float = 60.0,
    request_timeout_ms: int = 20000,
) -> Iterator[TopicRecord]:
    """Every record of every partition of `topic` past `after[partition]` (default: from the
    beginning) up to the partition's end offset when reading started."""
    partitions = topic_partitions(bootstrap_servers, topic, request_timeout_ms)
    if not partitions:
        return
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            request_timeout_ms=request_timeout_ms,
            bootstrap_timeout_ms=request_timeout_ms,
        )
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc
    try:
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        ends = consumer.end_offsets(assigned)
        for tp in assigned:
            consumer.seek(tp, (after or {}).get(tp.partition, -1) + 1)
        deadline = time.monotonic() + timeout_s
        while not all(consumer.position(tp) >= ends[tp] for tp in assigned):
            if time.monotonic() > deadline:
                raise BrokerUnavailable(f"reading {topic} did not finish in {timeout_s} s")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for record in batch:
                    yield TopicRecord(
                        tp.partition,
                        record.offset,
                        record.key,
                        record.value or b"",
                        dict(record.headers or []),
                    )
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot read {topic}: {exc}") from exc
    finally:
        consumer.close()
