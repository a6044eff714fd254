"""`helhet broker`: the bundled Kafka-protocol broker in the foreground, for trying helhet out.

It keeps everything in memory: stopping it loses every topic. Production uses Apache Kafka.
"""

from __future__ import annotations

import click


@click.command("broker")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=9092,
    show_default=True,
    envvar="HELHET_BROKER_PORT",
    help="Port on 127.0.0.1 (or $HELHET_BROKER_PORT).",
)
def command(port: int) -> None:
    """Run the bundled Kafka-protocol broker on 127.0.0.1:PORT until Ctrl-C.

    For trying helhet out and for tests: it keeps every topic in memory only, so a restart loses
    them (and `helhet audit reconcile` then finds earlier deliveries missing). An instance in
    production points kafka_bootstrap_servers at Apache Kafka instead.
    """
    import signal
    import threading

    from gateway.kafka.broker import EmbeddedBroker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with EmbeddedBroker(port=port) as broker:
        click.echo(f"bundled broker on {broker.bootstrap_servers} (memory only; Ctrl-C stops)")
        while not stop.wait(1.0):
            if not broker.running:
                raise click.ClickException("the bundled broker stopped by itself")
    click.echo("bundled broker stopped; its topics are gone")
