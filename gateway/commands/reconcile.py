"""`helhet audit reconcile`: compare what is on the recipients' topics with the disclosure log."""

from __future__ import annotations

import json

import click

from schemas import Agency


@click.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.pass_context
def command(ctx: click.Context, as_json: bool) -> None:
    """Report Kafka messages without a disclosure entry and deliveries without their message.

    Exits 1 when anything does not match.
    """
    from gateway.context import load_instance
    from gateway.reconcile import reconcile

    instance = load_instance(ctx)
    settings = instance.settings
    topics = [settings.topic(a.value) for a in Agency]
    with instance.engine.connect() as conn:
        report = reconcile(conn, settings.kafka_bootstrap_servers, topics)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(
            f"{report.messages} message(s) on {len(topics)} topic(s); "
            f"{report.disclosures} disclosure and {report.deliveries} delivery entries"
        )
        for label, items in (
            ("without a disclosure entry", report.unlogged),
            ("altered (hash differs from the log)", report.altered),
            ("published more than once", report.duplicates),
        ):
            for m in items:
                click.echo(f"  {m.topic}[{m.partition}]@{m.offset} {m.message_id}: {label}")
        for where in report.missing:
            click.echo(
                f"  delivery of {where['message_id']} (entry {where['index']}) not found "
                f"at {where['topic']}[{where['partition']}]@{where['offset']}"
            )
        click.echo("reconcile: clean" if report.clean else "reconcile: MISMATCH")
    if not report.clean:
        ctx.exit(1)
