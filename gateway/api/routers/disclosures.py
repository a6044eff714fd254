"""The privacy officer's view of the disclosure log: query and export entries, read one with
its inclusion proof, and a person's access report (GDPR art. 15 / innsyn). Every read is logged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import urllib.parse
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field, JsonValue

from audit import log as audit_log
from audit.checkpoint import checkpoint_with_cosignatures, latest_checkpoint
from audit.encoding import b64
from audit.entries import EntryType, LogEntry, Outcome
from audit.errors import BadRange, UnknownIndex
from audit.fhir import to_fhir_audit_event
from audit.query import CSV_COLUMNS, Filters, csv_row, query, subject_report
from gateway.api import access_log, policy
from gateway.api.access import allow
from gateway.api.clients import Principal
from gateway.api.deps import ServicesDep, require_role
from gateway.api.openapi import answers
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem
from gateway.config.settings import Settings
from gateway.db.engine import reading
from gateway.intake.services import Services
from schemas import Agency, Category, PersonId, Sender

router = APIRouter(tags=["disclosures"])
PrivacyOfficer = Annotated[Principal, Depends(require_role(*policy.READ_LOG))]

Format = Literal["json", "csv", "fhir-r4", "fhir-r5"]
MAX_PAGE = 500
EXPORT_BATCH = 500
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
FHIR_MEDIA_TYPE = "application/fhir+json"
LOG_PROBLEM = problem_type("audit")
INVALID = problem_type("validation")

LIST_ROUTE = "/v1/disclosures"
ENTRY_ROUTE = "/v1/disclosures/{index}"
SUBJECT_ROUTE = "/v1/subjects/{person}/disclosures"


def agency_names(settings: Settings) -> dict[str, str]:
    """Agency code -> the name the instance configures for it (the code if none)."""
    names = {agency.value: settings.agency_name(agency.value) for agency in Agency}
    names.update({code: config.name for code, config in settings.agencies.items()})
    return names


# --- exports: streamed page by page, bounded by the export's own access entry ----------------


def bounded_entries(engine: sa.Engine, filters: Filters, bound: int) -> Iterator[LogEntry]:
    """Matching entries with index < `bound`, oldest first, one short transaction per page.

    A fresh connection per page keeps SQLite's write lock free between pages; entries are
    immutable, so the pages still add up to exactly the entries before `bound`.
    """
    cursor: str | None = None
    while True:
        with reading(engine) as conn:
            page = query(conn, filters, cursor, EXPORT_BATCH, order="asc")
        for entry in page.entries:
            if entry.index >= bound:
                return
            yield entry
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _csv_chunks(entries: Iterator[LogEntry], names: dict[str, str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for count, entry in enumerate(entries, start=1):
        writer.writerow(csv_row(entry, names))
        if count % EXPORT_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _fhir_bundle_chunks(
    entries: Iterator[LogEntry],
    version: Literal["R4", "R5"],
    origin: str,
    names: dict[str, str],
    now: dt.datetime,
) -> Iterator[str]:
    """A FHIR Bundle (type collection) of AuditEvents, streamed; no `entry` when empty."""
    head = {"resourceType": "Bundle", "type": "collection", "timestamp": now.isoformat()}
    yield json.dumps(head)[:-1]
    first = True
    for entry in entries:
        event = to_fhir_audit_event(entry, version, origin=origin, agency_names=names)
        yield (', "entry": [' if first else ", ") + json.dumps({"resource": event})
        first = False
    yield "}" if first else "]}"


def export_response(
    services: Services,
    filters: Filters,
    bound: int,
    export_format: Format,
    filename: str,
) -> StreamingResponse:
    """CSV or a FHIR AuditEvent Bundle of the matching entries logged before index `bound`."""
    settings = services.settings
    names = agency_names(settings)
    entries = bounded_entries(services.engine, filters, bound)
    if export_format == "csv":
        return StreamingResponse(
            _csv_chunks(entries, names),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    version: Literal["R4", "R5"] = "R4" if export_format == "fhir-r4" else "R5"
    now = dt.datetime.now(dt.UTC)
    return StreamingResponse(
        _fhir_bundle_chunks(entries, version, settings.origin, names, now),
        media_type=FHIR_MEDIA_TYPE,
    )


# --- GET /v1/disclosures ----------------------------------------------------------------------


class DisclosureQuery(BaseModel):
    """The filters of GET /v1/disclosures (all optional, combined with AND) and its paging."""

    subject: PersonId | None = Field(None, description="a person number; matched by its pseudonym")
    source: Sender | Literal["helhet"] | None = Field(
        None,
        description="source agency, `coordinator` (the family plan) or `helhet` (withdrawal "
        "notices)",
    )
    recipient: Agency | Literal["family"] | None = Field(
        None, description="recipient agency, or `family` (the family's own copy of its plan)"
    )
    category: Category | Literal["*"] | None = Field(
        None, description="a category; `*` matches consent entries for all categories"
    )
    event_type: EntryType | None = Field(None, alias="type")
    outcome: Outcome | None = None
    since: AwareDatetime | None = Field(
        None, alias="from", description="inclusive, with a time zone"
    )
    until: AwareDatetime | None = Field(None, alias="to", description="exclusive, with a time zone")
    cursor: str | None = Field(None, max_length=200)
    limit: int | None = Field(None, ge=1, le=MAX_PAGE)
    format: Format = "json"

    def check(self) -> None:
        """The checks across parameters: a period that ends after it starts; exports unpaged."""
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise Problem(
                422,
                "Invalid request",
                "`to` must be after `from`",
                pointer="query:to",
                type_=INVALID,
            )
        if self.format != "json" and (self.cursor is not None or self.limit is not None):
            pointer = "query:cursor" if self.cursor is not None else "query:limit"
            raise Problem(
                422,
                "Invalid request",
                "exports are not paged: drop cursor and limit",
                pointer=pointer,
                type_=INVALID,
            )

    def filters(self, pseudonym: str | None) -> Filters:
        return Filters(
            subject=pseudonym,
            source=self.source,
            recipient=self.recipient,
            category=self.category,
            event_type=self.event_type,
            outcome=self.outcome,
            since=self.since,
            until=self.until,
        )

    def page_read(self, entries: list[LogEntry]) -> dict[str, JsonValue]:
        """What the access entry of a page of results records: the query and what it returned."""
        indexes = [e.index for e in entries]
        return {
            "query": self.as_logged(),
            "returned": len(indexes),
            "first_index": indexes[0] if indexes else None,
            "last_index": indexes[-1] if indexes else None,
        }

    def as_logged(self) -> str:
        """The query as the access entry records it: fixed order, without the person number."""
        logged = {
            "source": self.source,
            "recipient": self.recipient,
            "category": self.category,
            "type": self.event_type.value if self.event_type else None,
            "outcome": self.outcome.value if self.outcome else None,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "cursor": self.cursor,
            "limit": self.limit,
        }
        return urllib.parse.urlencode([(k, str(v)) for k, v in logged.items() if v is not None])


@router.get(
    LIST_ROUTE,
    responses=answers(
        "Entries (JSON), or an export (CSV, FHIR)",
        "application/json",
        CSV_MEDIA_TYPE,
        FHIR_MEDIA_TYPE,
    ),
)
@allow(*policy.READ_LOG)
def list_disclosures(
    principal: PrivacyOfficer,
    services: ServicesDep,
    params: Annotated[DisclosureQuery, Query()],
) -> Any:
    """Log entries matching every filter given, newest first, a page at a time.

    `next_cursor` fetches the next page. `format=csv|fhir-r4|fhir-r5` exports every matching
    entry instead (oldest first; no paging). Entries carry the subject's pseudonym, never a
    number.
    """
    params.check()
    pseudonym = services.pseudonym(params.subject) if params.subject is not None else None
    filters = params.filters(pseudonym)
    engine = services.engine
    if params.format != "json":
        bound = access_log.record_read(
            engine,
            client=principal.name,
            read=LIST_ROUTE,
            subject_pseudonym=pseudonym,
            details={"query": params.as_logged(), "format": params.format},
        )
        return export_response(services, filters, bound, params.format, "disclosures")
    try:
        with reading(engine) as conn:
            page = query(conn, filters, params.cursor, params.limit or 100)
    except BadRange as exc:
        raise Problem(
            422, "Invalid request", str(exc), pointer="query:cursor", type_=INVALID
        ) from exc
    access_log.record_read(
        engine,
        client=principal.name,
        read=LIST_ROUTE,
        subject_pseudonym=pseudonym,
        details=params.page_read(page.entries),
    )
    return JSONResponse(
        {
            "entries": [e.model_dump(mode="json") for e in page.entries],
            "next_cursor": page.next_cursor,
        }
    )


# --- GET /v1/disclosures/{index} --------------------------------------------------------------


@router.get(ENTRY_ROUTE)
@allow(*policy.READ_LOG)
def read_disclosure(
    index: Annotated[int, Path(ge=0)],
    principal: PrivacyOfficer,
    services: ServicesDep,
    size: Annotated[
        int | None, Query(ge=1, description="prove against this tree size (a checkpoint's)")
    ] = None,
) -> JSONResponse:
    """One entry with its RFC 9162 inclusion proof: against `size` if given, else against the
    latest signed checkpoint if it covers the entry, else against the whole log as it is now.
    """
    with reading(services.engine) as conn:
        current = audit_log.tree_size(conn)
        try:
            entry = audit_log.get_entry(conn, index)
        except UnknownIndex as exc:
            raise Problem(
                404, "No such entry", str(exc), pointer="path:index", type_=LOG_PROBLEM
            ) from exc
        if size is not None and not index < size <= current:
            raise Problem(
                422,
                "Invalid request",
                f"entry {index} is not in a tree of size {size} (the log holds {current})",
                pointer="query:size",
                type_=INVALID,
            )
        latest = latest_checkpoint(conn)
        note: str | None = None
        if (
            latest is not None
            and index < latest.checkpoint.size
            and size in (None, latest.checkpoint.size)
        ):
            size = latest.checkpoint.size
            note = checkpoint_with_cosignatures(conn, latest)
        proof = audit_log.inclusion_proof(conn, index, size or current)
        root = audit_log.root(conn, proof.tree_size)
    access_log.record_read(
        services.engine,
        client=principal.name,
        read=ENTRY_ROUTE,
        subject_pseudonym=entry.subject_pseudonym,
        details={"entry": index, "tree_size": proof.tree_size},
    )
    return JSONResponse(
        {
            "entry": entry.model_dump(mode="json"),
            "leaf": b64(entry.leaf),
            "inclusion_proof": proof.as_dict(),
            "root": b64(root),
            "checkpoint": note,
        }
    )


# --- GET /v1/subjects/{person}/disclosures ----------------------------------------------------


@router.get(
    SUBJECT_ROUTE,
    responses=answers(
        "The access report (JSON), or an export (CSV, FHIR)",
        "application/json",
        CSV_MEDIA_TYPE,
        FHIR_MEDIA_TYPE,
    ),
)
@allow(*policy.READ_LOG)
def subject_disclosures(
    person: Annotated[PersonId, Path(description="the person's identity number")],
    principal: PrivacyOfficer,
    services: ServicesDep,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """A person's access report (GDPR art. 15, innsyn i logg): every recipient by name, with
    categories, purpose, basis and time; refusals, consents and earlier reads of the log.
    """
    pseudonym = services.pseudonym(person)
    engine = services.engine
    if format != "json":
        bound = access_log.record_read(
            engine,
            client=principal.name,
            read=SUBJECT_ROUTE,
            subject_pseudonym=pseudonym,
            details={"format": format},
        )
        return export_response(services, Filters(subject=pseudonym), bound, format, "access-report")
    names = agency_names(services.settings)
    with reading(engine) as conn:
        report = subject_report(conn, pseudonym, names, now=dt.datetime.now(dt.UTC))
    access_log.record_read(
        engine,
        client=principal.name,
        read=SUBJECT_ROUTE,
        subject_pseudonym=pseudonym,
        details={"format": format},
    )
    return JSONResponse(report.model_dump(mode="json"))
