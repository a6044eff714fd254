"""Database engines: SQLite (WAL, one file) as the embedded default, PostgreSQL by URL.

Two doors: `engine.begin()` for a transaction that writes (SQLite: `BEGIN IMMEDIATE`, the
writer lock taken at once, waited for at most `write_wait` seconds) and `reading(engine)` for
one that only reads (SQLite: a deferred `BEGIN`, a WAL snapshot that never waits for writers).
Only the gateway creates engines; domain packages work on a connection passed to them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


# The execution option that marks a connection as the read door's (see `reading`).
READ_ONLY = "helhet_read_only"
# The default bound on waiting for the writer lock (the `database_write_wait_seconds` setting).
DEFAULT_WRITE_WAIT_SECONDS = 5.0


def _sqlite_pragmas(write_wait: float) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Disable pysqlite's own transaction handling; SQLAlchemy emits BEGIN (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        # The log's random-key indexes (subject pseudonyms) touch a different page per entry:
        # a 32 MiB page cache (SQLite's default is 2 MiB) keeps them from being read back, and
        # a WAL checkpoint every 8192 pages (default 1000) keeps a checkpoint's copy-and-fsync
        # out of most commits. Durability is unchanged: every commit still fsyncs the WAL
        # (docs/decisions.md).
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.execute("PRAGMA wal_autocheckpoint=8192")
        cursor.execute("PRAGMA foreign_keys=ON")
        # How long BEGIN IMMEDIATE queues for the writer lock before "database is locked"
        # (which `unavailable` maps to DatabaseUnavailable: a 503 with Retry-After).
        cursor.execute(f"PRAGMA busy_timeout={int(write_wait * 1000)}")
        cursor.close()

    return connect


class _WriterQueue:
    """The writers of one process queue here, in turn, for SQLite's writer lock.

    SQLite's own busy handler polls with growing sleeps (up to 100 ms), so a writer can starve
    behind others that keep arriving; a lock in the process wakes the next writer as soon as
    the last one ends. Writers of other processes still meet SQLite's busy handler. Both waits
    together are bounded by `write_wait`; past it the transaction fails with "database is
    locked" (an OperationalError, hence DatabaseUnavailable and a 503).
    """

    _HOLDS = "helhet_writer_queue"

    def __init__(self, write_wait: float) -> None:
        self.write_wait = write_wait
        self._lock = threading.Lock()

    def begin(self, conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # A reader's snapshot: in WAL mode it neither waits for nor blocks the writer.
            conn.exec_driver_sql("BEGIN")
            return
        started = time.monotonic()
        if not self._lock.acquire(timeout=self.write_wait):
            raise sa.exc.OperationalError(
                "BEGIN IMMEDIATE",
                None,
                sqlite3.OperationalError(
                    f"database is locked (no turn to write within {self.write_wait:g} s)"
                ),
            )
        conn.info[self._HOLDS] = True
        try:
            left = max(0.0, self.write_wait - (time.monotonic() - started))
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(left * 1000)}")
            # Writers take the lock at BEGIN, so two never both read-then-write and deadlock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(conn)
            raise

    def end(self, conn: Any, *_args: Any) -> None:
        if conn.info.pop(self._HOLDS, False):
            self._lock.release()

    def end_pooled(self, _dbapi_connection: Any, record: Any, *_args: Any) -> None:
        """A connection back in the pool with its transaction never ended (the pool rolls it
        back) gives up its turn too."""
        if record.info.pop(self._HOLDS, False):
            self._lock.release()


@contextmanager
def reading(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for a transaction that only reads (rolled back at the end).

    On SQLite it begins deferred, so it never queues behind the writer lock; on PostgreSQL
    the transaction is READ ONLY. A write through it is a bug: SQLite may refuse it at once
    with "database is locked", PostgreSQL always refuses it.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(postgresql_readonly=True)
        conn.execution_options(**{READ_ONLY: True})
        yield conn


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


def create_engine(
    url: str, *, write_wait: float = DEFAULT_WRITE_WAIT_SECONDS, **kwargs: Any
) -> sa.Engine:
    """An engine configured for helhet: WAL + immediate transactions for writers on SQLite,
    whose file is created readable by its owner only (it holds persons' numbers).

    `write_wait` bounds how long a transaction waits for a lock another one holds (SQLite's
    writer lock, a PostgreSQL row or table lock) before it fails as DatabaseUnavailable.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is not None:
            create_private_file(path)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": write_wait, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas(write_wait))
        # Let SQLAlchemy (not pysqlite) emit BEGIN, so we can choose IMMEDIATE or deferred.
        writers = _WriterQueue(write_wait)
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "commit", writers.end)
        event.listen(engine, "rollback", writers.end)
        event.listen(engine, "checkin", writers.end_pooled)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = sa.create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _postgresql_lock_timeout(write_wait))
    return engine


def _postgresql_lock_timeout(write_wait: float) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # A lock waited for longer fails with SQLSTATE 55P03 (an OperationalError), which
        # `unavailable` maps to DatabaseUnavailable like SQLite's "database is locked".
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(write_wait * 1000)}")
        dbapi_connection.autocommit = autocommit

    return connect


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
