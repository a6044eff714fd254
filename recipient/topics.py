"""Topic names and partitions: helhet.<municipality>.<agency>, asked of the cluster."""

from __future__ import annotations

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from recipient.errors import BrokerUnavailable


def topic_for(municipality: str, agency: str) -> str:
    """The topic of one recipient agency: helhet.<municipality number>.<agency>."""
    return f"helhet.{municipality}.{agency}"


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
