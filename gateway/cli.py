"""The `helhet` command line: instance set-up, credentials, database, serving and tools.

Every command reads the instance configuration from --config or HELHET_CONFIG.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from gateway import migrate
from gateway.clients import ClientError, Role, add_client, list_clients, revoke_client
from gateway.context import load_instance
from gateway.errors import GatewayError
from schemas import Agency

AGENCIES = [a.value for a in Agency]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="HELHET_CONFIG",
    help="The instance configuration file (default: $HELHET_CONFIG).",
)
@click.version_option("0.1.0", prog_name="helhet")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """helhet: consent-enforcing data exchange between the agencies around a family.

    Agencies post records in their own formats; helhet translates them to one family plan,
    forwards to each team agency only what consent (or a statute) permits, sealed for that
    agency, and logs every disclosure and refusal in a tamper-evident log.
    """
    ctx.obj = {"config": config}


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--municipality", required=True, help="Municipality number, e.g. 0301 or 101.")
@click.option("--name", default="", help="The municipality's name, for reports.")
@click.option("--country", type=click.Choice(["NO", "DK"]), default="NO", show_default=True)
@click.option("--test", is_flag=True, help="A test instance: accepts synthetic identifiers.")
@click.option("--database-url", default="sqlite:///helhet.db", show_default=True)
@click.option(
    "--kafka", "kafka", default="127.0.0.1:9092", show_default=True, help="Kafka bootstrap servers."
)
def init(
    directory: Path,
    municipality: str,
    name: str,
    country: str,
    test: bool,
    database_url: str,
    kafka: str,
) -> None:
    """Create a municipality instance directory: config, signing key and pseudonym key."""
    from gateway.instance_files import init_instance

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
    click.echo(f"created {config}")
    click.echo(f"signing key: {directory / 'keys' / 'gateway-signing.pem'} (mode 0600)")
    click.echo(f"pseudonym key: {directory / 'keys' / 'pseudonym.key'} (mode 0600)")
    click.echo(f"next: export HELHET_CONFIG={config.resolve()} && helhet db upgrade")


@cli.group()
def keys() -> None:
    """Key pairs for recipient agencies."""


@keys.command("generate")
@click.option("--agency", type=click.Choice(AGENCIES), required=True)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the agency's PRIVATE key (default: the instance's agency_keys_dir).",
)
@click.pass_context
def keys_generate(ctx: click.Context, agency: str, out: Path | None) -> None:
    """Generate an X25519 key pair for a recipient agency.

    The public key goes where the gateway looks for it; hand the private key to the agency
    over a secure channel and delete your copy.
    """
    from gateway.keys import generate_agency_keypair

    settings = load_instance(ctx).settings
    public = settings.agency_public_key_file(agency)
    private = (out or settings.agency_keys_dir) / f"{agency}.key"
    try:
        generate_agency_keypair(private, public)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc} already exists; remove it first to rotate") from exc
    click.echo(f"public key:  {public}")
    click.echo(f"private key: {private} (mode 0600) — give it to the {agency} system")


@cli.group()
def clients() -> None:
    """API clients and their bearer tokens."""


@clients.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--agency",
    type=click.Choice(AGENCIES),
    default=None,
    help="The agency an agency client acts as (required for --role agency).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def clients_add(
    ctx: click.Context, name: str, role: str, agency: str | None, as_json: bool
) -> None:
    """Add a client and print its bearer token ONCE (only its hash is stored)."""
    instance = load_instance(ctx)
    try:
        with instance.engine.begin() as conn:
            issued = add_client(conn, name, Role(role), agency, now=_now())
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


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def clients_list(ctx: click.Context, as_json: bool) -> None:
    """List clients (never their tokens)."""
    with load_instance(ctx).engine.connect() as conn:
        rows = list_clients(conn)
    if as_json:
        click.echo(json.dumps(rows, default=str))
        return
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        click.echo(f"{row['name']:<30} {row['role']:<16} {row['agency'] or '-':<14} {state}")


@clients.command("revoke")
@click.argument("name")
@click.pass_context
def clients_revoke(ctx: click.Context, name: str) -> None:
    """Revoke a client's token at once."""
    try:
        with load_instance(ctx).engine.begin() as conn:
            revoke_client(conn, name, now=_now())
    except ClientError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {name}")


