"""Several processes appending at once (each with its own engine) produce one consistent log:
no duplicate index, no fork, every entry present once."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import append, verify_log
from audit.tables import audit_entries
from tests.helpers.audit import T0, create_tables, entry

ROUNDS = 25
BATCH = 4


def worker(
    url: str, worker_id: int, queue: multiprocessing.Queue[list[int]], barrier: Barrier
) -> None:
    from gateway.db.engine import create_engine

    engine = create_engine(url)
    got: list[int] = []
    try:
        with engine.connect() as conn:  # connect before the start line
            conn.execute(sa.text("SELECT 1"))
        barrier.wait(timeout=60)
        for r in range(ROUNDS):
            with engine.begin() as conn:
                batch = [entry(r, message_id=f"w{worker_id}-{r}-{i}") for i in range(BATCH)]
                got += append(conn, batch, now=T0)
    finally:
        engine.dispose()
    queue.put(got)


def run_concurrently(url: str, workers: int) -> list[list[int]]:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[int]] = ctx.Queue()
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=worker, args=(url, w, queue, barrier)) for w in range(workers)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


def test_two_processes_append_to_postgresql(postgres_url: str) -> None:
    check(postgres_url)


def test_two_processes_append_to_sqlite(sqlite_url: str) -> None:
    check(sqlite_url)


def check(url: str) -> None:
    from gateway.db.engine import create_engine

    engine = create_engine(url)
    try:
        create_tables(engine)
        results = run_concurrently(url, 2)
        total = 2 * ROUNDS * BATCH
        indexes = sorted(i for r in results for i in r)
        assert indexes == list(range(total))
        # Each process's batches got consecutive indexes in its own commit order.
        for r in results:
            assert r == sorted(r)
        with engine.connect() as conn:
            ids = conn.execute(sa.select(audit_entries.c.message_id)).scalars().all()
            assert len(ids) == total == len(set(ids))
            report = verify_log(conn, Ed25519PrivateKey.generate().public_key(), "helhet/x")
        assert report.ok, report.summary()
        assert report.entries == report.head_size == total
    finally:
        engine.dispose()
