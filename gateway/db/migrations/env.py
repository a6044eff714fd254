"""Alembic environment: runs on the connection handed over by gateway.migrate."""

from __future__ import annotations

from alembic import context

from gateway.db.migrate import target_metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always run through gateway.db.migrate
    raise RuntimeError("run migrations with `helhet db upgrade`")

context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
