"""The plan as the coordinator reads it: the family's entries at their latest versions, grouped
by kind, with the next meeting and the plan's state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from gateway.errors import UnknownFamily
from gateway.intake import families
from gateway.plan import store
from gateway.plan.family_copy import next_meeting
from gateway.plan.models import EntryKind


def plan_view(conn: sa.Connection, family_id: str, now: dt.datetime) -> dict[str, Any]:
    """The whole plan (404 for an unknown family, or one whose plan was deleted)."""
    plan = store.get_plan(conn, family_id)
    if plan is not None and plan.status == store.DELETED:
        raise UnknownFamily(
            f"the plan of family {family_id!r} was deleted", pointer="path:family_id"
        )
    family, _ = families.get(conn, family_id)
    entries = store.latest(conn, family_id)
    meeting = next_meeting(family, entries, now.astimezone(dt.UTC).date())
    grouped: dict[str, list[dict[str, Any]]] = {f"{k.value}s": [] for k in EntryKind}
    for entry in entries:
        grouped[f"{entry.kind.value}s"].append(entry.view())
    return {
        "family_id": family_id,
        "status": plan.status if plan is not None else store.OPEN,
        "version": plan.version if plan is not None else 0,
        "closed_at": plan.closed_at.isoformat() if plan and plan.closed_at else None,
        "team": [a.value for a in family.team],
        "next_meeting": (
            {"date": meeting[0].isoformat(), "participants": meeting[1]} if meeting else None
        ),
        **grouped,
    }
