"""`helhet keys rotate …`: a new gateway signing key, a new recipient key for an agency, a
new API token — each without breaking what was signed, sealed or issued before.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from gateway.cli._context import load_instance, utcnow
from gateway.cli._options import agency_option, private_key_out_option


@click.group("rotate")
def group() -> None:
    """Replace a key or token; what the old one signed or sealed stays readable."""


@group.command("signing")
@click.pass_context
def signing(ctx: click.Context) -> None:
    """A new Ed25519 signing key for envelopes and checkpoints.

    The old public key is kept in `retired/` beside the key file: GET /v1/keys serves it after
    the new one, and old checkpoints and envelopes still verify. The old private key is
    destroyed. Restart `helhet serve` and `helhet relay` to sign with the new key; give the new
    verifier key to the witnesses (`helhet keys rotate signing` prints it).
    """
    from audit.checkpoint import vkey
    from gateway.config.keys import key_fingerprint, rotate_signing_key
    from recipient.envelope import key_id

    instance = load_instance(ctx)
    path = instance.settings.signing_key_file
    old, new = rotate_signing_key(path)
    click.echo(f"retired signing key {key_id(old)} (kept as public key {key_fingerprint(old)})")
    click.echo(f"new signing key {key_id(new.public_key())} in {path} (mode 0600)")
    click.echo(f"log verifier key for witnesses: {vkey(instance.origin, new.public_key())}")
    click.echo("restart serve and relay to sign with it")


@group.command("agency")
@agency_option
@private_key_out_option
@click.pass_context
def agency(ctx: click.Context, agency: str, out: Path) -> None:
    """A new X25519 key pair for a recipient agency.

    The gateway seals for the new public key from its next message (running processes notice
    the changed file). Messages sealed before stay sealed for the old key: the agency keeps its
    old private key and gives both to its receiver (`helhet-receive --private-key NEW
    --private-key OLD`) until it has read them all.
    """
    from gateway.config.keys import rotate_agency_keypair

    settings = load_instance(ctx).settings
    public = settings.agency_public_key_file(agency)
    private = rotate_agency_keypair(public, out.resolve(), agency)
    click.echo(f"public key:  {public} (the old one kept in {public.parent / 'retired'})")
    click.echo(f"private key: {private} (mode 0600) — give it to the {agency} system")


@group.command("token")
@click.argument("name")
@click.option(
    "--grace",
    type=click.IntRange(min=0, max=30 * 24 * 3600),
    default=0,
    show_default=True,
    help="Seconds the old token keeps working, to switch the client's system over.",
)
@click.pass_context
def token(ctx: click.Context, name: str, grace: int) -> None:
    """A new bearer token for client NAME, printed ONCE; the old one stops (after --grace)."""
    from gateway.api.clients import rotate_token
    from gateway.errors import ClientError

    now = utcnow()
    try:
        with load_instance(ctx).engine.begin() as conn:
            new = rotate_token(conn, name, now=now, grace=dt.timedelta(seconds=grace))
    except ClientError as exc:
        raise click.ClickException(str(exc)) from exc
    until = "now" if grace == 0 else (now + dt.timedelta(seconds=grace)).isoformat()
    click.echo(f"token for {name} (shown once, store it now): {new}")
    click.echo(f"the old token stops working {until}")
