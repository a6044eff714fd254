"""Disclosure-log benchmark: durable batched appends per second and `verify_log` time, on a
SQLite file and on PostgreSQL. Prints a table and writes JSON (default .bench/audit.json).

    .venv/bin/python benchmarks/bench_audit.py [--entries N] [--batch B] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit import Entry, EntryType, append, issue_checkpoint, pseudonymise, verify_log
from audit.tables import metadata
from gateway.db.engine import create_engine

ORIGIN = "helhet/bench"
KEY = b"bench-pseudonym-key-0123456789ab"
RECIPIENTS = ["school", "health", "housing", "child_welfare"]


def make_entries(start: int, count: int) -> list[Entry]:
    return [
        Entry(
            event_type=EntryType.DISCLOSURE,
            source="nav",
            recipient=RECIPIENTS[i % 4],
            subject_pseudonym=pseudonymise(KEY, f"{(i % 5000) + 10000000000}"),
            categories=["employment", "income_support"],
            purpose="coordination",
            basis=f"consent:{i % 5000}:1",
            message_id=f"{uuid.UUID(int=i)}",
            payload_sha256=f"{i:064x}",
            outcome="permitted",
            client="nav-system",
            family_id=f"fam-{i % 2000}",
        )
        for i in range(start, start + count)
    ]


def run(url: str, label: str, entries: int, batch: int) -> dict[str, Any]:
    engine = create_engine(url)
    signing = Ed25519PrivateKey.generate()
    try:
        with engine.begin() as conn:
            metadata.drop_all(conn)
            metadata.create_all(conn)
        now = dt.datetime.now(dt.UTC)
        build = 0.0
        elapsed = 0.0
        for start in range(0, entries, batch):
            t0 = time.perf_counter()
            chunk = make_entries(start, min(batch, entries - start))
            build += time.perf_counter() - t0
            t1 = time.perf_counter()
            with engine.begin() as conn:  # one durable transaction per batch
                append(conn, chunk, now=now)
            elapsed += time.perf_counter() - t1
        with engine.begin() as conn:
            issue_checkpoint(conn, signing, ORIGIN, now)
        t2 = time.perf_counter()
        with engine.connect() as conn:
            report = verify_log(conn, signing.public_key(), ORIGIN)
        verify_s = time.perf_counter() - t2
        if not report.ok:
            raise SystemExit(f"{label}: verify failed:\n{report.summary()}")
        return {
            "database": label,
            "entries": entries,
            "batch": batch,
            "appends_per_s": round(entries / elapsed),
            "append_s": round(elapsed, 2),
            "entry_build_s": round(build, 2),
            "verify_s": round(verify_s, 2),
        }
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "HELHET_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="A PostgreSQL server; the benchmark creates and drops its own database ('' skips).",
    )
    parser.add_argument("--json", default=".bench/audit.json")
    args = parser.parse_args()

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(
            run(
                f"sqlite:///{tmp}/bench.db",
                "sqlite (WAL, synchronous=FULL)",
                args.entries,
                args.batch,
            )
        )
    if args.postgres:
        server = sa.make_url(args.postgres).set(drivername="postgresql+psycopg")
        name = f"helhet_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError as exc:
            print(f"PostgreSQL unavailable, skipped: {exc}", file=sys.stderr)
        else:
            try:
                url = server.set(database=name).render_as_string(hide_password=False)
                results.append(run(url, "postgresql", args.entries, args.batch))
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    print(f"{'database':<32} {'entries':>9} {'batch':>6} {'appends/s':>10} {'verify s':>9}")
    for r in results:
        print(
            f"{r['database']:<32} {r['entries']:>9} {r['batch']:>6} "
            f"{r['appends_per_s']:>10} {r['verify_s']:>9}"
        )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "audit",
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
