"""The overview of a family's plan for one team member: goals, each agency's measures with status
and dates, the meetings, and what each agency's records sent this member (metadata only).

Built only from what the gateway keeps: the coordinator's entries and the outbox and log rows
of forwarded messages, never from their content. Consent decides every item, as for any record.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from audit.tables import audit_entries
from consent.rules import PersonFacts
from gateway.db import outbox as outbox_states
from gateway.db.tables import outbox
from gateway.intake import routing
from gateway.intake.minimise import PURPOSE
from gateway.intake.services import Services
from gateway.plan.items import goal_item, measure_item, meeting_items
from gateway.plan.models import EntryKind
from gateway.plan.store import Entry
from schemas import (
    Category,
    Family,
    ItemKind,
    ItemStatus,
    Period,
    PlanAuthor,
    PlanItem,
    Responsible,
)

RECORD_TYPE = "overview"


@dataclass
class _Forwarded:
    categories: set[str] = field(default_factory=set)
    messages: int = 0
    latest: dt.date | None = None


def _measure(entry: Entry) -> PlanItem:
    """A measure as the whole team sees it: what, whose, status and dates; no details."""
    item = measure_item(entry)
    assert item.responsible is not None
    return item.model_copy(
        update={
            "category": Category.PLAN_OVERVIEW,
            "description": None,
            "responsible": Responsible(agency=item.responsible.agency),
        }
    )


def _meetings(family: Family, entries: list[Entry], today: dt.date) -> list[PlanItem]:
    meetings = [e for e in entries if e.kind is EntryKind.MEETING]
    planned = sorted(
        (
            e
            for e in meetings
            if e.document["status"] == "planned" and e.document["date"] >= str(today)
        ),
        key=lambda e: e.document["date"],
    )
    held = sorted(
        (e for e in meetings if e.document["status"] == "held"), key=lambda e: e.document["date"]
    )
    items: list[PlanItem] = []
    if planned:
        items += meeting_items(planned[0], family, Category.PLAN_OVERVIEW, "Next review meeting")
    elif family.next_evaluation is not None and family.next_evaluation >= today:
        day = family.next_evaluation
        items += [
            PlanItem(
                item_id=f"next-evaluation.{number}",
                subject=member.id,
                kind=ItemKind.EVENT,
                category=Category.PLAN_OVERVIEW,
                title="Next review meeting",
                status=ItemStatus.PLANNED,
                period=Period(start=day, end=day + dt.timedelta(days=1)),
                values={"date": day.isoformat()},
            )
            for number, member in enumerate(family.members)
        ]
    if held:
        items += meeting_items(held[-1], family, Category.PLAN_OVERVIEW, "Last review meeting")
    return items


def _forwarded(
    services: Services, conn: sa.Connection, family: Family, recipient: str, now: dt.datetime
) -> list[PlanItem]:
    """Per agency and person: the categories of records sent to `recipient` in this family
    that consent still lets it see, how many messages, and the latest date."""
    members = {services.pseudonym(m.id): (n, m.id) for n, m in enumerate(family.members)}
    rows = conn.execute(
        sa.select(
            outbox.c.source, outbox.c.categories, outbox.c.created_at, audit_entries.c.subject
        )
        .join(audit_entries, audit_entries.c.idx == outbox.c.disclosure_index)
        .where(
            outbox.c.family_id == family.family_id,
            outbox.c.recipient == recipient,
            outbox.c.kind == "plan_update",
            outbox.c.source != PlanAuthor.COORDINATOR.value,
            outbox.c.status != outbox_states.WITHHELD,
        )
        .order_by(outbox.c.id)
    )
    found: dict[tuple[str, int], _Forwarded] = defaultdict(_Forwarded)
    facts_of: dict[str, PersonFacts | None] = {}
    for row in rows:
        if row.subject not in members:
            continue
        number, person = members[row.subject]
        if person not in facts_of:
            facts_of[person] = routing.person_facts(conn, person)
        facts = facts_of[person]
        if facts is None:
            continue
        still = [
            c
            for c in row.categories
            if services.consents.decide(
                person, row.source, recipient, c, PURPOSE, now, facts
            ).permit
        ]
        if not still:
            continue
        acc = found[(row.source, number)]
        acc.categories.update(still)
        acc.messages += 1
        created = row.created_at.date()
        acc.latest = created if acc.latest is None else max(acc.latest, created)
    items = []
    for (source, number), acc in sorted(found.items()):
        items.append(
            PlanItem(
                item_id=f"records-{source}.{number}",
                subject=family.members[number].id,
                kind=ItemKind.OBSERVATION,
                category=Category.PLAN_OVERVIEW,
                title=f"Records from {source}",
                status=ItemStatus.RECORDED,
                values={
                    "source": source,
                    "categories": sorted(acc.categories),
                    "messages": acc.messages,
                    "latest": acc.latest.isoformat() if acc.latest else None,
                },
            )
        )
    return items


def overview_items(
    services: Services,
    conn: sa.Connection,
    family: Family,
    entries: list[Entry],
    recipient: str,
    now: dt.datetime,
) -> list[PlanItem]:
    """Every item of `recipient`'s overview before consent is asked (minimisation decides)."""
    today = now.astimezone(dt.UTC).date()
    evaluations: dict[str, Entry] = {}
    for entry in entries:
        if entry.kind is EntryKind.EVALUATION:
            goal = entry.document["goal_id"]
            known = evaluations.get(goal)
            if known is None or _evaluated_on(entry) >= _evaluated_on(known):
                evaluations[goal] = entry
    items = [goal_item(e, evaluations.get(e.entry_id)) for e in entries if e.kind is EntryKind.GOAL]
    items += [_measure(e) for e in entries if e.kind is EntryKind.MEASURE]
    items += _meetings(family, entries, today)
    items += _forwarded(services, conn, family, recipient, now)
    return items


def _evaluated_on(entry: Entry) -> str:
    return str(entry.document.get("date") or entry.recorded_at.date().isoformat())
