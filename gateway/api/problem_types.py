"""The catalogue of problem types the API answers with (RFC 9457 `type`): each one's URI is
/problems/<name> on the gateway itself, where a person can read what it means and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE = "/problems/"


@dataclass(frozen=True, slots=True)
class ProblemType:
    name: str
    title: str
    explanation: str


CATALOGUE: dict[str, ProblemType] = {
    p.name: p
    for p in (
        ProblemType(
            "validation",
            "Invalid request",
            "A field of the request (body, query or path) is missing or not valid. Each entry of "
            "`errors` names the field with a JSON Pointer into the body, or `query:<name>` / "
            "`path:<name>` / `header:<name>`, and says what is expected. Nothing was stored.",
        ),
        ProblemType(
            "record",
            "Record refused",
            "The record could not be translated from the agency's native format, or breaks a rule "
            "of the gateway (another source agency, too many items). `pointer` names the place in "
            "the record (a JSON Pointer or an XPath), `expected` what the adapter expected. The "
            "whole body was refused: nothing was stored or forwarded. docs/adapters/ describes "
            "each format.",
        ),
        ProblemType(
            "consent",
            "Consent refused",
            "The consent cannot be recorded, read or withdrawn as asked: an unknown id, a consent "
            "already withdrawn, a period already ended, or a FHIR Consent with something helhet "
            "cannot honour. The `errors` entry names the field.",
        ),
        ProblemType(
            "family",
            "Family refused",
            "The family cannot be enrolled or changed as asked: unknown family, or a person whose "
            "birth date differs from the one recorded in another family (409).",
        ),
        ProblemType(
            "plan",
            "Plan refused",
            "The family plan cannot be changed as asked: an unknown entry (404), a plan already "
            "closed (409), a change without `If-Match` naming the version it changes (428), or "
            "one made to a version someone else changed first (412: read it again). The `errors` "
            "entry names the field.",
        ),
        ProblemType(
            "not-enrolled",
            "Subject not enrolled",
            "The person is in no family, so helhet forwards nothing about them and has no birth "
            "date or guardians to decide with. Enrol the family first (POST /v1/families).",
        ),
        ProblemType(
            "audit",
            "Disclosure log",
            "The disclosure log cannot answer as asked: no such entry, no checkpoint yet, or a "
            "checkpoint refused because the log is not an extension of the last one.",
        ),
        ProblemType(
            "unauthorized",
            "Unauthorized",
            "No bearer token was given, or it is unknown or revoked. Send `Authorization: Bearer "
            "<token>` with the token `helhet clients add` printed. The refusal is logged.",
        ),
        ProblemType(
            "forbidden",
            "Forbidden",
            "The client's role may not do this, or an agency client acted as another agency. "
            "Each client holds one role (agency, coordinator, privacy_officer, operator). The "
            "refusal is logged.",
        ),
        ProblemType(
            "rate-limited",
            "Too many requests",
            "The client sent more requests per minute than the instance allows. Wait the number "
            "of seconds in `Retry-After` and try again.",
        ),
        ProblemType(
            "unavailable",
            "Service unavailable",
            "The gateway's database is busy (a write waited longer than the instance's "
            "database_write_wait_seconds for its turn) or cannot be reached for a moment (a "
            "restart or a failover). Nothing of this request was stored; send it again after "
            "the seconds in `Retry-After`.",
        ),
        ProblemType(
            "too-deep",
            "Body nested too deeply",
            "The JSON body nests objects or arrays deeper than the gateway accepts "
            "(max_json_depth); no record needs that, so it was refused before parsing.",
        ),
        ProblemType(
            "too-large",
            "Body too large",
            "The request body is larger than the gateway accepts for this route; nothing of it was "
            "stored. Send fewer records per request.",
        ),
    )
}


def problem_type(name: str) -> str:
    """The `type` URI of a catalogued problem (KeyError for a name not in the catalogue)."""
    return BASE + CATALOGUE[name].name
