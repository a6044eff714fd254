"""`helhet clients …`: API clients and their bearer tokens (one client per person or system)."""

from __future__ import annotations

import json

import click

from gateway.api.clients import Role, add_client, list_clients, revoke_client
from gateway.cli._context import load_instance, utcnow
from gateway.db.engine import reading
from gateway.errors import ClientError
from schemas import Agency


@click.group("clients")
def group() -> None:
    """API clients and their bearer tokens."""


@group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--agency",
    type=click.Choice([a.value for a in Agency]),
    default=None,
    help="The agency an agency client acts as (required for --role agency).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def add(ctx: click.Context, name: str, role: str, agency: str | None, as_json: bool) -> None:
    """Add a client and print its bearer token ONCE (only its hash is stored)."""
    instance = load_instance(ctx)
    try:
        with instance.engine.begin() as conn:
            issued = add_client(conn, name, Role(role), agency, now=utcnow())
    except ClientError as exc:
        raise click.ClickException(str(exc)) from exc
    p = issued.principal
    if as_json:
        click.echo(
            json.dumps(
                {
                    "client_id": p.client_id,
                    "name": p.name,
                    "role": p.role.value,
                    "agency": p.agency,
                    "token": issued.token,
                }
            )
        )
    else:
        click.echo(f"client {p.name} ({p.role.value}{', ' + p.agency if p.agency else ''})")
        click.echo(f"token (shown once, store it now): {issued.token}")


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List clients (never their tokens)."""
    with reading(load_instance(ctx).engine) as conn:
        rows = list_clients(conn)
    if as_json:
        click.echo(json.dumps(rows, default=str))
        return
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        click.echo(f"{row['name']:<30} {row['role']:<16} {row['agency'] or '-':<14} {state}")


@group.command("revoke")
@click.argument("name")
@click.pass_context
def revoke(ctx: click.Context, name: str) -> None:
    """Revoke a client's token at once."""
    try:
        with load_instance(ctx).engine.begin() as conn:
            revoke_client(conn, name, now=utcnow())
    except ClientError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {name}")
