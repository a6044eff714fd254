"""`helhet keys …`: key pairs for recipient agencies; `keys rotate …` (rotate.py)."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli import rotate
from gateway.cli._context import load_instance
from gateway.cli._options import agency_option, private_key_out_option


@click.group("keys")
def group() -> None:
    """Key pairs for recipient agencies; rotating keys and tokens."""


group.add_command(rotate.group)


@group.command("generate")
@agency_option
@private_key_out_option
@click.pass_context
def generate(ctx: click.Context, agency: str, out: Path | None) -> None:
    """Generate an X25519 key pair for a recipient agency.

    The public key goes where the gateway looks for it; hand the private key to the agency
    over a secure channel and delete your copy.
    """
    from gateway.config.keys import generate_agency_keypair

    settings = load_instance(ctx).settings
    public = settings.agency_public_key_file(agency)
    private = (out or settings.agency_keys_dir) / f"{agency}.key"
    try:
        generate_agency_keypair(private, public)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc} already exists; remove it first to rotate") from exc
    click.echo(f"public key:  {public}")
    click.echo(f"private key: {private} (mode 0600) — give it to the {agency} system")
