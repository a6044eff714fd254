"""Verifying the log from the console: one run at a time in the background, its progress, and
a tampered log reported as failed."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.checkpoints.issuer import issue_now
from gateway.config.instance import Instance
from gateway.console.verification import Verifier
from gateway.intake.services import Services
from tests.helpers import intake


def fill(services: Services) -> None:
    number, _ = intake.young_adult_family(services, ["school", "health"])
    intake.consent(services, number, sources=["*"], recipients=["*"], categories=["*"])
    intake.forward(services, "school", [intake.plan_update("school", number, ["employment"])])
    issue_now(services.instance)


def test_a_run_checks_every_entry_and_reports_ok(instance: Instance, services: Services) -> None:
    fill(services)
    verifier = Verifier(instance)
    run = verifier.start("dpo")
    again = verifier.start("someone else")  # a second start while running joins the first
    assert again.started_by == "dpo" or not again.running
    done = verifier.wait(30)
    assert done is not None and not done.running
    assert done.ok is True and done.entries == run.total and done.checked == run.total
    assert done.percent == 100 and done.checkpoints_checked == 1
    assert done.as_dict()["problems"] == 0


def test_a_changed_entry_fails_the_run(instance: Instance, services: Services) -> None:
    fill(services)
    with instance.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entries SET outcome = 'tampered' WHERE idx = 1"))
    verifier = Verifier(instance)
    verifier.start("dpo")
    done = verifier.wait(30)
    assert done is not None and done.ok is False
    assert any("entry 1 was changed" in p for p in done.problems)
