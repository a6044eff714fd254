"""Recording a consent on the paper-shaped form (who consents for whom, which agency may share
which categories with which, purpose, period, restrictions, how it was given) with the engine's
decision shown before saving; and withdrawing one, showing which waiting messages it stops.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from consent import store
from consent.errors import ConsentError
from consent.models import ConsentIn, ConsentRecord, ConsentStatus
from consent.rules import PersonFacts
from gateway.api import access_log, policy
from gateway.api.deps import ServicesDep
from gateway.console.consent_form import (
    EVIDENCE_METHODS,
    RESTRICTION_ROWS,
    Draft,
    form_errors,
    grouped,
    preview,
    signer_rules,
)
from gateway.console.deps import FormatterDep, FormDep, allowed, respond
from gateway.console.i18n import Formatter
from gateway.console.pages.families import load_family
from gateway.console.sessions import Session
from gateway.db import outbox
from gateway.db.engine import reading
from gateway.errors import PageNotFound
from gateway.intake import routing
from gateway.intake.consents import record_consent, withdraw_consent
from gateway.intake.services import Services
from schemas import Agency, Category, Family, WithdrawalNotice

router = APIRouter(include_in_schema=False)
Coordinator = Annotated[Session, Depends(allowed(policy.RECORD_CONSENT))]

FORM_READ = "/console/families/{family_id}/consents"
WITHDRAW_READ = "/console/consents/{consent_id}/withdraw"
INSTRUCTION = WithdrawalNotice.model_fields["instruction"].default


def _member(family: Family, index: int) -> str:
    if not 0 <= index < len(family.members):
        raise PageNotFound(f"the family has no member {index + 1}")
    return family.members[index].id


def _facts(services: Services, person: str) -> PersonFacts:
    with reading(services.engine) as conn:
        facts = routing.person_facts(conn, person)
    if facts is None:
        raise PageNotFound("the person is in no family")
    return facts


def _form_page(
    request: Request,
    fmt: Formatter,
    session: Session,
    services: Services,
    family: Family,
    member: int,
    draft: Draft,
    *,
    errors: dict[str, str] | None = None,
    rows: list[Any] | None = None,
    status: int = 200,
) -> Response:
    facts = _facts(services, draft.subject)
    now = dt.datetime.now(dt.UTC)
    rules = signer_rules(facts, services, draft.categories, now)
    needed: set[str] = set()
    for rule in rules:
        needed |= rule.signers
    access_log.record_reads(
        services.engine,
        client=session.principal.name,
        read=FORM_READ,
        subject_pseudonyms=[services.pseudonym(m.id) for m in family.members],
        family_id=family.family_id,
        details={"preview": rows is not None},
    )
    return respond(
        request,
        "consent_form.html",
        fmt,
        session,
        status=status,
        get_path=f"/console/families/{family.family_id}/consents/new",
        family=family,
        member=member,
        facts=facts,
        draft=draft,
        rules=grouped(rules),
        missing=sorted(needed - set(draft.given_by)),
        errors=errors or {},
        rows=rows,
        agencies=[a.value for a in Agency],
        categories=[c.value for c in Category],
        methods=EVIDENCE_METHODS,
        restriction_rows=RESTRICTION_ROWS,
    )


@router.get("/console/families/{family_id}/consents/new")
def consent_form(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    services: ServicesDep,
    family_id: str,
    member: Annotated[int, Query(ge=0, le=30)] = 0,
) -> Response:
    family = load_family(services, family_id)
    facts = _facts(services, _member(family, member))
    draft = Draft.blank(family, facts, services, dt.datetime.now(dt.UTC))
    return _form_page(request, fmt, session, services, family, member, draft)


def _record(services: Services, consent: ConsentIn, client: str) -> ConsentRecord:
    """As POST /v1/consents does: the store, its `consent` entry, then this process's index."""
    with services.engine.begin() as conn:
        record = record_consent(services, conn, consent, client=client, now=dt.datetime.now(dt.UTC))
    services.refresh_after_commit()
    return record


