"""SQLite connections are durable (WAL, every commit synced) with the log's cache settings."""

from __future__ import annotations

from gateway.db.engine import create_engine


def test_sqlite_connections_are_durable_with_a_larger_cache(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as conn:

            def pragma(name: str) -> object:
                return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL: the WAL is synced at every commit
            assert pragma("cache_size") == -32768  # 32 MiB
            assert pragma("wal_autocheckpoint") == 8192
    finally:
        engine.dispose()
