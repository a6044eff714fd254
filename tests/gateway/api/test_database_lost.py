"""A lost database connection is a 503 with Retry-After wherever it is met — also in the request
guard's token lookup, which runs before FastAPI's exception handlers (it answered a bare 500
when PostgreSQL's backends were terminated under load)."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa

from gateway.api.app import create_app
from gateway.api.clients import Role, add_client
from gateway.api.server import running_server
from gateway.config.instance import open_instance
from gateway.config.settings import load_settings
from gateway.db import migrate
from gateway.db.tables import clients

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def _terminate_when_waiting(admin: sa.Connection, database: str, table: str) -> int:
    """Terminate the backends of `database` that wait for a lock on `table` (polled: the
    request's token lookup reaches the lock in its own time)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = (
            admin.execute(
                sa.text(
                    "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                    "WHERE a.datname = :name AND NOT l.granted "
                    "AND l.relation = CAST(:table AS regclass)"
                ),
                {"name": database, "table": table},
            )
            .scalars()
            .all()
        )
        if pids:
            for pid in pids:
                admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            return len(pids)
        time.sleep(0.02)
    raise AssertionError(f"no request waited for the lock on {table}")


def test_token_lookup_on_a_lost_connection_is_503_then_recovers(
    tmp_path: Path, postgres_url: str
) -> None:
    config = tmp_path / "helhet.toml"
    config.write_text('municipality = "0301"\nenvironment = "test"\nrelay_enabled = false\n')
    instance = open_instance(load_settings(config, database_url=postgres_url))
    try:
        migrate.upgrade(instance.engine)
        with instance.engine.begin() as conn:
            token = add_client(conn, "kari", Role.COORDINATOR, None, now=NOW).token
        headers = {"Authorization": f"Bearer {token}"}
        with running_server(create_app(instance)) as base, httpx.Client(base_url=base) as http:
            assert http.get("/v1/legal-bases", headers=headers).status_code == 200
            database = sa.make_url(postgres_url).database
            assert database
            # The token lookup waits behind an exclusive lock; its backend is terminated while
            # it waits (as a restart or fail-over does mid-query): the pool's ping cannot help.
            admin_engine = sa.create_engine(postgres_url)
            try:
                with admin_engine.connect() as admin, ThreadPoolExecutor(1) as pool:
                    admin.execute(sa.text(f"LOCK TABLE {clients.name} IN ACCESS EXCLUSIVE MODE"))
                    pending = pool.submit(http.get, "/v1/legal-bases", headers=headers)
                    with admin_engine.connect() as watcher:
                        watcher.execution_options(isolation_level="AUTOCOMMIT")
                        assert _terminate_when_waiting(watcher, database, clients.name) == 1
                    admin.rollback()
                    lost = pending.result(timeout=60)
            finally:
                admin_engine.dispose()
            assert lost.status_code == 503, lost.text
            assert lost.headers["content-type"].startswith("application/problem+json")
            assert int(lost.headers["Retry-After"]) > 0
            assert "database cannot be reached" in lost.json()["detail"]

            # The pool threw the dead connections away: the next request is served again.
            assert http.get("/v1/legal-bases", headers=headers).status_code == 200
    finally:
        instance.close()
