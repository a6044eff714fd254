"""The broker fixture gives a real Kafka-protocol broker: produce and consume with kafka-python."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic


def test_produce_and_consume(kafka_bootstrap: str, topic_name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic_name, num_partitions=2, replication_factor=1)])
        assert topic_name in admin.list_topics()
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    sent = {}
    for i in range(10):
        meta = producer.send(topic_name, key=f"family-{i % 3}".encode(), value=f"m{i}".encode())
        record = meta.get(timeout=30)
        sent[f"m{i}"] = (record.partition, record.offset)
    producer.close()
    consumer = KafkaConsumer(
        topic_name,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{topic_name}-reader",
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        consumer_timeout_ms=15000,
    )
    received = {}
    for message in consumer:
        received[message.value.decode()] = (message.partition, message.offset)
        if len(received) == len(sent):
            break
    consumer.close()
    assert received == sent
