"""`helhet serve`: the HTTP API (and, unless configured off, the relay) until stopped."""

from __future__ import annotations

import click

from gateway.cli._context import load_instance, log_to_stderr


@click.command("serve")
@click.option("--host", default=None, help="Listen address (default: http_host from the config).")
@click.option("--port", type=int, default=None, help="Port (default: http_port from the config).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Intake worker processes on the one port (PostgreSQL only); the relay runs once.",
)
@click.pass_context
def command(ctx: click.Context, host: str | None, port: int | None, workers: int) -> None:
    """Run the HTTP API (and the relay to Kafka) until stopped.

    With tls_certfile/tls_keyfile in the config it serves HTTPS; with tls_client_ca_file too, it
    requires a client certificate signed by that CA (mutual TLS). SIGTERM or Ctrl-C shuts it
    down cleanly (the relay drains for at most relay_drain_seconds) with exit code 0.

    With --workers N (PostgreSQL only) N processes serve the API on the one port, and this
    process runs the relay, the checkpoints and the plan sweep once.
    """
    from gateway.api.server import WorkersNeedPostgres, check_workers, serve

    instance = load_instance(ctx)
    try:
        check_workers(instance, workers)
    except WorkersNeedPostgres as exc:
        raise click.UsageError(str(exc)) from exc
    log_to_stderr()
    serve(instance, host=host, port=port, workers=workers)
