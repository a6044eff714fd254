"""The plan's life on both databases: closing when the enrolment ends (consents lapse unless
another active family needs them), deletion after retention, and what is kept."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from audit import log as audit_log
from consent import store as consent_store
from gateway.db import outbox as outbox_states
from gateway.db.tables import families, family_members, outbox, plan_entries
from gateway.intake import families as registry
from gateway.intake.services import Services
from gateway.plan import lifecycle, store
from tests.helpers.intake import NOW, consent, enrol, person
from tests.helpers.plan import add

YESTERDAY = (NOW - dt.timedelta(days=1)).date()


def _count(services: Services, table: sa.Table, *where: object) -> int:
    with services.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        )


def _status(services: Services, consent_id: str) -> str:
    with services.engine.connect() as conn:
        return consent_store.get(conn, consent_id).status.value


def test_sweep_closes_ended_enrolments_and_lapses_their_consents(services: Services) -> None:
    parent, parent_born = person(40)
    child, child_born = person(10)
    ended = enrol(
        services,
        [
            {"id": parent, "role": "parent", "birth_date": parent_born.isoformat()},
            {
                "id": child,
                "role": "child",
                "birth_date": child_born.isoformat(),
                "guardians": [parent],
            },
        ],
        ["nav"],
        period={"start": "2020-01-01", "end": YESTERDAY.isoformat()},
    )
    # The child lives in another, still active family too (the other parent's).
    other_parent, other_born = person(41)
    active = enrol(
        services,
        [
            {"id": other_parent, "role": "parent", "birth_date": other_born.isoformat()},
            {
                "id": child,
                "role": "child",
                "birth_date": child_born.isoformat(),
                "guardians": [parent],
            },
        ],
        ["school"],
    )
    parents = consent(services, parent, sources=["*"], recipients=["*"], categories=["*"])
    childs = consent(
        services,
        child,
        given_by=[parent],
        sources=["*"],
        recipients=["*"],
        categories=["plan.goal"],
    )
    report = lifecycle.sweep(services, NOW)
    assert [c.family_id for c in report.closed] == [ended]
    assert report.closed[0].consents_lapsed == 1
    assert _status(services, parents) == "withdrawn"
    assert _status(services, childs) == "active"  # the other family's plan still needs it
    with services.engine.connect() as conn:
        plan = store.get_plan(conn, ended)
        assert store.get_plan(conn, active) is None
    assert plan is not None and plan.status == store.CLOSED
    assert plan.delete_after == plan.closed_at + dt.timedelta(
        days=services.settings.plan_retention_days
    )
    assert lifecycle.sweep(services, NOW).closed == []  # closed once


def test_deletion_after_retention_keeps_the_log(services: Services) -> None:
    parent, born = person(40)
    family_id = enrol(
        services, [{"id": parent, "role": "parent", "birth_date": born.isoformat()}], ["nav"]
    )
    consent(services, parent, sources=["coordinator"], recipients=["nav"], categories=["*"])
    add(services, family_id, "goal", subject=parent, title="Komme i jobb")
    with services.engine.begin() as conn:
        closed = lifecycle.close(
            services, conn, family_id, reason="goals reached", by="coordinator", now=NOW
        )
        before = lifecycle.retention(conn, services.settings, family_id, NOW)
        log_size = audit_log.tree_size(conn)
    assert closed.consents_lapsed == 1
    assert before.status == "closed" and before.will_delete.plan_entries == 1
    assert before.will_delete.family_registry == 1 and before.will_delete.outbox_rows >= 1
    later = before.delete_after
    assert later is not None
    assert lifecycle.sweep(services, later - dt.timedelta(seconds=1)).deleted == []
    # Messages still waiting for the relay hold the deletion back.
    assert lifecycle.sweep(services, later).waiting == [family_id]
    with services.engine.begin() as conn:
        ids = [r.id for r in conn.execute(sa.select(outbox.c.id))]
        outbox_states.withhold(conn, ids)
    assert lifecycle.sweep(services, later).deleted == [family_id]
    for table, column in (
        (plan_entries, plan_entries.c.family_id),
        (families, families.c.family_id),
        (family_members, family_members.c.family_id),
        (outbox, outbox.c.family_id),
    ):
        assert _count(services, table, column == family_id) == 0, table.name
    with services.engine.connect() as conn:
        assert audit_log.tree_size(conn) == log_size  # the log keeps its entries
        after = lifecycle.retention(conn, services.settings, family_id, later)
    assert after.status == "deleted" and after.deleted_at == later
    assert after.will_delete == lifecycle.Holdings()


def test_retention_before_the_enrolment_ends(services: Services) -> None:
    parent, born = person(40)
    end = NOW.date() + dt.timedelta(days=200)
    family_id = enrol(
        services,
        [{"id": parent, "role": "parent", "birth_date": born.isoformat()}],
        ["nav"],
        period={"start": "2020-01-01", "end": end.isoformat()},
    )
    with services.engine.connect() as conn:
        answer = lifecycle.retention(conn, services.settings, family_id, NOW)
    start = dt.datetime.combine(end, dt.time(0), tzinfo=dt.UTC)
    assert answer.status == "open" and answer.closes_at == start
    assert answer.delete_after == start + dt.timedelta(days=services.settings.plan_retention_days)
    assert answer.will_delete.family_members == 1 and answer.will_delete.plan_entries == 0
    assert lifecycle.sweep(services, NOW).closed == []


def test_a_family_enrolled_again_is_not_deleted(services: Services) -> None:
    parent, born = person(40)
    family_id = enrol(
        services, [{"id": parent, "role": "parent", "birth_date": born.isoformat()}], ["nav"]
    )
    with services.engine.begin() as conn:
        lifecycle.close(services, conn, family_id, reason="moved", by="coordinator", now=NOW)
        # The family came back: the coordinator extends the period after the plan closed.
        registry.patch(
            conn,
            family_id,
            registry.FamilyPatch.model_validate({"period": {"start": "2020-01-01"}}),
            now=NOW,
        )
        due = lifecycle.retention(conn, services.settings, family_id, NOW).delete_after
    assert due is not None
    report = lifecycle.sweep(services, due)
    assert report.waiting == [family_id] and report.deleted == []
    assert _count(services, families, families.c.family_id == family_id) == 1
