"""The agency-side receiver: consumes a helhet topic, verifies and decrypts every envelope.

Yields one ReceivedMessage per record (data or an error, never a silent skip), dedupes by
message_id within the process and commits offsets only after a record was processed.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from recipient.errors import BrokerUnavailable, EnvelopeError, MalformedEnvelope
from recipient.opening import EnvelopeOpener, OpenedMessage
from recipient.topics import topic_partitions

log = logging.getLogger(__name__)

# Consumer-group joins on the bundled broker take ~23 s with kafka-python's defaults (DESIGN §8).
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 1000
DEDUPE_WINDOW = 100_000


@dataclass(frozen=True)
class ReceivedMessage:
    """One Kafka record: either `message` (verified, decrypted) or `error` (why it was refused)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    message: OpenedMessage | None = None
    error: EnvelopeError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ReceiverStats:
    delivered: int = 0
    errors: int = 0
    duplicates: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Receiver:
    """Consume one agency topic and open its envelopes (see docs/integration.md)."""

    def __init__(
        self,
        bootstrap_servers: str | list[str],
        topic: str,
        private_key: X25519PrivateKey | Sequence[X25519PrivateKey],
        gateway_public_keys: Ed25519PublicKey | Iterable[Ed25519PublicKey],
        group_id: str | None = None,
        from_beginning: bool = False,
        *,
        expected_recipient: str | None = None,
        expected_municipality: str | None = None,
        client_id: str = "helhet-receiver",
        consumer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self._bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.opener = EnvelopeOpener(
            private_key,
            gateway_public_keys,
            expected_recipient=expected_recipient,
            expected_municipality=expected_municipality,
        )
        self.stats = ReceiverStats()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._pending: dict[TopicPartition, int] = {}
        config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "group_id": group_id,
            "client_id": client_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest" if from_beginning else "latest",
            "session_timeout_ms": SESSION_TIMEOUT_MS,
            "heartbeat_interval_ms": HEARTBEAT_INTERVAL_MS,
        }
        config.update(consumer_config or {})
        try:
            self._consumer = KafkaConsumer(**config)
        except KafkaError as exc:
            raise BrokerUnavailable(f"cannot connect to {bootstrap_servers}: {exc}") from exc
        self._assigned = False
        if group_id is not None:
            self._consumer.subscribe([topic])
            self._assigned = True

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _assign(self) -> bool:
        """Without a group: take every partition of the topic once the topic exists."""
        if self._assigned:
            return True
        bootstrap = self._bootstrap_servers
        servers = bootstrap if isinstance(bootstrap, str) else ",".join(bootstrap)
        partitions = topic_partitions(servers, self.topic, 20000)
        if not partitions:
            return False
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(partitions)])
        self._assigned = True
        return True

    def iter_messages(
        self, timeout_s: float | None = 10.0, *, max_messages: int | None = None
    ) -> Iterator[ReceivedMessage]:
        """Yield records as they arrive; stop after `timeout_s` seconds without a new record
        (None: never) or after `max_messages` records (data and errors both count).

        A record's offset is committed once the caller asks for the next item (or the iteration
        ends), so a record the caller did not finish is read again after a restart.
        """
        yielded = 0
        idle_since = time.monotonic()
        try:
            while max_messages is None or yielded < max_messages:
                if timeout_s is not None and time.monotonic() - idle_since >= timeout_s:
                    return
                if not self._assign():
                    time.sleep(0.2)
                    continue
                wait = (
                    1.0
                    if timeout_s is None
                    else max(0.0, timeout_s - (time.monotonic() - idle_since))
                )
                try:
                    batches = self._consumer.poll(timeout_ms=int(min(wait, 1.0) * 1000))
                except KafkaError as exc:
                    raise BrokerUnavailable(f"consuming {self.topic} failed: {exc}") from exc
                for tp, records in batches.items():
                    for record in records:
                        item = self._process(record)
                        if item is not None:
                            yielded += 1
                            yield item
                        self._pending[tp] = record.offset + 1
                        idle_since = time.monotonic()
                        if max_messages is not None and yielded >= max_messages:
                            return
                self._commit()
        finally:
            self._commit()

    def _process(self, record: Any) -> ReceivedMessage | None:
        where = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key,
        }
        try:
            if record.value is None:
                raise MalformedEnvelope("the record has no value")
            opened = self.opener.open(record.value)
            if record.key != opened.family_id.encode("utf-8"):
                raise MalformedEnvelope("the record key is not the envelope's family_id")
        except EnvelopeError as exc:
            self.stats.errors += 1
            log.warning(
                "refused record %s[%s]@%s: %s", record.topic, record.partition, record.offset, exc
            )
            return ReceivedMessage(**where, error=exc)
        if opened.message_id in self._seen:
            self.stats.duplicates += 1
            log.info("duplicate message %s at offset %s", opened.message_id, record.offset)
            return None
        self._seen[opened.message_id] = None
        if len(self._seen) > DEDUPE_WINDOW:
            self._seen.popitem(last=False)
        self.stats.delivered += 1
        self.stats.by_kind[opened.kind] = self.stats.by_kind.get(opened.kind, 0) + 1
        return ReceivedMessage(**where, message=opened)

    def _commit(self) -> None:
        if not self._pending or self.group_id is None:
            self._pending.clear()
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in self._pending.items()}
        try:
            self._consumer.commit(offsets)
        except KafkaError as exc:
            raise BrokerUnavailable(f"committing offsets on {self.topic} failed: {exc}") from exc
        self._pending.clear()

    def close(self) -> None:
        try:
            self._commit()
        finally:
            self._consumer.close(autocommit=False)
