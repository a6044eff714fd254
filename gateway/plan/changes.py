"""Recording plan changes: check an entry against the family and the plan, store it as a new
version, forward it and each member's overview, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.errors import PlanError, StaleVersion, VersionRequired
from gateway.intake import families
from gateway.intake.pipeline import Route
from gateway.intake.services import Services
from gateway.plan import store
from gateway.plan.forwarding import forward_change, send_overviews
from gateway.plan.models import MODELS, EntryKind
from schemas import Family


@dataclass(frozen=True)
class Recorded:
    """A stored change and where it and the overviews went."""

    entry: store.Entry
    routes: list[Route]
    overviews: list[Route]

    def view(self) -> dict[str, Any]:
        return {
            **self.entry.view(),
            "routes": [r.model_dump(mode="json") for r in self.routes],
            "overviews": [r.model_dump(mode="json") for r in self.overviews],
        }


def _refuse(message: str, pointer: str) -> PlanError:
    return PlanError(message, pointer=pointer)


def check(
    kind: EntryKind, document: dict[str, Any], family: Family, entries: dict[str, store.Entry]
) -> None:
    """The entry's references hold: members of the family, agencies of its team, entries of
    its plan of the right kind. Raises PlanError naming the field."""
    team = {a.value for a in family.team}
    subject = document.get("subject")
    if subject is not None and family.member(subject) is None:
        raise _refuse("the subject is not a member of the family", "/subject")
    if kind is EntryKind.MEASURE:
        agency = document["responsible"]["agency"]
        if agency not in team:
            raise _refuse(f"{agency!r} is not in the family's team", "/responsible/agency")
    if kind is EntryKind.MEETING:
        for n, agency in enumerate(document["participants"]):
            if agency not in team:
                raise _refuse(f"{agency!r} is not in the family's team", f"/participants/{n}")
        for n, entry_id in enumerate(document.get("evaluated", [])):
            found = entries.get(entry_id)
            if found is None or found.kind not in (EntryKind.GOAL, EntryKind.MEASURE):
                raise _refuse(f"the plan has no goal or measure {entry_id!r}", f"/evaluated/{n}")
    if kind is EntryKind.EVALUATION:
        goal = entries.get(document["goal_id"])
        if goal is None or goal.kind is not EntryKind.GOAL:
            raise _refuse(f"the plan has no goal {document['goal_id']!r}", "/goal_id")
        meeting_id = document.get("meeting_id")
        if meeting_id is not None:
            meeting = entries.get(meeting_id)
            if meeting is None or meeting.kind is not EntryKind.MEETING:
                raise _refuse(f"the plan has no meeting {meeting_id!r}", "/meeting_id")


def _validated(kind: EntryKind, data: dict[str, Any]) -> dict[str, Any]:
    """The document as stored (JSON form, defaults filled); ValidationError if invalid."""
    return MODELS[kind].model_validate(data).model_dump(mode="json", exclude_none=True)


def _record(
    services: Services,
    conn: sa.Connection,
    entry: store.Entry,
    family: Family,
    *,
    client: str,
    now: dt.datetime,
) -> Recorded:
    routes = forward_change(services, conn, entry, family, client=client, now=now)
    overviews = send_overviews(services, conn, family.family_id, client=client, now=now)
    return Recorded(entry, routes, overviews)


def add_entry(
    services: Services,
    family_id: str,
    kind: EntryKind,
    data: dict[str, Any],
    *,
    client: str,
    now: dt.datetime,
) -> Recorded:
    """A new goal, measure, meeting or evaluation (raises ValidationError or PlanError)."""
    document = _validated(kind, data)
    with services.engine.begin() as conn:
        family, _ = families.get(conn, family_id)
        store.open_plan(conn, family_id, by=client, now=now)
        entries = {e.entry_id: e for e in store.latest(conn, family_id)}
        check(kind, document, family, entries)
        entry = store.add(conn, family_id, kind, document, by=client, now=now)
        return _record(services, conn, entry, family, client=client, now=now)


def parse_if_match(header: str | None) -> int:
    """The version an `If-Match` header names ("3" or W/"3"); 428 without one."""
    if header is None or not header.strip():
        raise VersionRequired(
            "say which version you change: If-Match with the entry's ETag",
            pointer="header:If-Match",
        )
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise StaleVersion(
            f"If-Match {header!r} is not a version of this entry", pointer="header:If-Match"
        )
    return int(value)


def change_entry(
    services: Services,
    family_id: str,
    entry_id: str,
    changes: dict[str, Any],
    *,
    if_match: int,
    client: str,
    now: dt.datetime,
) -> Recorded:
    """A new version of an entry with `changes` merged in (status, dates, text, …).

    `if_match` must be the latest version: a change is never made over one it has not seen.
    """
    with services.engine.begin() as conn:
        family, _ = families.get(conn, family_id)
        store.open_plan(conn, family_id, by=client, now=now)
        current = store.current(conn, family_id, entry_id)
        if current.version != if_match:
            raise StaleVersion(
                f"entry {entry_id!r} is at version {current.version}, not {if_match}",
                pointer="header:If-Match",
            )
        document = _validated(current.kind, {**current.document, **changes})
        entries = {e.entry_id: e for e in store.latest(conn, family_id)}
        check(current.kind, document, family, entries)
        entry = store.change(conn, current, document, by=client, now=now)
        return _record(services, conn, entry, family, client=client, now=now)
