"""`helhet db …`: the database schema (one Alembic history for every table)."""

from __future__ import annotations

import click

from gateway.cli._context import load_instance
from gateway.db import migrate


@click.group("db")
def group() -> None:
    """Database schema migrations."""


@group.command("upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Migrate the database to the schema this version needs."""
    instance = load_instance(ctx)
    migrate.upgrade(instance.engine)
    click.echo(f"database at revision {migrate.current_revision(instance.engine)}")


@group.command("current")
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the database's schema revision and the one this version needs."""
    instance = load_instance(ctx)
    click.echo(f"current: {migrate.current_revision(instance.engine) or 'none'}")
    click.echo(f"needed:  {migrate.head_revision()}")