@router.post("/console/families/{family_id}/consents")
def submit(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    family_id: str,
) -> Response:
    """`action=preview` shows the decisions with and without the consent; `action=save`
    records it (after the same checks)."""
    family = load_family(services, family_id)
    try:
        member = int(form.get("member") or "0")
    except ValueError as exc:
        raise PageNotFound("no such member") from exc
    draft = Draft.from_form(_member(family, member), form)
    save = form.get("action") == "save"
    try:
        consent = draft.consent_in(fmt, for_preview=not save)
    except (ValidationError, ValueError) as exc:
        return _form_page(
            request,
            fmt,
            session,
            services,
            family,
            member,
            draft,
            errors=form_errors(exc, fmt),
            status=422,
        )
    if save:
        try:
            _record(services, consent, session.principal.name)
        except ConsentError as exc:
            return _form_page(
                request,
                fmt,
                session,
                services,
                family,
                member,
                draft,
                errors={exc.field or "form": str(exc.message)},
                status=exc.status,
            )
        session.flash.append(fmt.gettext("The consent is recorded."))
        return RedirectResponse(f"/console/families/{family_id}#consents", status_code=303)
    now = dt.datetime.now(dt.UTC)
    rows = preview(services, _facts(services, draft.subject), consent, family, now)
    return _form_page(request, fmt, session, services, family, member, draft, rows=rows)


# --- withdrawal ---------------------------------------------------------------------------------


def _consent(services: Services, consent_id: str) -> ConsentRecord:
    try:
        with reading(services.engine) as conn:
            return store.get(conn, consent_id)
    except ConsentError as exc:
        raise PageNotFound(str(exc)) from exc


def _withdraw_page(
    request: Request,
    fmt: Formatter,
    session: Session,
    services: Services,
    record: ConsentRecord,
    family_id: str | None,
    *,
    waiting: list[Any],
    error: str | None = None,
    done: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    access_log.record_read(
        services.engine,
        client=session.principal.name,
        read=WITHDRAW_READ,
        subject_pseudonym=services.pseudonym(record.subject),
        details={"consent_id": record.consent_id},
    )
    return respond(
        request,
        "withdraw.html",
        fmt,
        session,
        status=status,
        get_path=f"/console/consents/{record.consent_id}/withdraw",
        record=record,
        family_id=family_id,
        waiting=waiting,
        error=error,
        done=done,
        instruction=INSTRUCTION,
    )


@router.get("/console/consents/{consent_id}/withdraw")
def withdraw_form(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    services: ServicesDep,
    consent_id: str,
    family: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    record = _consent(services, consent_id)
    with reading(services.engine) as conn:
        waiting = list(outbox.waiting_under(conn, consent_id))
    return _withdraw_page(request, fmt, session, services, record, family, waiting=waiting)


@router.post("/console/consents/{consent_id}/withdraw")
def withdraw(
    request: Request,
    fmt: FormatterDep,
    session: Coordinator,
    form: FormDep,
    services: ServicesDep,
    consent_id: str,
) -> Response:
    record = _consent(services, consent_id)
    family_id = form.get("family") or None
    reason = form.get("reason")
    refused: tuple[str, int] | None = None
    if record.status is ConsentStatus.WITHDRAWN:
        refused = (fmt.gettext("This consent has already been withdrawn."), 409)
    elif not reason:
        refused = (fmt.gettext("Write why the consent is withdrawn."), 422)
    if refused is not None:
        with reading(services.engine) as conn:
            waiting = list(outbox.waiting_under(conn, consent_id))
        return _withdraw_page(
            request,
            fmt,
            session,
            services,
            record,
            family_id,
            waiting=waiting,
            error=refused[0],
            status=refused[1],
        )
    now = dt.datetime.now(dt.UTC)
    with services.engine.begin() as conn:
        stopped = list(outbox.waiting_under(conn, consent_id))
        withdrawn, notices = withdraw_consent(
            services, conn, consent_id, reason=reason[:2000], client=session.principal.name, now=now
        )
    services.refresh_after_commit()
    return _withdraw_page(
        request,
        fmt,
        session,
        services,
        withdrawn,
        family_id,
        waiting=stopped,
        done={"notices": notices},
    )
