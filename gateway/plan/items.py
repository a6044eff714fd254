"""Plan entries as common-schema items: what a change forwards (`change_update`) and the parts
the overview is made of. Categories: goals and evaluations `plan.goal`, a measure's details
`plan.measure`, meetings `plan.coordination`; the overview's own items `plan.overview`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from gateway.plan.models import ITEM_STATUS, EntryKind
from gateway.plan.store import Entry
from schemas import (
    Category,
    Family,
    ItemKind,
    ItemStatus,
    Period,
    PlanAuthor,
    PlanItem,
    PlanUpdate,
    Responsible,
    Source,
)

SYSTEM = "helhet-plan"
RESULT_TITLES = {"reached": "Goal reached", "partly": "Goal partly reached"}


def update_of(
    record_type: str, record_id: str, items: list[PlanItem], now: dt.datetime
) -> PlanUpdate:
    """A PlanUpdate from the coordinator."""
    return PlanUpdate(
        update_id=uuid.uuid4().hex,
        source=Source(
            agency=PlanAuthor.COORDINATOR,
            system=SYSTEM,
            record_type=record_type,
            record_id=record_id,
            received_at=now,
        ),
        items=items,
    )


def _values(entry: Entry, **more: Any) -> dict[str, Any]:
    found = {"entry_version": entry.version, **more}
    return {k: v for k, v in found.items() if v is not None}


def goal_item(entry: Entry, evaluation: Entry | None = None) -> PlanItem:
    doc = entry.document
    latest = None
    if evaluation is not None:
        latest = {
            "result": evaluation.document["result"],
            "date": evaluation.document.get("date") or evaluation.recorded_at.date().isoformat(),
        }
    return PlanItem(
        item_id=entry.entry_id,
        subject=doc["subject"],
        kind=ItemKind.GOAL,
        category=Category.PLAN_GOAL,
        title=doc["title"],
        description=doc.get("description"),
        status=ITEM_STATUS[doc["status"]],
        values=_values(entry, due=doc.get("due"), evaluation=latest),
    )


def measure_item(entry: Entry) -> PlanItem:
    """The measure with its details (plan.measure): for the responsible agency."""
    doc = entry.document
    return PlanItem(
        item_id=entry.entry_id,
        subject=doc["subject"],
        kind=ItemKind.MEASURE,
        category=Category.PLAN_MEASURE,
        title=doc["title"],
        description=doc.get("description"),
        status=ITEM_STATUS[doc["status"]],
        period=Period.model_validate(doc["period"]) if doc.get("period") else None,
        responsible=Responsible.model_validate(doc["responsible"]),
        values=_values(entry, due=doc.get("due")),
    )


def meeting_items(entry: Entry, family: Family, category: Category, title: str) -> list[PlanItem]:
    """A meeting concerns the whole family: one item per member, each decided on its own."""
    doc = entry.document
    day = dt.date.fromisoformat(doc["date"])
    values = {"date": doc["date"], "participants": doc["participants"]}
    if category is Category.PLAN_COORDINATION:
        values["evaluated"] = doc.get("evaluated", [])
    return [
        PlanItem(
            item_id=f"{entry.entry_id}.{number}",
            subject=member.id,
            kind=ItemKind.EVENT,
            category=category,
            title=title,
            status=ITEM_STATUS[doc["status"]],
            period=Period(start=day, end=day + dt.timedelta(days=1)),
            values=_values(entry, **values),
        )
        for number, member in enumerate(family.members)
    ]


def evaluation_item(entry: Entry, goal: Entry) -> PlanItem:
    doc = entry.document
    return PlanItem(
        item_id=entry.entry_id,
        subject=goal.document["subject"],
        kind=ItemKind.EVALUATION,
        category=Category.PLAN_GOAL,
        title=RESULT_TITLES.get(doc["result"], "Goal not reached"),
        description=doc["text"],
        status=ItemStatus.RECORDED,
        values=_values(
            entry,
            goal=doc["goal_id"],
            result=doc["result"],
            date=doc.get("date") or entry.recorded_at.date().isoformat(),
            meeting=doc.get("meeting_id"),
        ),
    )


def change_items(entry: Entry, family: Family, entries: dict[str, Entry]) -> list[PlanItem]:
    """What one change of `entry` forwards (`entries`: the plan's latest, by id)."""
    if entry.kind is EntryKind.GOAL:
        return [goal_item(entry)]
    if entry.kind is EntryKind.MEASURE:
        return [measure_item(entry)]
    if entry.kind is EntryKind.MEETING:
        return meeting_items(entry, family, Category.PLAN_COORDINATION, "Review meeting")
    return [evaluation_item(entry, entries[entry.document["goal_id"]])]


def change_update(
    entry: Entry, family: Family, entries: dict[str, Entry], now: dt.datetime
) -> PlanUpdate:
    return update_of(
        f"plan.{entry.kind.value}",
        f"{entry.entry_id}@{entry.version}",
        change_items(entry, family, entries),
        now,
    )
