"""`helhet db …`: the database schema (one Alembic history for every table)."""

from __future__ import annotations

import click

from gateway.cli._context import load_instance, utcnow
from gateway.db import migrate, outbox


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


@group.command("restored")
@click.pass_context
def restored(ctx: click.Context) -> None:
    """After restoring the database from a backup, before serve or relay start again.

    Every message not recorded as delivered may have been published after the backup was
    taken: the relay looks each one up on its topic before it publishes it, so none is sent
    twice. See docs/operations.md, "Backup and restore".
    """
    instance = load_instance(ctx)
    migrate.check_current(instance.engine)
    with instance.engine.begin() as conn:
        count = outbox.in_doubt(conn, utcnow())
    click.echo(f"{count} message(s) not recorded as delivered will be looked up on their topics")
