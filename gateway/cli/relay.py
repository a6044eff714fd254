"""`helhet relay`: publish the outbox to Kafka as a process of its own."""

from __future__ import annotations

import click

from gateway.checkpoints import rollback
from gateway.cli._context import load_instance, log_to_stderr


@click.command("relay")
@click.option("--once", is_flag=True, help="Publish what is waiting, then exit.")
@click.pass_context
def command(ctx: click.Context, once: bool) -> None:
    """Publish the outbox to Kafka (standalone; `serve` runs one inside too).

    Several relays may run against one PostgreSQL database: no message is published twice.
    On SIGTERM or Ctrl-C it publishes what is waiting for at most relay_drain_seconds, then
    exits (at once when nothing is waiting; a second Ctrl-C stops the drain).
    """
    from gateway.delivery.relay import drain, run_until_signalled

    instance = load_instance(ctx)
    instance.check_private_files()
    rollback.check_not_rolled_back(instance)
    if once:
        click.echo(f"delivered {drain(instance)}")
        return
    click.echo(f"relaying to {instance.settings.kafka_bootstrap_servers} (Ctrl-C stops)")
    log_to_stderr()
    run_until_signalled(instance)
