"""Database engines: SQLite (WAL, one file) as the embedded default, PostgreSQL by URL.

Only the gateway creates engines; domain packages work on a connection passed to them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from gateway.errors import DatabaseUnavailable


def normalise_url(url: str) -> sa.URL:
    """Accept postgresql:// / postgres:// and use the psycopg 3 driver for them."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine_or_url: sa.Engine | sa.URL | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, sa.Engine) else sa.make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Disable pysqlite's own transaction handling; SQLAlchemy emits BEGIN (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # The log's random-key indexes (subject pseudonyms) touch a different page per entry:
    # a 32 MiB page cache (SQLite's default is 2 MiB) keeps them from being read back, and a
    # WAL checkpoint every 8192 pages (default 1000) keeps a checkpoint's copy-and-fsync out of
    # most commits. Durability is unchanged: every commit still fsyncs the WAL (docs/decisions.md).
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA wal_autocheckpoint=8192")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Writers take the lock at BEGIN, so two processes never both read-then-write and deadlock.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_file(url: sa.URL | str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist yet. SQLite gives the -wal and
    -shm files it creates the database file's mode, so they are 0600 too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine configured for helhet: WAL + immediate transactions on SQLite, whose file is
    created readable by its owner only (it holds persons' numbers)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            create_private_file(path)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy (not pysqlite) emit BEGIN, so we can make it IMMEDIATE.
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The DatabaseUnavailable that a SQLAlchemy error stands for, or None when it is another
    kind of error (a constraint, a bug). Callers map with `raise unavailable(exc) from exc`.

    Lost or refused connections (PostgreSQL restarted, its backend terminated, a fail-over),
    a busy SQLite file and an exhausted connection pool are all retriable.
    """
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    ):
        return DatabaseUnavailable(f"database unavailable: {str(exc).splitlines()[0]}")
    return None
