"""The `helhet` command: one group, one module per command (or command group) beside this one.

Every command reads the instance configuration from --config or HELHET_CONFIG.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.cli import (
    audit,
    broker,
    clients,
    db,
    demo,
    init,
    keys,
    plan,
    relay,
    serve,
    translate,
)
from gateway.errors import GatewayError
from recipient.cli import command as receive

VERSION = "0.1.0"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="HELHET_CONFIG",
    help="The instance configuration file (default: $HELHET_CONFIG).",
)
@click.version_option(VERSION, prog_name="helhet")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """helhet: consent-enforcing data exchange between the agencies around a family.

    Agencies post records in their own formats; helhet translates them to one family plan,
    forwards to each team agency only what consent (or a statute) permits, sealed for that
    agency, and logs every disclosure and refusal in a tamper-evident log.
    """
    ctx.obj = {"config": config}


for command in (
    init.command,
    keys.group,
    clients.group,
    db.group,
    serve.command,
    relay.command,
    broker.command,
    demo.command,
    translate.command,
    receive,
    audit.group,
    plan.group,
):
    cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except GatewayError as exc:
        click.echo(f"helhet: {exc}", err=True)
        sys.exit(1)
