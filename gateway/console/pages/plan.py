"""The family plan in the console (coordinator): the plan page (goals, measures per agency,
review meetings, when it will be deleted), plain forms to add goals, measures, meetings and
evaluations, to change an entry's status and to close the plan; each entry's versions; what
each team member's overview holds and sending it; and the family's printable copy.

Every change goes through the plan's own services (`gateway.plan`), as the API's do, so the
same checks, versions, forwarding and log entries follow; nothing is decided here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from consent.errors import ConsentError
from gateway.api import access_log, policy
from gateway.api.deps import ServicesDep
from gateway.clock import utcnow
from gateway.console import plan_forms
from gateway.console.deps import Form, FormatterDep, FormDep, allowed, respond
from gateway.console.i18n import Formatter
from gateway.console.pages.families import load_family
from gateway.console.sessions import Session
from gateway.console.templating import SECURITY_HEADERS
from gateway.db.engine import reading
from gateway.errors import PageNotFound, RequestError
from gateway.intake import families
from gateway.intake.pipeline import Route
from gateway.intake.services import Services
from gateway.plan import changes, family_copy, forwarding, lifecycle, store
from gateway.plan.models import CloseIn, EntryKind, Language
from gateway.plan.reading import plan_view
from schemas import Family

router = APIRouter(include_in_schema=False)
Coordinator = Annotated[Session, Depends(allowed(policy.MANAGE_PLANS))]
EntryIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]

PLAN = "/console/families/{family_id}/plan"
PLAN_READ = PLAN
ENTRY_READ = PLAN + "/entries/{entry_id}"
OVERVIEW_READ = PLAN + "/overview"
COPY_READ = PLAN + "/family-copy"
COPY_LANGUAGES = [language.value for language in Language]


def plan_url(family_id: str, rest: str = "") -> str:
    return PLAN.format(family_id=family_id) + rest


def _read_members(
    services: Services, session: Session, family: Family, read: str, people: list[str] | None
) -> None:
    """One access entry per person the page shows (every member unless `people` says)."""
    shown = people if people is not None else [m.id for m in family.members]
    access_log.record_reads(
        services.engine,
        client=session.principal.name,
        read=read,
        subject_pseudonyms=[services.pseudonym(p) for p in shown],
        family_id=family.family_id,
    )


def _blank(kind: EntryKind, family: Family) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: [] if name in plan_forms.LISTS else "" for name in plan_forms.FIELDS[kind]
    }
    if "status" in values:
        values["status"] = "planned"
    if "subject" in values:
        values["subject"] = family.members[0].id
    return values


# --- the plan page ------------------------------------------------------------------------------


def _plan_page(
    request: Request,
    fmt: Formatter,
    session: Session,
    services: Services,
    family_id: str,
    *,
    errors: dict[str, str] | None = None,
    given: dict[EntryKind, dict[str, Any]] | None = None,
    close_reason: str = "",
    status: int = 200,
) -> Response:
    now = utcnow()
    try:
        with reading(services.engine) as conn:
            view = plan_view(conn, family_id, now)
            family, _ = families.get(conn, family_id)
            retention = lifecycle.retention(conn, services.settings, family_id, now)
    except RequestError as exc:
        raise PageNotFound(str(exc)) from exc
    values = {kind: _blank(kind, family) for kind in EntryKind}
    values.update(given or {})
    _read_members(services, session, family, PLAN_READ, None)
    return respond(
        request,
        "plan.html",
        fmt,
        session,
        status=status,
        get_path=plan_url(family_id),
        family=family,
        view=view,
        plan=plan_forms.reading(view, now.astimezone(dt.UTC).date()),
        retention=retention,
        roles={m.id: m.role.value for m in family.members},
        member_labels={
            m.id: f"{m.id} ({fmt.word('member_role', m.role.value)})" for m in family.members
        },
        meeting_labels={m["entry_id"]: fmt.date(m["date"]) for m in view["meetings"]},
        team=[a.value for a in family.team],
        errors=errors or {},
        failed_forms={name.split("-")[0] for name in errors or {}},
        values=values,
        close_reason=close_reason,
        work_statuses=plan_forms.WORK_STATUSES,
        meeting_statuses=plan_forms.MEETING_STATUSES,
        results=plan_forms.RESULTS,
        copy_languages=COPY_LANGUAGES,
        copy_default="da" if services.settings.jurisdiction == "DK" else "nb",
    )


@router.get(PLAN)
def plan_page(
    request: Request, fmt: FormatterDep, session: Coordinator, services: ServicesDep, family_id: str
) -> Response:
    return _plan_page(request, fmt, session, services, family_id)


def _add(
    request: Request,
    fmt: Formatter,
    session: Session,
    services: Services,
    form: Form,
    family_id: str,
    kind: EntryKind,
) -> Response:
    """Add an entry as POST /v1/plans/{family_id}/{kind}s does; on a refusal the page comes
    back with the form as filled in and the error next to its field (nothing is stored)."""
    load_family(services, family_id)
    values = plan_forms.values_of(kind, form)
    try:
        recorded = changes.add_entry(
            services,
            family_id,
            kind,
            plan_forms.document_of(kind, values),
            client=session.principal.name,
            now=utcnow(),
        )
    except ValidationError as exc:
        errors = plan_forms.validation_errors(kind, exc, fmt)
        failed = 422
    except RequestError as exc:
        errors = plan_forms.refusal_errors(kind, exc, fmt)
        failed = exc.status
    else:
        session.flash.append(_added_message(fmt, kind, recorded.routes))
        return RedirectResponse(
            plan_url(family_id, f"#entry-{recorded.entry.entry_id}"), status_code=303
        )
    return _plan_page(
        request,
        fmt,
        session,
        services,
        family_id,
        errors=errors,
        given={kind: values},
        status=failed,
    )


def _added_message(fmt: Formatter, kind: EntryKind, routes: list[Route]) -> str:
    sent = sorted({r.recipient for r in routes if r.disclosed})
    text = {
        EntryKind.GOAL: fmt.gettext("The goal is added to the plan."),
        EntryKind.MEASURE: fmt.gettext("The measure is added to the plan."),
        EntryKind.MEETING: fmt.gettext("The review meeting is added to the plan."),
        EntryKind.EVALUATION: fmt.gettext("The evaluation is added to the plan."),
    }[kind]
    if sent:
        return (
            text
            + " "
            + fmt.gettext("Sent to: %(agencies)s.") % {"agencies": fmt.words("agency", sent)}
        )
    return text + " " + fmt.gettext("No agency may receive it under the family's consents.")


@router.post(PLAN + "/goals")
def add_goal(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    return _add(request, fmt, session, services, form, family_id, EntryKind.GOAL)


@router.post(PLAN + "/measures")
def add_measure(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    return _add(request, fmt, session, services, form, family_id, EntryKind.MEASURE)


@router.post(PLAN + "/meetings")
def add_meeting(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    return _add(request, fmt, session, services, form, family_id, EntryKind.MEETING)


@router.post(PLAN + "/evaluations")
def add_evaluation(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    return _add(request, fmt, session, services, form, family_id, EntryKind.EVALUATION)


@router.post(PLAN + "/close")
def close_plan(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    """End the enrolment now, as POST /v1/plans/{family_id}/close does."""
    load_family(services, family_id)
    reason = form.get("close-reason")
    try:
        body = CloseIn.model_validate({"reason": reason})
        with services.engine.begin() as conn:
            services.consents.refresh(conn)
            closed = lifecycle.close(
                services,
                conn,
                family_id,
                reason=body.reason,
                by=session.principal.name,
                now=utcnow(),
            )
    except ValidationError:
        error, failed = fmt.gettext("Write why the plan is closed."), 422
    except RequestError as exc:
        error, failed = plan_forms.status_error(exc, fmt), exc.status
    except ConsentError as exc:
        error, failed = str(exc.message), exc.status
    else:
        services.refresh_after_commit()
        session.flash.append(
            fmt.gettext(
                "The plan is closed. Consents lapsed: %(lapsed)s; withdrawal notices sent: "
                "%(notices)s."
            )
            % {"lapsed": fmt.number(closed.consents_lapsed), "notices": fmt.number(closed.notices)}
        )
        return RedirectResponse(plan_url(family_id, "#retention"), status_code=303)
    return _plan_page(
        request,
        fmt,
        session,
        services,
        family_id,
        errors={"close-reason": error},
        close_reason=reason,
        status=failed,
    )


# --- an entry and its versions ------------------------------------------------------------------


def _entry_page(
    request: Request,
    fmt: Formatter,
    session: Session,
    services: Services,
    family_id: str,
    entry_id: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    now = utcnow()
    try:
        with reading(services.engine) as conn:
            view = plan_view(conn, family_id, now)
            family, _ = families.get(conn, family_id)
            history = [e.view() for e in store.history(conn, family_id, entry_id)]
    except RequestError as exc:
        raise PageNotFound(str(exc)) from exc
    current = history[-1]
    titles = {
        e["entry_id"]: e.get("title") or e.get("date", "")
        for e in view["goals"] + view["measures"] + view["meetings"]
    }
    subject = current.get("subject")
    if current["kind"] == EntryKind.EVALUATION.value:
        goal = next((g for g in view["goals"] if g["entry_id"] == current["goal_id"]), None)
        subject = goal["subject"] if goal else None
    _read_members(services, session, family, ENTRY_READ, [subject] if subject else None)
    statuses = {
        EntryKind.GOAL.value: plan_forms.WORK_STATUSES,
        EntryKind.MEASURE.value: plan_forms.WORK_STATUSES,
        EntryKind.MEETING.value: plan_forms.MEETING_STATUSES,
    }.get(current["kind"], [])
    return respond(
        request,
        "plan_entry.html",
        fmt,
        session,
        status=status,
        get_path=plan_url(family_id, f"/entries/{entry_id}"),
        family=family,
        entry=current,
        versions=plan_forms.versions(history),
        titles=titles,
        roles={m.id: m.role.value for m in family.members},
        statuses=statuses,
        open=view["status"] == store.OPEN,
        error=error,
    )


@router.get(PLAN + "/entries/{entry_id}")
def entry_page(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    services: ServicesDep,
    family_id: str,
    entry_id: EntryIdPath,
) -> Response:
    return _entry_page(request, fmt, session, services, family_id, entry_id)


@router.post(PLAN + "/entries/{entry_id}/status")
def change_status(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
    entry_id: EntryIdPath,
) -> Response:
    """A new version with another status, as PATCH …/entries/{entry_id} with If-Match does:
    the form carries the version it was shown, so a change made meanwhile is not overwritten."""
    load_family(services, family_id)
    try:
        version = changes.parse_if_match(form.get("version") or None)
        recorded = changes.change_entry(
            services,
            family_id,
            entry_id,
            {"status": form.get("status")},
            if_match=version,
            client=session.principal.name,
            now=utcnow(),
        )
    except ValidationError:
        error, failed = fmt.gettext("Choose one of the values offered."), 422
    except RequestError as exc:
        if exc.status == 404:
            raise PageNotFound(str(exc)) from exc
        error, failed = plan_forms.status_error(exc, fmt), exc.status
    else:
        session.flash.append(
            fmt.gettext("The status is changed: version %(version)s.")
            % {"version": recorded.entry.version}
        )
        return RedirectResponse(plan_url(family_id, f"/entries/{entry_id}"), status_code=303)
    return _entry_page(
        request, fmt, session, services, family_id, entry_id, error=error, status=failed
    )


# --- what each team member sees -----------------------------------------------------------------


def _overview_page(
    request: Request,
    fmt: Formatter,
    session: Session,
    services: Services,
    family_id: str,
    *,
    sent: list[Route] | None = None,
) -> Response:
    now = utcnow()
    family = load_family(services, family_id)
    with reading(services.engine) as conn:
        previews = [
            forwarding.preview(services, conn, family, agency.value, now) for agency in family.team
        ]
    _read_members(services, session, family, OVERVIEW_READ, None)
    return respond(
        request,
        "plan_overview.html",
        fmt,
        session,
        get_path=plan_url(family_id, "/overview"),
        family=family,
        previews=previews,
        roles={m.id: m.role.value for m in family.members},
        sent=sent,
    )


@router.get(PLAN + "/overview")
def overview_page(
    request: Request, fmt: FormatterDep, session: Coordinator, services: ServicesDep, family_id: str
) -> Response:
    """Every team member's overview as consent lets it see it now (GET …/overview per member);
    nothing is sent."""
    return _overview_page(request, fmt, session, services, family_id)


@router.post(PLAN + "/overviews")
def send_overviews(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    """Send every team member its overview now, as POST …/overviews does."""
    load_family(services, family_id)
    try:
        with services.engine.begin() as conn:
            routes = forwarding.send_overviews(
                services, conn, family_id, client=session.principal.name, now=utcnow()
            )
    except RequestError as exc:
        raise PageNotFound(str(exc)) from exc
    return _overview_page(request, fmt, session, services, family_id, sent=routes)


# --- the family's copy --------------------------------------------------------------------------


def _copy_headers() -> dict[str, str]:
    """The console's headers, allowing the copy's own stylesheet (by its hash) and no other."""
    digest = base64.b64encode(hashlib.sha256(family_copy.STYLE.encode()).digest()).decode()
    policy_ = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", f"style-src 'sha256-{digest}'"
    )
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy_}


@router.post(PLAN + "/family-copy")
def give_family_copy(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    """The family's printable plan, given and recorded as POST …/family-copy does: one
    `disclosure` entry per person it is about (recipient `family`, the page's SHA-256)."""
    family = load_family(services, family_id)
    language = form.get("copy-language")
    members = form.getlist("copy-members")
    if language not in COPY_LANGUAGES or any(family.member(p) is None for p in members):
        errors = {"copy-form": fmt.gettext("Choose one of the values offered.")}
        return _plan_page(request, fmt, session, services, family_id, errors=errors, status=422)
    now = utcnow()
    try:
        with services.engine.begin() as conn:
            plan = store.get_plan(conn, family_id)
            given = family_copy.give(
                services,
                conn,
                family,
                store.latest(conn, family_id),
                plan_version=plan.version if plan is not None else 0,
                language=Language(language),
                members=members or None,
                client=session.principal.name,
                now=now,
            )
    except RequestError as exc:
        raise PageNotFound(str(exc)) from exc
    _read_members(services, session, family, COPY_READ, members or None)
    return HTMLResponse(
        given.html,
        headers={
            **_copy_headers(),
            "Content-Language": given.language.value,
            "Content-Disposition": 'inline; filename="familiens-plan.html"',
            "Helhet-Copy-Id": given.copy_id,
        },
    )
