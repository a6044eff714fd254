"""The family plan (coordinator): goals, measures, review meetings and evaluations, each change
versioned and forwarded under consent; overviews (coordinator, or an agency for itself); the
family's own copy; closing the plan and what will be deleted when.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError

from consent.errors import ConsentError
from gateway.api import policy
from gateway.api.access import allow
from gateway.api.clients import Principal, Role
from gateway.api.deps import ServicesDep, require_agency, require_role
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem, validation_problem
from gateway.api.routers.consents import consent_problem
from gateway.clock import utcnow
from gateway.db.engine import reading
from gateway.errors import RequestError
from gateway.intake import families
from gateway.intake.services import Services
from gateway.plan import changes, family_copy, forwarding, lifecycle, store
from gateway.plan.changes import Recorded
from gateway.plan.models import (
    CloseIn,
    EntryKind,
    EvaluationIn,
    FamilyCopyIn,
    GoalIn,
    MeasureIn,
    MeetingIn,
    OverviewRequest,
)
from gateway.plan.reading import plan_view
from schemas import Agency

router = APIRouter(prefix="/v1/plans", tags=["plans"])
Coordinator = Annotated[Principal, Depends(require_role(*policy.MANAGE_PLANS))]
OverviewAsker = Annotated[Principal, Depends(require_role(*policy.ASK_OVERVIEW))]
RetentionReader = Annotated[Principal, Depends(require_role(*policy.READ_RETENTION))]
FamilyId = Annotated[str, Path(min_length=1, max_length=40)]
EntryIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
PLAN_PROBLEM = problem_type("plan")


def _problem(exc: RequestError) -> Problem:
    return Problem(
        exc.status, "Plan change refused", str(exc), pointer=exc.pointer, type_=PLAN_PROBLEM
    )


def _recorded(recorded: Recorded, status: int, family_id: str) -> JSONResponse:
    entry = recorded.entry
    headers = {"ETag": f'"{entry.version}"'}
    if status == 201:
        headers["Location"] = f"/v1/plans/{family_id}/entries/{entry.entry_id}"
    return JSONResponse(recorded.view(), status_code=status, headers=headers)


def _add(
    services: Services, family_id: str, kind: EntryKind, body: Any, principal: Principal
) -> JSONResponse:
    try:
        recorded = changes.add_entry(
            services,
            family_id,
            kind,
            body.model_dump(mode="json", exclude_none=True),
            client=principal.name,
            now=utcnow(),
        )
    except RequestError as exc:
        raise _problem(exc) from exc
    return _recorded(recorded, 201, family_id)


@router.get("/{family_id}")
@allow(*policy.MANAGE_PLANS)
def read_plan(family_id: FamilyId, principal: Coordinator, services: ServicesDep) -> dict[str, Any]:
    """The plan: every entry at its latest version, grouped by kind, and the next meeting."""
    try:
        with reading(services.engine) as conn:
            return plan_view(conn, family_id, utcnow())
    except RequestError as exc:
        raise _problem(exc) from exc


@router.post("/{family_id}/goals", status_code=201)
@allow(*policy.MANAGE_PLANS)
def add_goal(
    family_id: FamilyId, body: GoalIn, principal: Coordinator, services: ServicesDep
) -> JSONResponse:
    """A goal in the family's own words (who, what, by when); forwarded as `plan.goal`."""
    return _add(services, family_id, EntryKind.GOAL, body, principal)


@router.post("/{family_id}/measures", status_code=201)
@allow(*policy.MANAGE_PLANS)
def add_measure(
    family_id: FamilyId, body: MeasureIn, principal: Coordinator, services: ServicesDep
) -> JSONResponse:
    """A measure agreed in the team; its details (`plan.measure`) go to the responsible agency."""
    return _add(services, family_id, EntryKind.MEASURE, body, principal)


