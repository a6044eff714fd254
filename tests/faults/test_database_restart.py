"""PostgreSQL goes away under a running `helhet serve` (relay inside) during ingest: its backend
connections are terminated again and again (pg_terminate_backend, as a server restart or a
fail-over does; the machine's server itself stays up for everyone else's tests).

Requests caught in flight get 503 with Retry-After (problem+json); the agency systems send them
again; the process recovers its connections without a restart; nothing accepted is lost and
nothing is forwarded twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from tests.helpers.gateway import add_clients, make_instance
from tests.helpers.processes import (
    Poster,
    assert_exactly_once,
    card_batches,
    outbox_count,
    outcome,
    serve,
    wait_until,
    young_people_sharing,
)

RECORDS = 1000
MAX_ROUNDS = 60  # terminations, 0.25 s apart, until a request was caught in flight


def _terminate_backends(server: sa.URL, database: str) -> int:
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database},
                ).all()
            )
    finally:
        admin.dispose()


def test_backends_terminated_during_ingest_and_relay(
    tmp_path: Path,
    postgres_server: sa.URL,
    postgres_url: str,
    kafka_bootstrap: str,
    record_fault: Callable[..., None],
) -> None:
    instance, _ = make_instance(tmp_path, postgres_url, kafka_bootstrap)
    try:
        token = add_clients(instance)["nav"]
        people = young_people_sharing(instance, 20)
        config = instance.settings.config_file
        assert config is not None
        database = sa.make_url(postgres_url).database
        assert database
        env = {
            "HELHET_RELAY_ENABLED": "true",
            "HELHET_RELAY_POLL_INTERVAL": "0.1",
            "HELHET_RELAY_LEASE_SECONDS": "3",
        }
        server, base = serve(config, tmp_path / "serve.log", env=env)
        poster = Poster([base], token, card_batches(people, RECORDS, 25), threads=4).start()
        terminated = rounds = 0
        done = threading.Event()

        def terminate_until_caught() -> None:
            nonlocal terminated, rounds
            while rounds < MAX_ROUNDS and not poster.stats.statuses["503"]:
                if done.wait(0.25):
                    return
                terminated += _terminate_backends(postgres_server, database)
                rounds += 1

        killer = threading.Thread(target=terminate_until_caught, daemon=True)
        killer.start()
        stats = poster.join()
        done.set()
        killer.join()
        wait_until(lambda: outbox_count(instance) == 0, "the outbox drained", server)
        assert server.alive(), "helhet serve had to be restarted"
        assert server.stop() == 0
        counts = outcome(instance, stats, expected=RECORDS)
        record_fault(**counts, backends_terminated=terminated, termination_rounds=rounds)
        assert terminated > 0
        assert stats.statuses["503"] > 0, f"no request was caught in flight: {stats.statuses}"
        assert "500" not in stats.statuses and stats.unexpected == [], stats
        assert_exactly_once(counts)
    finally:
        instance.close()
