"""The privacy officer's disclosure search (the API's filters, paging, counts by outcome and
recipient, a chart over time), its exports, and one entry with its inclusion-proof status.

A search is posted, kept in the session and shown at `?q=<key>`, so a person number typed into
it never appears in a URL. Every page that shows entries is an access entry, as API reads are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from audit import log as audit_log
from audit.checkpoint import latest_checkpoint, verify_checkpoint
from audit.entries import EntryType
from audit.errors import AuditError, BadRange, UnknownIndex
from audit.query import Filters, counts, daily_counts, query
from gateway.api import access_log, policy
from gateway.api.deps import ServicesDep
from gateway.api.routers.disclosures import DisclosureQuery, Format, agency_names, export_response
from gateway.console import chart
from gateway.console.deps import Form, FormatterDep, FormDep, allowed, respond
from gateway.console.i18n import Formatter, field_message
from gateway.console.sessions import Session
from gateway.db.engine import reading
from gateway.errors import PageNotFound
from schemas import Agency, Category

router = APIRouter(include_in_schema=False)
Officer = Annotated[Session, Depends(allowed(policy.READ_LOG))]

PAGE_SIZE = 50
CHART_DAYS = 30
LIST_READ = "/console/disclosures"
ENTRY_READ = "/console/disclosures/{index}"
OUTCOMES = ("queued", "refused", "stopped", "delivered", "recorded", "withdrawn", "read", "denied")
# The search form's fields, and the API parameter each one is.
FIELDS = {
    "source": "source",
    "recipient": "recipient",
    "category": "category",
    "type": "type",
    "outcome": "outcome",
}


@dataclass(frozen=True)
class Search:
    """A search as the form gave it: the API's query parameters and the person, if any."""

    params: tuple[tuple[str, str], ...] = ()
    person: str | None = None
    form: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def query(self, cursor: str | None = None) -> DisclosureQuery:
        values: dict[str, Any] = dict(self.params)
        if self.person:
            values["subject"] = self.person
        if cursor:
            values["cursor"] = cursor
            values["limit"] = PAGE_SIZE
        return DisclosureQuery.model_validate(values)


def parse_search(form: Form, fmt: Formatter) -> tuple[Search, dict[str, str]]:
    """The search of a submitted form, or the errors by form field.

    The form's dates are local days, the last one included; the API's parameters are instants.
    """
    errors: dict[str, str] = {}
    params = [(param, form.get(name)) for name, param in FIELDS.items() if form.get(name)]
    days: dict[str, dt.date] = {}
    for name in ("from", "to"):
        if form.get(name):
            try:
                days[name] = dt.date.fromisoformat(form.get(name))
            except ValueError:
                errors[name] = fmt.gettext("Give a date as YYYY-MM-DD.")
    if "from" in days and "to" in days and days["from"] > days["to"]:
        errors["to"] = fmt.gettext("The period must end after it starts.")
    if "from" in days:
        params.append(("from", fmt.local_midnight(days["from"]).isoformat()))
    if "to" in days:
        params.append(("to", fmt.local_midnight(days["to"] + dt.timedelta(days=1)).isoformat()))
    shown = tuple((k, form.get(k)) for k in (*FIELDS, "from", "to", "person"))
    search = Search(tuple(params), form.get("person") or None, shown)
    try:
        search.query()
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0])
            name = {"subject": "person", "from": "from", "to": "to"}.get(field, field)
            errors.setdefault(name, field_message(error, fmt))
    return search, errors


