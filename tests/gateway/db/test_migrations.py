"""One Alembic history for every table: upgrade works on both databases and matches the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gateway.db import migrate
from gateway.errors import DatabaseNotMigrated


def test_upgrade_and_check(db_engine: sa.Engine) -> None:
    try:
        migrate.check_current(db_engine)
        raise AssertionError("an empty database must not pass the check")
    except DatabaseNotMigrated as exc:
        assert "helhet db upgrade" in str(exc)
    migrate.upgrade(db_engine)
    migrate.check_current(db_engine)
    assert migrate.current_revision(db_engine) == migrate.head_revision()
    migrate.upgrade(db_engine)  # idempotent


def test_migrations_match_the_table_definitions(db_engine: sa.Engine) -> None:
    migrate.upgrade(db_engine)
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, migrate.target_metadata())  # type: ignore[arg-type]
    assert differences == [], "\n".join(map(str, differences))
