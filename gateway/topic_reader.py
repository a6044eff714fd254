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


@dataclass(frozen=True, slots=True)
class TopicRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def topic_partitions(bootstrap_servers: str, topic: str, request_timeout_ms: int) -> set[int]:
    """The topic's partitions, asked of the cluster with a timeout (empty: no such topic).

    Not KafkaConsumer.partitions_for_topic: in kafka-python it may answer None for a topic that
    exists (a cancelled metadata refresh) or wait without a time limit.
    """
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=request_timeout_ms,
            bootstrap_timeout_ms=request_timeout_ms,
        )
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc
    try:
        described = admin.describe_topics([topic])
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot describe {topic}: {exc}") from exc
    finally:
        admin.close()
    return {
        int(partition["partition_index"])
        for entry in described
        if entry.get("name") == topic and entry.get("error_code") == 0
        for partition in entry.get("partitions", [])
    }


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
