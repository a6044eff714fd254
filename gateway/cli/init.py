"""`helhet init`: create a municipality instance directory (config, signing and pseudonym keys)."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.errors import ConfigError


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--municipality", required=True, help="Municipality number, e.g. 0301 or 101.")
@click.option("--name", default="", help="The municipality's name, for reports.")
@click.option("--country", type=click.Choice(["NO", "DK"]), default="NO", show_default=True)
@click.option("--test", is_flag=True, help="A test instance: accepts synthetic identifiers.")
@click.option("--database-url", default="sqlite:///helhet.db", show_default=True)
@click.option(
    "--kafka", "kafka", default="127.0.0.1:9092", show_default=True, help="Kafka bootstrap servers."
)
def command(
    directory: Path,
    municipality: str,
    name: str,
    country: str,
    test: bool,
    database_url: str,
    kafka: str,
) -> None:
    """Create a municipality instance directory: config, signing key and pseudonym key."""
    from gateway.config.scaffold import init_instance

    try:
        config = init_instance(
            directory,
            municipality=municipality,
            name=name or municipality,
            jurisdiction=country,
            test=test,
            database_url=database_url,
            kafka_bootstrap_servers=kafka,
        )
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    except ConfigError as exc:
        raise click.ClickException(f"{exc}; nothing was written") from exc
    click.echo(f"created {config}")
    click.echo(f"signing key: {directory / 'keys' / 'gateway-signing.pem'} (mode 0600)")
    click.echo(f"pseudonym key: {directory / 'keys' / 'pseudonym.key'} (mode 0600)")
    click.echo(f"next: export HELHET_CONFIG={config.resolve()} && helhet db upgrade")
