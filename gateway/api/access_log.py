"""`access` entries in the disclosure log: every read of the log by a person, and every refusal
of access (401/403/429), each appended and committed in its own transaction (refusals
aggregated per source and window by gateway.api.refusals).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from pydantic import JsonValue

from audit import log as audit_log
from audit.entries import Entry, EntryType, Outcome
from gateway.api.refusals import RefusalLog
from gateway.clock import utcnow

log = logging.getLogger("helhet.access")

READ = Outcome.READ.value
UNKNOWN_CLIENT = "unknown"


def route_template(request: Request) -> str:
    """The matched route's template (`/v1/subjects/{person}/disclosures`), never the raw path:
    a raw path or query string may hold a person number or a token, and the log must not.
    """
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "(unmatched)"


def record_read(
    engine: sa.Engine,
    *,
    client: str,
    read: str,
    subject_pseudonym: str | None = None,
    family_id: str | None = None,
    details: dict[str, JsonValue] | None = None,
) -> int:
    """Log that `client` read `read` (a route template); return the entry's index.

    Commits before returning, so callers answer only once the read is on record. Raises if the
    entry cannot be written: no read without its record.
    """
    entry = Entry(
        event_type=EntryType.ACCESS,
        subject_pseudonym=subject_pseudonym,
        family_id=family_id,
        outcome=READ,
        client=client,
        details={"read": read, **(details or {})},
    )
    with engine.begin() as conn:
        (index,) = audit_log.append(conn, [entry], now=utcnow())
    return index


def record_reads(
    engine: sa.Engine,
    *,
    client: str,
    read: str,
    subject_pseudonyms: list[str],
    family_id: str | None = None,
    details: dict[str, JsonValue] | None = None,
) -> list[int]:
    """`record_read` for a page that shows several people (a family): one entry per person, so
    each one's access report lists the read; all committed together before returning.
    """
    entries = [
        Entry(
            event_type=EntryType.ACCESS,
            subject_pseudonym=pseudonym,
            outcome=READ,
            client=client,
            family_id=family_id,
            details={"read": read, **(details or {})},
        )
        for pseudonym in subject_pseudonyms
    ]
    if not entries:
        return []
    with engine.begin() as conn:
        return audit_log.append(conn, entries, now=utcnow())


def record_denied(
    engine: sa.Engine,
    request: Request,
    *,
    status: int,
    reason: str,
    client: str | None = None,
    role: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Log a refused access (401: client unknown; 403: the client and its role; 429).

    Records the method, the route template and the caller's address, never the token, the raw
    path or the query string. Repeats of the same refusal from the same source are aggregated
    per window (gateway.api.refusals). A failure to write is logged and swallowed: the caller
    is refused either way, and an unwritable log must not turn a 401 into a 500.
    """
    details: dict[str, JsonValue] = {
        "method": request.method,
        "route": route_template(request),
        "status": status,
    }
    if role is not None:
        details["role"] = role
    if request.client is not None:
        details["remote"] = request.client.host
    for key, value in (extra or {}).items():
        details[key] = value
    refusals: RefusalLog | None = getattr(request.app.state, "refusals", None)
    if refusals is None:
        refusals = RefusalLog(engine, window_seconds=0)  # no app-wide log: one entry each
    refusals.refused(client=client or UNKNOWN_CLIENT, reason=reason, details=details)
