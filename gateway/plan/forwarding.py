"""Plan changes and overviews forwarded to the team through the intake, exactly like an agency's
record: routed, decided per item and recipient, minimised, sealed and logged in the caller's
transaction (source `coordinator`); and the coordinator's preview of a member's overview.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from gateway.intake import families, routing
from gateway.intake.minimise import minimise
from gateway.intake.pipeline import Route, forward, forward_targets, merge_routes
from gateway.intake.services import Services
from gateway.plan import store
from gateway.plan.items import change_update, update_of
from gateway.plan.overview import RECORD_TYPE, overview_items
from schemas import Family, PlanAuthor, PlanItem

SOURCE = PlanAuthor.COORDINATOR.value


def forward_change(
    services: Services,
    conn: sa.Connection,
    entry: store.Entry,
    family: Family,
    *,
    client: str,
    now: dt.datetime,
) -> list[Route]:
    """Forward one change of an entry to the team."""
    entries = {e.entry_id: e for e in store.latest(conn, family.family_id)}
    update = change_update(entry, family, entries, now)
    return forward(
        services, conn, [update], agency=SOURCE, client=client, record_id=entry.change_id, now=now
    )


def _overview_targets(
    services: Services,
    conn: sa.Connection,
    family: Family,
    recipient: str,
    now: dt.datetime,
) -> list[routing.Target]:
    plan = store.get_plan(conn, family.family_id)
    entries = store.latest(conn, family.family_id)
    items = overview_items(services, conn, family, entries, recipient, now)
    if not items:
        return []
    version = plan.version if plan is not None else 0
    update = update_of(RECORD_TYPE, f"{family.family_id}@{version}", items, now)
    today = now.astimezone(dt.UTC).date()
    return [
        t
        for t in routing.targets(services.families.refresh(conn), [update], SOURCE, today)
        if t.recipient == recipient and t.family_id == family.family_id
    ]


def send_overviews(
    services: Services,
    conn: sa.Connection,
    family_id: str,
    *,
    recipients: list[str] | None = None,
    client: str,
    now: dt.datetime,
) -> list[Route]:
    """Each member's overview (default: every team member), decided, sealed and logged."""
    services.consents.refresh(conn)
    family, _ = families.get(conn, family_id)
    wanted = [a.value for a in family.team if recipients is None or a.value in recipients]
    targets = [t for r in wanted for t in _overview_targets(services, conn, family, r, now)]
    by_update = forward_targets(
        services,
        conn,
        targets,
        agency=SOURCE,
        client=client,
        record_id=uuid.uuid4().hex,
        now=now,
    )
    return merge_routes(by_update.values())


def preview(
    services: Services, conn: sa.Connection, family: Family, recipient: str, now: dt.datetime
) -> dict[str, Any]:
    """What `recipient`'s overview would hold now, and what consent withholds (nothing sent)."""
    services.consents.refresh(conn)
    targets = _overview_targets(services, conn, family, recipient, now)
    minimised = minimise(services, targets, source=SOURCE, now=now)
    shown: list[PlanItem] = [item for m in minimised.messages for item in m.items]
    plan = store.get_plan(conn, family.family_id)
    return {
        "family_id": family.family_id,
        "recipient": recipient,
        "plan_version": plan.version if plan is not None else 0,
        "at": now.isoformat(),
        **grouped(shown),
        "withheld": [
            {"subject": r.subject, "categories": r.categories, "reason": r.reason, "items": r.items}
            for r in minimised.refusals
        ],
    }


def grouped(items: list[PlanItem]) -> dict[str, Any]:
    """Overview items as people read them: goals, measures per agency, meetings, records."""
    measures: dict[str, list[dict[str, Any]]] = {}
    out: dict[str, Any] = {"goals": [], "measures": measures, "meetings": [], "records": []}
    seen_meetings: set[str] = set()
    for item in items:
        data = item.model_dump(mode="json", exclude_none=True)
        if item.kind.value == "goal":
            out["goals"].append(data)
        elif item.kind.value == "measure" and item.responsible is not None:
            measures.setdefault(item.responsible.agency.value, []).append(data)
        elif item.kind.value == "event":
            key = f"{item.title}@{item.values.get('date')}"
            if key not in seen_meetings:  # one item per member; people read one meeting
                seen_meetings.add(key)
                out["meetings"].append({k: v for k, v in data.items() if k != "subject"})
        else:
            out["records"].append(data)
    return out
