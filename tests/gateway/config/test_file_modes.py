"""Finding 4: the SQLite database (and its -wal/-shm) is created 0600, and the gateway refuses
to start on a database or key file that other users may read."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from gateway.api.app import create_app
from gateway.config.instance import Instance
from gateway.db.engine import create_engine
from gateway.errors import ConfigError
from tests.helpers.gateway import make_instance


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: files 0644 unless created otherwise
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_wal_are_created_0600(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "data" / "helhet.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT x FROM t")).scalar() == 1
            for suffix in ("", "-wal", "-shm"):  # WAL mode: all three exist while connected
                assert _mode(path.with_name("helhet.db" + suffix)) == 0o600, suffix
    finally:
        engine.dispose()


async def _start(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        pass


@pytest.fixture
def instance(tmp_path: Path, sqlite_url: str, umask_022: None) -> Iterator[Instance]:
    inst, _ = make_instance(tmp_path, sqlite_url, "127.0.0.1:9")
    yield inst
    inst.close()


def test_start_is_refused_on_a_world_readable_database_or_key(instance: Instance) -> None:
    instance.check_private_files()  # as created: 0600 throughout
    database = Path(str(instance.engine.url.database))
    for key, path in [
        ("database_url", database),
        ("signing_key_file", instance.settings.signing_key_file),
        ("pseudonym_key_file", instance.settings.pseudonym_key_file),
    ]:
        os.chmod(path, 0o644)
        with pytest.raises(ConfigError, match=f"{key}.*readable by other users") as caught:
            instance.check_private_files()
        assert f"chmod 600 {path}" in str(caught.value)
        with pytest.raises(ConfigError, match=key):  # the app's start-up refuses too
            asyncio.run(_start(create_app(instance)))
        os.chmod(path, 0o600)
    instance.check_private_files()