@cli.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to the schema this version needs."""
    instance = load_instance(ctx)
    migrate.upgrade(instance.engine)
    click.echo(f"database at revision {migrate.current_revision(instance.engine)}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the database's schema revision and the one this version needs."""
    instance = load_instance(ctx)
    click.echo(f"current: {migrate.current_revision(instance.engine) or 'none'}")
    click.echo(f"needed:  {migrate.head_revision()}")


@cli.command()
@click.option("--host", default=None, help="Listen address (default: http_host from the config).")
@click.option("--port", type=int, default=None, help="Port (default: http_port from the config).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the HTTP API (and the relay to Kafka) until stopped.

    With tls_certfile/tls_keyfile in the config it serves HTTPS; with tls_client_ca_file too, it
    requires a client certificate signed by that CA (mutual TLS).
    """
    import ssl

    import uvicorn

    from gateway.app import create_app

    instance = load_instance(ctx)
    migrate.check_current(instance.engine)
    settings = instance.settings
    tls: dict[str, object] = {}
    if settings.tls_certfile is not None:
        tls = {"ssl_certfile": str(settings.tls_certfile), "ssl_keyfile": str(settings.tls_keyfile)}
        if settings.tls_client_ca_file is not None:  # mutual TLS: a client certificate is required
            tls |= {
                "ssl_ca_certs": str(settings.tls_client_ca_file),
                "ssl_cert_reqs": ssl.CERT_REQUIRED,
            }
    uvicorn.run(
        create_app(instance),
        host=host or settings.http_host,
        port=settings.http_port if port is None else port,
        log_level="info",
        access_log=False,  # request paths may name a person (subject reports): never log them
        **tls,  # type: ignore[arg-type]
    )


@cli.command()
@click.option("--once", is_flag=True, help="Publish what is waiting, then exit.")
@click.pass_context
def relay(ctx: click.Context, once: bool) -> None:
    """Publish the outbox to Kafka (standalone; `serve` runs one inside too).

    Several relays may run against one PostgreSQL database: no message is published twice.
    """
    import signal
    import threading

    from gateway.publisher import KafkaPublisher
    from gateway.relay import Relay
    from gateway.services import Services

    instance = load_instance(ctx)
    migrate.check_current(instance.engine)
    services = Services(instance)
    services.load()
    worker = Relay(
        services,
        KafkaPublisher(
            instance.settings.kafka_bootstrap_servers,
            request_timeout_ms=instance.settings.kafka_request_timeout_ms,
        ),
    )
    if once:
        total = 0
        while True:
            stats = worker.run_once()
            total += stats.delivered
            if stats.worked == 0 or stats.failed:
                break
        click.echo(f"delivered {total}")
        worker.publisher.close()
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo(f"relaying to {instance.settings.kafka_bootstrap_servers} (Ctrl-C stops)")
    worker.run(stop)


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-instance"),
    show_default=True,
    help="Where the demo instance is written (replaced on every run).",
)
@click.option("--families", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--seed", type=int, default=20261124, show_default=True)
@click.option(
    "--port",
    type=int,
    default=8080,
    show_default=True,
    help="HTTP port (a free one is taken if this one is busy).",
)
@click.option("--no-serve", is_flag=True, help="Exit after the summary instead of serving.")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the summary as JSON to this file.",
)
def demo(
    directory: Path, families: int, seed: int, port: int, no_serve: bool, json_out: Path | None
) -> None:
    """Run helhet end to end on the embedded defaults with a synthetic municipality.

    Starts the bundled broker and the gateway on SQLite, enrols synthetic families with
    consents of every kind, streams records from all five agencies through the HTTP API,
    consumes every topic with the receiver and prints a summary checked against the log.
    """
    import socket

    from gateway.demo.run import as_dict, run_demo

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            port = 0
    result = run_demo(
        directory,
        families=families,
        seed=seed,
        port=port or None,
        serve=not no_serve,
        echo=click.echo,
    )
    if json_out:
        json_out.write_text(json.dumps(as_dict(result), indent=2, default=str))
    if not result.adds_up:
        raise click.ClickException("the demo's numbers do not add up (see the checks above)")


def _add_commands() -> None:
    from gateway.commands import audit_cmd, receive, reconcile, translate

    audit_cmd.group.add_command(reconcile.command)
    cli.add_command(translate.command)
    cli.add_command(receive.command)
    cli.add_command(audit_cmd.group)


_add_commands()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except GatewayError as exc:
        click.echo(f"helhet: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