@router.post("/{family_id}/meetings", status_code=201)
@allow(*policy.MANAGE_PLANS)
def add_meeting(
    family_id: FamilyId, body: MeetingIn, principal: Coordinator, services: ServicesDep
) -> JSONResponse:
    """A review meeting (date, participating agencies, what it evaluates): `plan.coordination`."""
    return _add(services, family_id, EntryKind.MEETING, body, principal)


@router.post("/{family_id}/evaluations", status_code=201)
@allow(*policy.MANAGE_PLANS)
def add_evaluation(
    family_id: FamilyId, body: EvaluationIn, principal: Coordinator, services: ServicesDep
) -> JSONResponse:
    """An evaluation of a goal (reached, partly, not reached, with a short text): `plan.goal`."""
    return _add(services, family_id, EntryKind.EVALUATION, body, principal)


@router.get("/{family_id}/entries/{entry_id}")
@allow(*policy.MANAGE_PLANS)
def read_entry(
    family_id: FamilyId, entry_id: EntryIdPath, principal: Coordinator, services: ServicesDep
) -> JSONResponse:
    """An entry's latest version; its ETag is what a change names in If-Match."""
    try:
        with reading(services.engine) as conn:
            entry = store.current(conn, family_id, entry_id)
    except RequestError as exc:
        raise _problem(exc) from exc
    return JSONResponse(entry.view(), headers={"ETag": f'"{entry.version}"'})


@router.get("/{family_id}/entries/{entry_id}/history")
@allow(*policy.MANAGE_PLANS)
def entry_history(
    family_id: FamilyId, entry_id: EntryIdPath, principal: Coordinator, services: ServicesDep
) -> dict[str, Any]:
    """Every version of an entry, oldest first: who changed it, when, to what."""
    try:
        with reading(services.engine) as conn:
            versions = store.history(conn, family_id, entry_id)
    except RequestError as exc:
        raise _problem(exc) from exc
    return {"entry_id": entry_id, "versions": [v.view() for v in versions]}


