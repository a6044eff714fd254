"""`helhet plan …`: the family plans' life: what will be deleted when, and the sweep that closes
ended plans and deletes those past their retention (`serve` runs it on a schedule too).
"""

from __future__ import annotations

import json

import click

from gateway.cli._context import load_instance, utcnow
from gateway.db.engine import reading


@click.group("plan")
def group() -> None:
    """Family plans: closing at the end of the enrolment, deletion after retention."""


@group.command("retention")
@click.argument("family_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def retention(ctx: click.Context, family_id: str | None, as_json: bool) -> None:
    """When each plan closes and when what the gateway holds about it is deleted.

    With FAMILY_ID, that family's plan only.
    """
    from gateway.db import migrate
    from gateway.plan import lifecycle

    instance = load_instance(ctx)
    migrate.check_current(instance.engine)
    now = utcnow()
    with reading(instance.engine) as conn:
        answers = (
            [lifecycle.retention(conn, instance.settings, family_id, now)]
            if family_id
            else lifecycle.all_retention(conn, instance.settings, now)
        )
    if as_json:
        click.echo(json.dumps([a.view() for a in answers], indent=2))
        return
    if not answers:
        click.echo("no families and no plans")
    for answer in answers:
        view = answer.view()
        held = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in view["will_delete"].items())
        when = view["delete_after"] or "when the enrolment ends (no end date yet) + retention"
        click.echo(f"{answer.family_id}  {answer.status}")
        click.echo(f"  closes:  {view['closes_at'] or 'no end date'}")
        if answer.deleted_at is not None:
            click.echo(f"  deleted: {view['deleted_at']}")
        else:
            click.echo(f"  deletes: {when} ({answer.retention_days} days after closing)")
            click.echo(f"  holds:   {held}")
    if answers:
        click.echo("kept: " + "; ".join(answers[0].kept))


@group.command("sweep")
@click.pass_context
def sweep(ctx: click.Context) -> None:
    """Close the plans whose enrolment ended (their consents lapse) and delete those past their
    retention, now."""
    from gateway.db import migrate
    from gateway.intake.services import Services
    from gateway.plan import lifecycle

    instance = load_instance(ctx)
    migrate.check_current(instance.engine)
    services = Services(instance)
    services.load()
    report = lifecycle.sweep(services, utcnow())
    for closed in report.closed:
        click.echo(
            f"closed {closed.family_id}: {closed.consents_lapsed} consent(s) lapsed, "
            f"{closed.notices} notice(s) queued"
        )
    for family_id in report.deleted:
        click.echo(f"deleted {family_id}")
    for family_id in report.waiting:
        click.echo(
            f"waiting {family_id}: messages still in the outbox (run the relay), "
            "or the family is enrolled again"
        )
    click.echo(
        f"{len(report.closed)} closed, {len(report.deleted)} deleted, {len(report.waiting)} waiting"
    )
