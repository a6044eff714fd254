"""The citizen access report (innsyn, GDPR art. 15): asked for by person number (posted, kept in
the session, never in a URL), shown in full, printable as a letter in nb/da/en, downloadable as
CSV and a FHIR AuditEvent bundle. Every view and download is an access entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from audit.query import Filters
from gateway.api import access_log, policy
from gateway.api.deps import ServicesDep
from gateway.api.routers.disclosures import Format, agency_names, export_response
from gateway.console.deps import FormatterDep, FormDep, allowed, respond
from gateway.console.letter import AccessReport, build_report, render_letter
from gateway.console.sessions import Session
from gateway.console.templating import SECURITY_HEADERS
from gateway.db.engine import reading
from gateway.errors import PageNotFound
from gateway.intake.services import Services
from schemas import PersonId

router = APIRouter(include_in_schema=False)
Officer = Annotated[Session, Depends(allowed(policy.READ_LOG))]
REPORT_READ = "/console/reports/{key}"
PERSON = TypeAdapter(PersonId)


@dataclass(frozen=True)
class ReportSubject:
    """The person a report is about, kept in the session under a short key."""

    person: str


def _subject(session: Session, key: str) -> ReportSubject:
    subject = session.recall(key)
    if not isinstance(subject, ReportSubject):
        raise PageNotFound("that report is no longer kept; ask for it again")
    return subject


def _report(
    services: Services, session: Session, subject: ReportSubject, form: str
) -> AccessReport:
    pseudonym = services.pseudonym(subject.person)
    settings = services.settings
    with reading(services.engine) as conn:
        report = build_report(
            conn,
            person=subject.person,
            pseudonym=pseudonym,
            names=agency_names(settings),
            statutes=services.consents.statutes,
            municipality=settings.municipality_name or settings.municipality,
            jurisdiction=settings.jurisdiction,
            now=dt.datetime.now(dt.UTC),
        )
    access_log.record_read(
        services.engine,
        client=session.principal.name,
        read=REPORT_READ,
        subject_pseudonym=pseudonym,
        details={"format": form},
    )
    return report


@router.get("/console/reports")
def ask(request: Request, fmt: FormatterDep, session: Officer) -> Response:
    return respond(request, "report_ask.html", fmt, session, person="", error=None)


@router.post("/console/reports")
def make(request: Request, fmt: FormatterDep, session: Officer, form: FormDep) -> Response:
    person = form.get("person")
    try:
        number = PERSON.validate_python(person)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        return respond(
            request,
            "report_ask.html",
            fmt,
            session,
            status=422,
            get_path="/console/reports",
            person=person,
            error=message,
        )
    key = session.remember(ReportSubject(str(number)))
    return RedirectResponse(f"/console/reports/{key}", status_code=303)


@router.get("/console/reports/{key}")
def show(
    request: Request, fmt: FormatterDep, session: Officer, services: ServicesDep, key: str
) -> Response:
    report = _report(services, session, _subject(session, key), "html")
    return respond(request, "report.html", fmt, session, r=report, key=key)


@router.get("/console/reports/{key}/letter")
def letter(fmt: FormatterDep, session: Officer, services: ServicesDep, key: str) -> Response:
    report = _report(services, session, _subject(session, key), f"letter-{fmt.language}")
    return HTMLResponse(render_letter(report, fmt, standalone=False), headers=SECURITY_HEADERS)


@router.get("/console/reports/{key}/export")
def export(
    session: Officer,
    services: ServicesDep,
    key: str,
    format: Annotated[str, Query(pattern="^(csv|fhir-r4)$")],
) -> Response:
    subject = _subject(session, key)
    pseudonym = services.pseudonym(subject.person)
    bound = access_log.record_read(
        services.engine,
        client=session.principal.name,
        read=REPORT_READ,
        subject_pseudonym=pseudonym,
        details={"format": format},
    )
    export_format: Format = "csv" if format == "csv" else "fhir-r4"
    return export_response(
        services, Filters(subject=pseudonym), bound, export_format, "access-report"
    )
