"""Crashes and shutdowns of real `helhet` processes on PostgreSQL and a real broker: every
accepted record reaches its recipient exactly once, the log verifies and the topics reconcile.

- `helhet serve` killed with SIGKILL mid-ingest while agency systems post from four threads
  and re-post (without an Idempotency-Key) every batch that failed;
- two `serve` processes on one database, both relaying, posted to concurrently;
- the relay off during ingest, then a standalone `helhet relay` stopped with SIGTERM: it drains
  for at most relay_drain_seconds, exits 0, and a second relay finishes the rest;
- `helhet serve --workers 2`: both intake workers take requests, the one relay delivers once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config.instance import Instance
from gateway.kafka.broker import free_port
from tests.helpers.gateway import add_clients, make_instance
from tests.helpers.processes import (
    HelhetProcess,
    Poster,
    assert_exactly_once,
    card_batches,
    outbox_count,
    outcome,
    relay,
    serve,
    wait_until,
    young_people_sharing,
)

RECORDS = 2000
PER_BATCH = 50
PEOPLE = 40
# The relay inside serve, quick to notice work and to take over a dead relay's messages; a long
# drain bound, so that a prompt exit shows it stops at once when nothing waits.
RELAYING = {
    "HELHET_RELAY_ENABLED": "true",
    "HELHET_RELAY_POLL_INTERVAL": "0.1",
    "HELHET_RELAY_LEASE_SECONDS": "3",
    "HELHET_RELAY_DRAIN_SECONDS": "300",
}


@pytest.fixture
def prepared(
    tmp_path: Path, postgres_url: str, kafka_bootstrap: str
) -> Iterator[tuple[Instance, Path, str]]:
    """A migrated instance on PostgreSQL with clients and 40 consenting families:
    (instance, its config file, NAV's token)."""
    instance, _ = make_instance(tmp_path, postgres_url, kafka_bootstrap)
    try:
        tokens = add_clients(instance)
        young_people_sharing(instance, PEOPLE)
        config = instance.settings.config_file
        assert config is not None
        yield instance, config, tokens["nav"]
    finally:
        instance.close()


def _count(instance: Instance, *statuses: str) -> int:
    return outbox_count(instance, *statuses)


def _answers(base: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _drained(instance: Instance) -> Callable[[], bool]:
    return lambda: outbox_count(instance) == 0


def _people(instance: Instance) -> list[str]:
    from gateway.db.tables import family_members

    with instance.engine.connect() as conn:
        return sorted(set(conn.execute(sa.select(family_members.c.person_id)).scalars()))


def test_serve_killed_mid_ingest_loses_and_duplicates_nothing(
    tmp_path: Path,
    prepared: tuple[Instance, Path, str],
    record_fault: Callable[..., None],
) -> None:
    instance, config, token = prepared
    batches = card_batches(_people(instance), RECORDS, PER_BATCH)
    port = free_port()
    server, base = serve(config, tmp_path / "serve-1.log", port=port, env=RELAYING)
    poster = Poster([base], token, batches, threads=4).start()
    wait_until(lambda: poster.stats.accepted_records >= RECORDS // 4, "a quarter accepted", server)
    server.kill()
    accepted_before_kill = poster.stats.accepted_records
    assert accepted_before_kill < RECORDS, "ingest finished before the kill; nothing was tested"
    server, _ = serve(config, tmp_path / "serve-2.log", port=port, env=RELAYING)
    stats = poster.join()
    wait_until(_drained(instance), "the outbox drained", server)
    assert server.stop() == 0, server.output()[-2000:]
    counts = outcome(instance, stats, expected=RECORDS)
    record_fault(**counts, accepted_before_kill=accepted_before_kill)
    assert stats.unexpected == []
    assert_exactly_once(counts)


def test_two_serve_processes_on_one_database(
    tmp_path: Path,
    prepared: tuple[Instance, Path, str],
    record_fault: Callable[..., None],
) -> None:
    instance, config, token = prepared
    batches = card_batches(_people(instance), RECORDS, PER_BATCH)
    first, base_1 = serve(config, tmp_path / "serve-1.log", env=RELAYING)
    second, base_2 = serve(config, tmp_path / "serve-2.log", env=RELAYING)
    stats = Poster([base_1, base_2], token, batches, threads=4).start().join()
    wait_until(_drained(instance), "the outbox drained", first)
    assert first.stop() == 0 and second.stop() == 0
    counts = outcome(instance, stats, expected=RECORDS)
    record_fault(**counts)
    assert set(stats.statuses) == {"202"}, stats.statuses  # no 5xx, no refused connection
    assert_exactly_once(counts)


def test_relay_off_then_standalone_relays_drain_exactly_once(
    tmp_path: Path,
    prepared: tuple[Instance, Path, str],
    record_fault: Callable[..., None],
) -> None:
    records = RECORDS // 2
    instance, config, token = prepared
    batches = card_batches(_people(instance), records, PER_BATCH)
    server, base = serve(config, tmp_path / "serve.log")  # relay_enabled = false
    stats = Poster([base], token, batches, threads=4).start().join()
    assert server.stop() == 0
    assert _count(instance, "pending") == records

    # One message a round, drained for at most a second after SIGTERM: it stops with work left.
    slow = {"HELHET_RELAY_BATCH_SIZE": "1", "HELHET_RELAY_DRAIN_SECONDS": "1"}
    first = relay(config, tmp_path / "relay-1.log", env=slow)
    wait_until(lambda: _count(instance, "delivered") >= 20, "the relay delivered", first)
    first.signal(15)
    assert first.wait() == 0, first.output()[-2000:]
    left = _count(instance, "pending", "in_flight")
    assert 0 < left < records, "the drain was not bounded, or nothing was left to test"
    assert "drained" in first.output()

    # A second relay finishes; with nothing left, SIGTERM ends it at once, not after 300 s.
    second = relay(config, tmp_path / "relay-2.log", env={"HELHET_RELAY_DRAIN_SECONDS": "300"})
    wait_until(_drained(instance), "the outbox drained", second)
    assert second.stop() == 0, second.output()[-2000:]
    counts = outcome(instance, stats, expected=records)
    record_fault(**counts, left_after_bounded_drain=left)
    assert_exactly_once(counts)


def _workers(pid: int) -> list[int]:
    """The worker processes uvicorn spawned under `pid` (not its resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_two_intake_workers_serve_concurrently_and_relay_once(
    tmp_path: Path,
    prepared: tuple[Instance, Path, str],
    record_fault: Callable[..., None],
) -> None:
    instance, config, token = prepared
    batches = card_batches(_people(instance), RECORDS, PER_BATCH)
    port = free_port()
    server = HelhetProcess(
        config, ["serve", "--port", str(port), "--workers", "2"], tmp_path / "serve.log", RELAYING
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: len(_workers(server.pid)) >= 2, "two worker processes", server)
    wait_until(lambda: _answers(base), "the workers answering", server)
    workers = _workers(server.pid)
    before = {pid: _cpu_seconds(pid) for pid in workers}
    # a new connection per request: each is accepted by whichever worker is free
    stats = Poster([base], token, batches, threads=8, fresh_connections=True).start().join()
    used = {pid: _cpu_seconds(pid) - before[pid] for pid in workers}
    wait_until(_drained(instance), "the outbox drained", server)
    assert server.stop() == 0, server.output()[-2000:]
    counts = outcome(instance, stats, expected=RECORDS)
    record_fault(**counts, workers=len(workers))
    assert len(workers) == 2, workers
    assert all(seconds > 0.5 for seconds in used.values()), used  # both took requests
    assert set(stats.statuses) == {"202"}, stats.statuses
    assert_exactly_once(counts)
