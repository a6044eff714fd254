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
    from audit import tables as audit_tables
    from consent import tables as consent_tables
    from gateway.db import tables

    return [tables.metadata, consent_tables.metadata, audit_tables.metadata]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def autogenerate(message: str, rev_id: str) -> None:
    """Developers: write a new revision from the difference between head and the tables."""
    import tempfile

    from gateway.db.engine import create_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/autogen.db")
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    # Alembic renders dialect types' arguments without their module prefix.
    for revision in script if isinstance(script, list) else [script]:
        if revision is not None:
            path = Path(revision.path)
            path.write_text(path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()"))


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
