"""The coordinator's families: the list, enrolling a family (members with their roles and who
holds parental responsibility, the team of agencies), and a family's overview — its consents
and which agencies have received which categories and when, never the content.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from audit.entries import EntryType
from audit.query import Filters, iter_entries
from consent import store
from gateway.api import access_log, policy
from gateway.api.deps import ServicesDep
from gateway.console.deps import Form, FormatterDep, FormDep, allowed, respond
from gateway.console.i18n import Formatter, field_message
from gateway.console.sessions import Session
from gateway.db import outbox
from gateway.db.engine import reading
from gateway.errors import FamilyError, PageNotFound
from gateway.intake import families
from gateway.intake.services import Services
from schemas import Agency, Family

router = APIRouter(include_in_schema=False)
Coordinator = Annotated[Session, Depends(allowed(policy.MANAGE_FAMILIES))]

MEMBER_ROWS = 6
ROLES = ("parent", "child", "young_adult", "other")
FAMILY_READ = "/console/families/{family_id}"


def load_family(services: Services, family_id: str) -> Family:
    try:
        with reading(services.engine) as conn:
            family, _ = families.get(conn, family_id)
    except FamilyError as exc:
        raise PageNotFound(str(exc)) from exc
    return family


def age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@router.get("/console/families")
def family_list(
    request: Request, fmt: FormatterDep, session: Coordinator, services: ServicesDep
) -> Response:
    with reading(services.engine) as conn:
        found = families.recent(conn)
    return respond(request, "families.html", fmt, session, families=found)


# --- enrol --------------------------------------------------------------------------------------


def _blank_rows() -> list[dict[str, str]]:
    return [{"id": "", "birth": "", "role": "", "guardian": ""} for _ in range(MEMBER_ROWS)]


def _enrol_page(
    request: Request,
    fmt: Formatter,
    session: Session,
    *,
    rows: list[dict[str, str]],
    team: list[str],
    coordinator: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return respond(
        request,
        "family_new.html",
        fmt,
        session,
        status=status,
        get_path="/console/families/new",
        rows=rows,
        team=team,
        coordinator=coordinator,
        errors=errors,
        roles=ROLES,
        agencies=[a.value for a in Agency],
    )


@router.get("/console/families/new")
def enrol_form(request: Request, fmt: FormatterDep, session: Coordinator) -> Response:
    principal = session.principal
    return _enrol_page(
        request,
        fmt,
        session,
        rows=_blank_rows(),
        team=[],
        coordinator={
            "name": principal.name,
            "agency": principal.agency or "family_centre",
            "contact": "",
        },
        errors={},
    )


def family_in(
    rows: list[dict[str, str]], form: Form, fmt: Formatter
) -> tuple[families.FamilyIn | None, dict[str, str]]:
    """The family of the form, or errors by field name (`member-2-id`, `team`, …)."""
    filled = [i for i, row in enumerate(rows) if row["id"] or row["birth"]]
    guardians = [
        rows[i]["id"] for i in filled if rows[i]["guardian"] and rows[i]["role"] == "parent"
    ]
    members = []
    for i in filled:
        row = rows[i]
        role = row["role"] or "child"
        members.append(
            {
                "id": row["id"],
                "role": "child" if role == "young_adult" else role,
                "birth_date": row["birth"] or None,
                "guardians": guardians if role == "child" else [],
            }
        )
    body: dict[str, Any] = {
        "members": members,
        "team": form.getlist("team"),
        "coordinator": {
            "agency": form.get("coordinator_agency"),
            "name": form.get("coordinator_name"),
            "contact": form.get("coordinator_contact") or None,
        },
    }
    try:
        return families.FamilyIn.model_validate(body), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            message = field_message(error, fmt)
            if loc[0] == "members" and len(loc) > 1 and loc[1].isdigit():
                number = filled[int(loc[1])]
                part = {"id": "id", "birth_date": "birth", "role": "role"}.get(
                    loc[2] if len(loc) > 2 else "id", "id"
                )
                errors.setdefault(f"member-{number}-{part}", message)
            elif loc[0] == "members":
                errors.setdefault("members", message)
            elif loc[0] == "coordinator":
                errors.setdefault(f"coordinator_{loc[1] if len(loc) > 1 else 'name'}", message)
            else:
                errors.setdefault(loc[0], message)
        return None, errors


@router.post("/console/families/new")
def enrol(
    request: Request, fmt: FormatterDep, session: Coordinator, form: FormDep, services: ServicesDep
) -> Response:
    rows = [
        {
            "id": form.get(f"member-{i}-id"),
            "birth": form.get(f"member-{i}-birth"),
            "role": form.get(f"member-{i}-role"),
            "guardian": form.get(f"member-{i}-guardian"),
        }
        for i in range(MEMBER_ROWS)
    ]
    coordinator = {
        "name": form.get("coordinator_name"),
        "agency": form.get("coordinator_agency"),
        "contact": form.get("coordinator_contact"),
    }
    data, errors = family_in(rows, form, fmt)
    if data is not None:
        try:
            with services.engine.begin() as conn:
                family = families.create(
                    conn,
                    data,
                    municipality=services.settings.municipality,
                    by=session.principal.name,
                    now=dt.datetime.now(dt.UTC),
                )
        except FamilyError as exc:
            errors = {"members": str(exc)}
        else:
            session.flash.append(fmt.gettext("The family is enrolled."))
            return RedirectResponse(f"/console/families/{family.family_id}", status_code=303)
    return _enrol_page(
        request,
        fmt,
        session,
        rows=rows,
        team=form.getlist("team"),
        coordinator=coordinator,
        errors=errors,
        status=422,
    )


# --- overview -----------------------------------------------------------------------------------


@dataclass
class Received:
    """What one agency has received about one member in one category (never the content)."""

    person: str
    recipient: str
    category: str
    first: dt.datetime
    last: dt.datetime
    times: int


def received(services: Services, family: Family) -> list[Received]:
    """From the log: each disclosure to an agency under this family, by person and category."""
    found: dict[tuple[str, str, str], Received] = {}
    with reading(services.engine) as conn:
        for member in family.members:
            filters = Filters(
                subject=services.pseudonym(member.id), event_type=EntryType.DISCLOSURE
            )
            for entry in iter_entries(conn, filters):
                if entry.family_id != family.family_id or not entry.recipient:
                    continue
                for category in entry.categories:
                    key = (member.id, entry.recipient, category)
                    known = found.get(key)
                    if known is None:
                        found[key] = Received(
                            member.id,
                            entry.recipient,
                            category,
                            entry.recorded_at,
                            entry.recorded_at,
                            1,
                        )
                    else:
                        known.last = entry.recorded_at
                        known.times += 1
    return sorted(found.values(), key=lambda r: (r.recipient, r.person, r.category))


@router.get("/console/families/{family_id}")
def overview(
    request: Request, fmt: FormatterDep, session: Coordinator, services: ServicesDep, family_id: str
) -> Response:
    family = load_family(services, family_id)
    today = dt.datetime.now(dt.UTC).date()
    consents: dict[str, list[Any]] = {}
    with reading(services.engine) as conn:
        for member in family.members:
            consents[member.id] = store.list_for_subject(conn, member.id)
        waiting: dict[str, int] = defaultdict(int)
        for status, recipient, count in outbox.backlog_of_family(conn, family_id):
            if status in outbox.UNFINISHED:
                waiting[recipient] += count
    deliveries = received(services, family)
    access_log.record_reads(
        services.engine,
        client=session.principal.name,
        read=FAMILY_READ,
        subject_pseudonyms=[services.pseudonym(m.id) for m in family.members],
        family_id=family_id,
    )
    return respond(
        request,
        "family.html",
        fmt,
        session,
        family=family,
        ages={m.id: age(m.birth_date, today) for m in family.members},
        consents=consents,
        received=deliveries,
        waiting=dict(waiting),
    )
