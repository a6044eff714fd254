"""Schema migrations (Alembic, one history for all tables) and the check `serve` runs first.

`upgrade(engine)` brings a database to head; `check_current(engine)` refuses an old one.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gateway.errors import DatabaseNotMigrated

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def target_metadata() -> list[sa.MetaData]:
    """Every MetaData whose tables the migrations manage."""
    from gateway import tables

    return [tables.metadata]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def check_current(engine: sa.Engine) -> None:
    """Raise DatabaseNotMigrated unless the database is at the latest revision."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        state = "has no helhet schema" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"the database {state}; this version needs {head}. Run `helhet db upgrade` first."
        )
