"""Consents (coordinator writes; coordinator and privacy officer read): record (native JSON or
FHIR Consent R4/R5), list by subject, read a version or its FHIR export, history, withdraw.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from consent import fhir, store
from consent.errors import ConsentError
from consent.models import ConsentIn, ConsentRecord, WithdrawalIn
from gateway.api import policy
from gateway.api.access import allow
from gateway.api.bodies import read_body
from gateway.api.clients import Principal
from gateway.api.deps import ServicesDep, require_role
from gateway.api.openapi import answers
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem, validation_problem
from gateway.db.engine import reading
from gateway.intake.consents import record_consent, withdraw_consent
from gateway.intake.services import Services
from schemas import PersonId

router = APIRouter(prefix="/v1/consents", tags=["consents"])
Coordinator = Annotated[Principal, Depends(require_role(*policy.RECORD_CONSENT))]
Reader = Annotated[Principal, Depends(require_role(*policy.READ_CONSENT))]
ConsentIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]

FHIR_MEDIA_TYPE = "application/fhir+json"
MAX_CONSENT_BYTES = 256 * 1024
MAX_VERSION = 2**31 - 1  # versions are database integers
CONSENT_PROBLEM = problem_type("consent")
# Where a native field a FHIR Consent was mapped to lives in that Consent (for error pointers).
_FHIR_LOCATIONS: dict[str, dict[str, str]] = {
    "R4": {
        "valid_from": "/provision/period/start",
        "valid_until": "/provision/period/end",
        "purpose": "/provision/purpose/0",
    },
    "R5": {
        "valid_from": "/period/start",
        "valid_until": "/period/end",
        "purpose": "/provision/0/purpose/0",
    },
}
# Path and query parameters the consent package names in ConsentError.field.
_PARAMETERS = {"consent_id": "path:consent_id", "version": "query:version"}


# ConsentIn's definitions (Evidence, Restriction, Agency, …) are ConsentRecord's too, which
# the responses already put under components/schemas.
_CONSENT_IN_SCHEMA = {
    k: v
    for k, v in ConsentIn.model_json_schema(ref_template="#/components/schemas/{model}").items()
    if k != "$defs"
}


class WithdrawnConsent(ConsentRecord):
    """The answer to a withdrawal: the new (withdrawn) version and the notices queued."""

    notices: int


def consent_problem(exc: ConsentError, *, fhir_version: str | None = None) -> Problem:
    """A consent package error as problem+json, its `field` turned into a JSON Pointer."""
    field = exc.field
    pointer: str | None
    if field is None:
        pointer = ""
    elif field in _PARAMETERS:
        pointer = _PARAMETERS[field]
    elif field.startswith("/"):
        pointer = field
    elif fhir_version is not None:
        pointer = _FHIR_LOCATIONS[fhir_version].get(field, "")
    else:
        pointer = "/" + field
    return Problem(exc.status, exc.title, str(exc.message), type_=CONSENT_PROBLEM, pointer=pointer)


def _json(model: Any, status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            params[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def _fhir_version(params: dict[str, str]) -> fhir.FhirVersion | None:
    """The `fhirVersion` media-type parameter (FHIR R5 §3.1.0.1.8): 4.0/4.3 -> R4, 5.0 -> R5."""
    given = params.get("fhirversion")
    if given is None:
        return None
    if given.startswith(("4.0", "4.3")):
        return "R4"
    if given.startswith("5.0"):
        return "R5"
    raise Problem(
        415,
        "Unsupported FHIR version",
        f"fhirVersion={given}: helhet reads Consent R4 (4.0, 4.3) and R5 (5.0)",
        pointer="header:Content-Type",
    )


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(
            422,
            "Invalid request",
            f"the body is not JSON: {exc}",
            pointer="",
            type_=CONSENT_PROBLEM,
        ) from exc
    if not isinstance(data, dict):
        raise Problem(
            422,
            "Invalid request",
            "the body must be a JSON object",
            pointer="",
            type_=CONSENT_PROBLEM,
        )
    return data


def _consent_in(
    media_type: str, params: dict[str, str], body: bytes
) -> tuple[ConsentIn, str | None]:
    """The native consent from the body, and the FHIR version it came in (None for native)."""
    data = _parse_json(body)
    if media_type == FHIR_MEDIA_TYPE:
        version = _fhir_version(params)
        try:
            consent = fhir.from_fhir(data, version)
        except ConsentError as exc:
            raise consent_problem(exc) from exc
        return consent, version or fhir.detect_version(data)
    if "resourceType" in data:
        raise Problem(
            415,
            "Unsupported content type",
            f"a FHIR resource is sent as {FHIR_MEDIA_TYPE}, not {media_type}",
            pointer="header:Content-Type",
        )
    try:
        return ConsentIn.model_validate(data), None
    except ValidationError as exc:
        raise validation_problem(exc.errors()) from exc


def _record(services: Services, consent: ConsentIn, client: str) -> ConsentRecord:
    now = dt.datetime.now(dt.UTC)
    with services.engine.begin() as conn:
        record = record_consent(services, conn, consent, client=client, now=now)
    services.refresh_after_commit()
    return record


@router.post(
    "",
    status_code=201,
    response_model=ConsentRecord,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "a native consent (ConsentIn) or a FHIR Consent R4/R5",
            "content": {
                "application/json": {"schema": _CONSENT_IN_SCHEMA},
                FHIR_MEDIA_TYPE: {"schema": {"type": "object"}},
            },
        }
    },
)
@allow(*policy.RECORD_CONSENT)
async def post_consent(
    request: Request, principal: Coordinator, services: ServicesDep
) -> JSONResponse:
    """Record a consent given by the subject or their guardians (version 1, active).

    `application/json`: the native record. `application/fhir+json`: a FHIR Consent, R4 or R5
    (told by the `fhirVersion` parameter, else detected). 201 with the record and its Location.
    """
    media_type, params = _media_type(request.headers.get("content-type", ""))
    if media_type not in ("application/json", FHIR_MEDIA_TYPE):
        raise Problem(
            415,
            "Unsupported content type",
            f"send application/json (native) or {FHIR_MEDIA_TYPE} (FHIR Consent R4/R5)",
            pointer="header:Content-Type",
        )
    body = await read_body(request, MAX_CONSENT_BYTES, "a consent")
    consent, fhir_version = _consent_in(media_type, params, body)
    try:
        record = await run_in_threadpool(_record, services, consent, principal.name)
    except ConsentError as exc:
        raise consent_problem(exc, fhir_version=fhir_version) from exc
    return _json(record, 201, Location=f"/v1/consents/{record.consent_id}")


@router.get("")
@allow(*policy.READ_CONSENT)
def list_consents(
    subject: Annotated[PersonId, Query(description="the subject's identity number")],
    principal: Reader,
    services: ServicesDep,
) -> JSONResponse:
    """The latest version of each of the subject's consents, in the order first recorded."""
    with reading(services.engine) as conn:
        records = store.list_for_subject(conn, subject)
    return JSONResponse(
        {"subject": subject, "consents": [r.model_dump(mode="json") for r in records]}
    )