def _chart_period(params: DisclosureQuery, fmt: Formatter) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    last = (
        (params.until - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
        if params.until
        else today
    )
    first = (
        params.since.astimezone(dt.UTC).date()
        if params.since
        else last - dt.timedelta(days=CHART_DAYS - 1)
    )
    return first, max(first, last)


def _options() -> dict[str, Any]:
    return {
        "agencies": [a.value for a in Agency],
        "categories": [c.value for c in Category],
        "event_types": [t.value for t in EntryType],
        "outcomes": OUTCOMES,
    }


@router.get("/console/disclosures")
def search_page(
    request: Request,
    fmt: FormatterDep,
    session: Officer,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    search = session.recall(q) if q else Search()
    if not isinstance(search, Search):
        raise PageNotFound("that search is no longer kept; search again")
    params = search.query(cursor)
    pseudonym = services.pseudonym(search.person) if search.person else None
    filters = params.filters(pseudonym)
    first, last = _chart_period(params, fmt)
    chart_filters = Filters(
        **{**filters.model_dump(), "event_type": None},
    )
    try:
        with reading(services.engine) as conn:
            page = query(conn, filters, cursor, PAGE_SIZE)
            by_outcome = counts(conn, filters, "outcome")
            by_recipient = counts(conn, filters, "recipient")
            daily = daily_counts(conn, chart_filters)
    except BadRange as exc:
        raise PageNotFound(str(exc)) from exc
    access_log.record_read(
        services.engine,
        client=session.principal.name,
        read=LIST_READ,
        subject_pseudonym=pseudonym,
        details=params.page_read(page.entries),
    )
    return respond(
        request,
        "disclosures.html",
        fmt,
        session,
        search=dict(search.form),
        errors={},
        q=q,
        entries=page.entries,
        next_cursor=page.next_cursor,
        by_outcome=by_outcome,
        by_recipient=by_recipient,
        total=sum(by_outcome.values()),
        chart=chart.build(daily, first, last),
        names=agency_names(services.settings),
        **_options(),
    )


@router.post("/console/disclosures")
def search(request: Request, fmt: FormatterDep, session: Officer, form: FormDep) -> Response:
    found, errors = parse_search(form, fmt)
    if errors:
        return respond(
            request,
            "disclosures.html",
            fmt,
            session,
            status=422,
            get_path=LIST_READ,
            search=dict(found.form),
            errors=errors,
            q=None,
            entries=None,
            **_options(),
        )
    return RedirectResponse(f"/console/disclosures?q={session.remember(found)}", status_code=303)


@router.get("/console/disclosures/export")
def export(
    session: Officer,
    services: ServicesDep,
    format: Annotated[str, Query(pattern="^(csv|fhir-r4)$")],
    q: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Every entry of the search (no paging) as CSV or a FHIR R4 AuditEvent bundle."""
    search = session.recall(q) if q else Search()
    if not isinstance(search, Search):
        raise PageNotFound("that search is no longer kept; search again")
    params = search.query()
    pseudonym = services.pseudonym(search.person) if search.person else None
    bound = access_log.record_read(
        services.engine,
        client=session.principal.name,
        read=LIST_READ,
        subject_pseudonym=pseudonym,
        details={"query": params.as_logged(), "format": format},
    )
    export_format: Format = "csv" if format == "csv" else "fhir-r4"
    return export_response(services, params.filters(pseudonym), bound, export_format, "disclosures")


@dataclass(frozen=True)
class ProofStatus:
    """How the entry stands against the latest signed checkpoint."""

    state: str  # verified | failed | pending
    checkpoint_id: int | None = None
    size: int | None = None
    issued_at: str | None = None
    detail: str = ""
    hashes: int = 0


def proof_status(services: Any, index: int) -> ProofStatus:
    instance = services.instance
    with reading(services.engine) as conn:
        latest = latest_checkpoint(conn)
        if latest is None or index >= latest.checkpoint.size:
            return ProofStatus("pending")
        proof = audit_log.inclusion_proof(conn, index, latest.checkpoint.size)
    cp = latest.checkpoint
    try:
        verify_checkpoint(latest.note, instance.signing_key.public_key(), instance.origin)
        proof.verify(cp.root)
    except AuditError as exc:
        return ProofStatus("failed", latest.id, cp.size, latest.issued_at, str(exc))
    return ProofStatus("verified", latest.id, cp.size, latest.issued_at, hashes=len(proof.hashes))


@router.get("/console/disclosures/{index}")
def entry_page(
    request: Request, fmt: FormatterDep, session: Officer, services: ServicesDep, index: int
) -> Response:
    if index < 0:
        raise PageNotFound(f"no entry {index}")
    try:
        with reading(services.engine) as conn:
            entry = audit_log.get_entry(conn, index)
    except UnknownIndex as exc:
        raise PageNotFound(str(exc)) from exc
    status = proof_status(services, index)
    statute = None
    if entry.basis and entry.basis.startswith("statute:"):
        wanted = entry.basis.removeprefix("statute:")
        statute = next((s for s in services.consents.statutes if s.id == wanted), None)
    consent_id = None
    if entry.basis and entry.basis.startswith("consent:"):
        consent_id, _, _ = entry.basis.removeprefix("consent:").partition("@")
    access_log.record_read(
        services.engine,
        client=session.principal.name,
        read=ENTRY_READ,
        subject_pseudonym=entry.subject_pseudonym,
        details={"entry": index, "tree_size": status.size},
    )
    return respond(
        request,
        "entry.html",
        fmt,
        session,
        entry=entry,
        proof=status,
        statute=statute,
        consent_id=consent_id,
        names=agency_names(services.settings),
    )
