"""`helhet serve`: the HTTP API (and, unless configured off, the relay) until stopped."""

from __future__ import annotations

import click

from gateway.cli._context import load_instance, log_to_stderr


@click.command("serve")
@click.option("--host", default=None, help="Listen address (default: http_host from the config).")
@click.option("--port", type=int, default=None, help="Port (default: http_port from the config).")
@click.pass_context
def command(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the HTTP API (and the relay to Kafka) until stopped.

    With tls_certfile/tls_keyfile in the config it serves HTTPS; with tls_client_ca_file too, it
    requires a client certificate signed by that CA (mutual TLS). SIGTERM or Ctrl-C shuts it
    down cleanly (the relay drains for at most relay_drain_seconds) with exit code 0.
    """
    from gateway.api.server import serve

    log_to_stderr()
    serve(load_instance(ctx), host=host, port=port)