@router.get(
    "/{consent_id}",
    response_model=ConsentRecord,
    responses=answers("The consent (native JSON or FHIR)", "application/json", FHIR_MEDIA_TYPE),
)
@allow(*policy.READ_CONSENT)
def read_consent(
    consent_id: ConsentIdPath,
    principal: Reader,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    format: Annotated[Literal["json", "fhir-r4", "fhir-r5"], Query()] = "json",
) -> JSONResponse:
    """A consent's latest version (or `version`); `format=fhir-r4|fhir-r5` for FHIR Consent."""
    try:
        with reading(services.engine) as conn:
            record = store.get(conn, consent_id, version)
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    if format == "json":
        return _json(record)
    resource = fhir.to_fhir(record, "R4" if format == "fhir-r4" else "R5")
    fhir_version = "4.0" if format == "fhir-r4" else "5.0"
    return JSONResponse(resource, media_type=f"{FHIR_MEDIA_TYPE}; fhirVersion={fhir_version}")


@router.get("/{consent_id}/history")
@allow(*policy.READ_CONSENT)
def consent_history(
    consent_id: ConsentIdPath, principal: Reader, services: ServicesDep
) -> JSONResponse:
    """Every version of a consent, oldest first."""
    try:
        with reading(services.engine) as conn:
            versions = store.history(conn, consent_id)
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    return JSONResponse(
        {"consent_id": consent_id, "versions": [v.model_dump(mode="json") for v in versions]}
    )


@router.post("/{consent_id}/withdraw", response_model=WithdrawnConsent)
@allow(*policy.RECORD_CONSENT)
def withdraw(
    consent_id: ConsentIdPath, body: WithdrawalIn, principal: Coordinator, services: ServicesDep
) -> JSONResponse:
    """Withdraw at once: a new version (status withdrawn), and a withdrawal notice queued for
    every recipient that received data under the consent. 404 unknown, 409 already withdrawn.
    """
    now = dt.datetime.now(dt.UTC)
    try:
        with services.engine.begin() as conn:
            record, notices = withdraw_consent(
                services, conn, consent_id, reason=body.reason, client=principal.name, now=now
            )
    except ConsentError as exc:
        raise consent_problem(exc) from exc
    services.refresh_after_commit()
    return JSONResponse({**record.model_dump(mode="json"), "notices": notices})