@router.patch("/{family_id}/entries/{entry_id}")
@allow(*policy.MANAGE_PLANS)
def change_entry(
    family_id: FamilyId,
    entry_id: EntryIdPath,
    principal: Coordinator,
    services: ServicesDep,
    body: Annotated[dict[str, Any], Body()],
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Change fields of an entry (its status, dates, text …); closing a goal or measure is the
    status completed or cancelled. A new version: If-Match must name the latest (428 without,
    412 when another change came first)."""
    try:
        version = changes.parse_if_match(if_match)
        recorded = changes.change_entry(
            services,
            family_id,
            entry_id,
            body,
            if_match=version,
            client=principal.name,
            now=utcnow(),
        )
    except RequestError as exc:
        raise _problem(exc) from exc
    except ValidationError as exc:
        raise validation_problem(exc.errors()) from exc
    return _recorded(recorded, 200, family_id)


@router.get("/{family_id}/overview")
@allow(*policy.MANAGE_PLANS)
def preview_overview(
    family_id: FamilyId,
    recipient: Annotated[Agency, Query(description="the team member whose overview to show")],
    principal: Coordinator,
    services: ServicesDep,
) -> dict[str, Any]:
    """What `recipient`'s overview holds now, as consent lets it see it, and what is withheld.

    Nothing is sent: POST …/overviews sends it."""
    now = utcnow()
    try:
        with reading(services.engine) as conn:
            family, _ = families.get(conn, family_id)
            if recipient not in family.team:
                raise Problem(
                    422,
                    "Invalid request",
                    f"{recipient.value!r} is not in the family's team",
                    pointer="query:recipient",
                )
            return forwarding.preview(services, conn, family, recipient.value, now)
    except RequestError as exc:
        raise _problem(exc) from exc


@router.post("/{family_id}/overviews", status_code=202)
@allow(*policy.ASK_OVERVIEW)
def send_overviews(
    family_id: FamilyId,
    request: Request,
    principal: OverviewAsker,
    services: ServicesDep,
    body: OverviewRequest | None = None,
) -> JSONResponse:
    """Send the overview now, sealed on each member's topic and logged. The coordinator sends
    to any members (default all); an agency asks for its own."""
    recipients = [a.value for a in body.recipients] if body and body.recipients else None
    if principal.role is Role.AGENCY:
        assert principal.agency is not None
        for agency in recipients or [principal.agency]:
            require_agency(principal, agency, request)
        recipients = [principal.agency]
    try:
        with services.engine.begin() as conn:
            family, _ = families.get(conn, family_id)
            team = {a.value for a in family.team}
            if principal.role is Role.AGENCY and principal.agency not in team:
                raise Problem(404, "Not found", f"no family {family_id!r} in your team")
            for n, agency in enumerate(recipients or []):
                if agency not in team:
                    raise Problem(
                        422,
                        "Invalid request",
                        f"{agency!r} is not in the family's team",
                        pointer=f"/recipients/{n}",
                    )
            routes = forwarding.send_overviews(
                services,
                conn,
                family_id,
                recipients=recipients,
                client=principal.name,
                now=utcnow(),
            )
    except RequestError as exc:
        raise _problem(exc) from exc
    return JSONResponse(
        {"family_id": family_id, "routes": [r.model_dump(mode="json") for r in routes]},
        status_code=202,
    )


@router.post("/{family_id}/family-copy", response_class=HTMLResponse)
@allow(*policy.MANAGE_PLANS)
def give_family_copy(
    family_id: FamilyId,
    principal: Coordinator,
    services: ServicesDep,
    body: FamilyCopyIn | None = None,
) -> HTMLResponse:
    """The family's own printable plan (HTML, Norwegian or Danish); giving it is logged (one
    `disclosure` entry per person it is about, recipient `family`)."""
    body = body or FamilyCopyIn()
    now = utcnow()
    try:
        with services.engine.begin() as conn:
            family, _ = families.get(conn, family_id)
            for n, person in enumerate(body.members or []):
                if family.member(person) is None:
                    raise Problem(
                        422,
                        "Invalid request",
                        "not a member of the family",
                        pointer=f"/members/{n}",
                    )
            plan = store.get_plan(conn, family_id)
            given = family_copy.give(
                services,
                conn,
                family,
                store.latest(conn, family_id),
                plan_version=plan.version if plan is not None else 0,
                language=body.language,
                members=body.members,
                client=principal.name,
                now=now,
            )
    except RequestError as exc:
        raise _problem(exc) from exc
    return HTMLResponse(
        given.html,
        headers={
            "Content-Language": given.language.value,
            "Content-Disposition": 'inline; filename="familiens-plan.html"',
            "Helhet-Copy-Id": given.copy_id,
            "Helhet-Log-Indexes": ",".join(str(i) for i in given.log_indexes),
        },
    )


@router.post("/{family_id}/close")
@allow(*policy.MANAGE_PLANS)
def close_plan(
    family_id: FamilyId, body: CloseIn, principal: Coordinator, services: ServicesDep
) -> dict[str, Any]:
    """End the enrolment now: the plan closes, the members' family_plan consents lapse (unless
    another enrolled family still needs them), and deletion follows after the retention."""
    now = utcnow()
    try:
        with services.engine.begin() as conn:
            services.consents.refresh(conn)
            closed = lifecycle.close(
                services, conn, family_id, reason=body.reason, by=principal.name, now=now
            )
            answer = lifecycle.retention(conn, services.settings, family_id, now).view()
    except RequestError as exc:
        raise _problem(exc) from exc
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    services.refresh_after_commit()
    return {**answer, "consents_lapsed": closed.consents_lapsed, "notices": closed.notices}


@router.get("/{family_id}/retention")
@allow(*policy.READ_RETENTION)
def plan_retention(
    family_id: FamilyId, principal: RetentionReader, services: ServicesDep
) -> dict[str, Any]:
    """When the plan closes and when what the gateway holds about it is deleted (and what)."""
    try:
        with reading(services.engine) as conn:
            return lifecycle.retention(conn, services.settings, family_id, utcnow()).view()
    except RequestError as exc:
        raise _problem(exc) from exc
