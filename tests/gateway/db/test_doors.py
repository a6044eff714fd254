"""The database's two doors: readers never wait for the writer lock; writers queue for it at
most `write_wait` seconds and then fail as unavailable (a 503, never a 500), on SQLite (the lock
held by another connection, or by another writer of the process) and on PostgreSQL (a row lock,
`lock_timeout`)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.db.engine import create_engine, reading, unavailable
from gateway.errors import DatabaseUnavailable

_TABLE = sa.Table("doors", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))


def _sqlite(tmp_path: Path, write_wait: float) -> tuple[sa.Engine, Path]:
    path = tmp_path / "doors.db"
    engine = create_engine(f"sqlite:///{path}", write_wait=write_wait)
    with engine.begin() as conn:
        _TABLE.create(conn)
        conn.execute(_TABLE.insert().values(id=1))
    return engine, path


def _hold_writer_lock(path: Path) -> sqlite3.Connection:
    """Another connection (as another process would) holding SQLite's writer lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO doors (id) VALUES (2)")
    return holder


def _is_unavailable(exc: BaseException) -> bool:
    return isinstance(unavailable(exc), DatabaseUnavailable)


def test_readers_never_wait_for_the_writer(tmp_path: Path) -> None:
    # With a wait this short, a reader that queued for the lock would fail at once.
    engine, path = _sqlite(tmp_path, write_wait=0.05)
    holder = _hold_writer_lock(path)
    try:
        with reading(engine) as conn:
            ids = conn.execute(sa.select(_TABLE.c.id)).scalars().all()
        assert ids == [1]  # the committed state: the holder's insert is not visible
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def test_a_writer_fails_as_unavailable_when_the_lock_stays_held(tmp_path: Path) -> None:
    engine, path = _sqlite(tmp_path, write_wait=0.2)
    holder = _hold_writer_lock(path)
    try:
        with pytest.raises(sa.exc.OperationalError) as caught, engine.begin() as conn:
            conn.execute(_TABLE.insert().values(id=3))
        assert "database is locked" in str(caught.value)
        assert _is_unavailable(caught.value)
    finally:
        holder.rollback()
        holder.close()
    with engine.begin() as conn:  # the lock released: writing works again
        conn.execute(_TABLE.insert().values(id=3))
    engine.dispose()


def test_writers_of_one_process_take_turns_within_the_wait(tmp_path: Path) -> None:
    engine, _ = _sqlite(tmp_path, write_wait=0.2)
    inside, release = threading.Event(), threading.Event()

    def long_writer() -> None:
        with engine.begin() as conn:
            conn.execute(_TABLE.insert().values(id=10))
            inside.set()
            release.wait(30)

    thread = threading.Thread(target=long_writer)
    thread.start()
    try:
        assert inside.wait(30)
        with pytest.raises(sa.exc.OperationalError) as caught, engine.begin() as conn:
            conn.execute(_TABLE.insert().values(id=11))
        assert "no turn to write" in str(caught.value) and _is_unavailable(caught.value)
        with reading(engine) as conn:  # reading meanwhile needs no turn
            assert conn.execute(sa.select(sa.func.count()).select_from(_TABLE)).scalar() == 1
    finally:
        release.set()
        thread.join(30)
    # A turn is given back on rollback as on commit: the next writers are not blocked.
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(_TABLE.insert().values(id=12))
        raise RuntimeError("roll back")
    with engine.begin() as conn:
        conn.execute(_TABLE.insert().values(id=13))
    with reading(engine) as conn:
        assert conn.execute(sa.select(_TABLE.c.id)).scalars().all() == [1, 10, 13]
    engine.dispose()


def test_postgresql_lock_waits_are_bounded_and_reads_are_read_only(postgres_url: str) -> None:
    engine = create_engine(postgres_url, write_wait=0.2)
    other = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            _TABLE.create(conn)
            conn.execute(_TABLE.insert().values(id=1))
        with other.begin() as holder:
            holder.execute(sa.select(_TABLE).where(_TABLE.c.id == 1).with_for_update()).all()
            with pytest.raises(sa.exc.OperationalError) as caught, engine.begin() as conn:
                conn.execute(_TABLE.update().where(_TABLE.c.id == 1).values(id=5))
            assert _is_unavailable(caught.value)
            with reading(engine) as conn:  # a reader does not wait for the row lock
                assert conn.execute(sa.select(_TABLE.c.id)).scalars().all() == [1]
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"), reading(engine) as c:
            c.execute(_TABLE.insert().values(id=2))
        with engine.begin() as conn:  # the pooled connection is a writer's again
            conn.execute(_TABLE.insert().values(id=2))
    finally:
        with other.begin() as conn:
            _TABLE.drop(conn, checkfirst=True)
        other.dispose()
        engine.dispose()
