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
def generate(ctx: click.Context, agency: str, out: Path) -> None:
    """Generate an X25519 key pair for a recipient agency.

    The public key goes where the gateway looks for it (the instance's agency_keys_dir); the
    private key belongs to the agency: hand it over a secure channel and delete your copy.
    """
    from gateway.config.keys import generate_agency_keypair

    instance = load_instance(ctx)
    settings = instance.settings
    public = settings.agency_public_key_file(agency)
    private = out.resolve() / f"{agency}.key"
    try:
        generate_agency_keypair(private, public)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc} already exists; remove it first to rotate") from exc
    click.echo(f"public key:  {public}")
    click.echo(f"private key: {private} (mode 0600) — give it to the {agency} system")
    home = settings.config_file.parent if settings.config_file else None
    if home is not None and private.is_relative_to(home):
        click.echo(
            f"warning: the private key was written inside the instance ({home}); it is the "
            "agency's, not the gateway's: move it to the agency and delete it here",
            err=True,
        )
