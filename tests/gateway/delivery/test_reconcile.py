"""The causes reconcile names for the patterns of a mismatch (likely_causes)."""

from __future__ import annotations

from gateway.delivery.reconcile import ReconcileReport, TopicMessage, likely_causes
from gateway.kafka.broker import BUNDLED_CLUSTER_ID, memory_only_warning

MEMORY = memory_only_warning(BUNDLED_CLUSTER_ID, "127.0.0.1:9092")


def _missing(*indexes: int) -> list[dict[str, object]]:
    return [{"message_id": f"m{i}", "index": i} for i in indexes]


def test_every_delivery_missing_names_a_broker_that_lost_its_data() -> None:
    report = ReconcileReport(deliveries=3, missing=_missing(1, 3, 5))
    causes = likely_causes(report, MEMORY)
    assert causes[0].startswith("every one of the 3 recorded deliveries is missing")
    assert causes[1] == MEMORY and "memory only" in causes[1]
    assert likely_causes(report, None) == causes[:1]  # a real broker: no bundled-broker note


def test_the_earliest_deliveries_missing_name_a_loss_or_retention() -> None:
    report = ReconcileReport(deliveries=4, missing=_missing(1, 3), first_present=7)
    assert "are the earliest ones (up to entry 3)" in likely_causes(report, None)[0]


def test_scattered_missing_deliveries_name_no_cause() -> None:
    report = ReconcileReport(deliveries=4, missing=_missing(1, 9), first_present=5)
    assert likely_causes(report, None) == []


def test_messages_beyond_the_log_name_a_restored_backup() -> None:
    beyond = TopicMessage("t", 0, 7, "m", "h", disclosure_index=12)
    within = TopicMessage("t", 0, 8, "n", "h", disclosure_index=3)  # a forged one, say
    report = ReconcileReport(log_size=10, unlogged=[beyond, within])
    causes = likely_causes(report, MEMORY)
    assert len(causes) == 1 and causes[0].startswith("1 message(s) on the topics name")
    assert "restored from an older backup" in causes[0]
    assert "(10 entries)" in causes[0]


def test_memory_only_warning_names_only_the_bundled_broker() -> None:
    assert memory_only_warning("MkU3OEVBNTcwNTJENDM2Qk", "kafka:9092") is None
    assert memory_only_warning(None, "kafka:9092") is None
    assert memory_only_warning("tansu_cluster", "b:9092") is not None  # Tansu's default
