"""Routing: subject -> the families they are enrolled in -> each family's team agencies.

A person may belong to several families (separated parents); each is served. Nothing goes back
to the agency that sent it, and a measure's details (`plan.measure`) go only to the agency
responsible for the measure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from consent.rules import PersonFacts
from gateway.db.tables import families, family_members
from gateway.intake.family_index import Enrolment, FamilySnapshot, active_on
from schemas import Category, PlanItem, PlanUpdate

__all__ = [
    "Enrolment",
    "Target",
    "enrolments",
    "for_recipient",
    "on_a_team",
    "person_facts",
    "targets",
    "teams",
]


@dataclass(frozen=True, slots=True)
class Target:
    """One subject's items of one update, to be decided for one recipient in one family."""

    update: PlanUpdate
    subject: str
    items: list[PlanItem]
    facts: PersonFacts
    family_id: str
    recipient: str


def enrolments(conn: sa.Connection, person: str, at: dt.date) -> list[Enrolment]:
    """The families a person belongs to that are active on `at`, with their teams."""
    rows = conn.execute(
        sa.select(families.c.family_id, families.c.document)
        .join(family_members, family_members.c.family_id == families.c.family_id)
        .where(family_members.c.person_id == person)
        .order_by(families.c.family_id)
    )
    return [
        Enrolment(row.family_id, tuple(row.document["team"]))
        for row in rows
        if active_on(row.document.get("period"), at)
    ]


def teams(conn: sa.Connection, family_ids: set[str]) -> dict[str, tuple[str, ...]]:
    """The team of each of the families named."""
    if not family_ids:
        return {}
    rows = conn.execute(
        sa.select(families.c.family_id, families.c.document).where(
            families.c.family_id.in_(sorted(family_ids))
        )
    )
    return {row.family_id: tuple(row.document["team"]) for row in rows}


def on_a_team(conn: sa.Connection, person: str, agency: str, at: dt.date) -> bool:
    """Whether `agency` is on the team of one of the person's families active on `at`."""
    return any(agency in enrolment.team for enrolment in enrolments(conn, person, at))


def person_facts(conn: sa.Connection, person: str) -> PersonFacts | None:
    """Birth date and every guardian recorded for the person in any family (None if unknown)."""
    rows = conn.execute(
        sa.select(family_members.c.birth_date, family_members.c.guardians).where(
            family_members.c.person_id == person
        )
    ).all()
    if not rows:
        return None
    guardians: set[str] = set()
    for row in rows:
        guardians.update(row.guardians)
    return PersonFacts.of(person, rows[0].birth_date, guardians)


def targets(
    registry: FamilySnapshot, updates: list[PlanUpdate], source: str, today: dt.date
) -> Iterator[Target]:
    """Every (subject, family, team agency) the updates concern, never back to `source`,
    from the family index's snapshot (`services.families.refresh(conn)`)."""
    known: dict[str, tuple[list[Enrolment], PersonFacts | None]] = {}
    for update in updates:
        for subject in update.subjects:
            if subject not in known:  # a multi-record body often repeats its persons
                enrolled = registry.enrolments(subject, today)
                known[subject] = (enrolled, registry.person_facts(subject) if enrolled else None)
            enrolled, facts = known[subject]
            if not enrolled:
                continue
            assert facts is not None  # enrolled persons have facts
            items = [item for item in update.items if item.subject == subject]
            for enrolment in enrolled:
                for recipient in enrolment.team:
                    if recipient == source:
                        continue
                    routed = for_recipient(items, recipient)
                    if routed:
                        yield Target(update, subject, routed, facts, enrolment.family_id, recipient)


def for_recipient(items: list[PlanItem], recipient: str) -> list[PlanItem]:
    """The items that may be routed to `recipient` at all (consent decides after this): a
    measure's details only to the agency responsible for it."""
    return [
        item
        for item in items
        if item.category is not Category.PLAN_MEASURE
        or (item.responsible is not None and item.responsible.agency == recipient)
    ]
