"""Records in (agency role): POST /v1/records/{agency} in the agency's native format."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.errors import AdapterError
from gateway.clients import Principal, Role
from gateway.deps import ServicesDep, require_agency, require_role
from gateway.pipeline import RecordAnswer, RecordError, accept_record
from gateway.problems import PROBLEM_TYPE_BASE, Problem
from schemas import Agency

router = APIRouter(prefix="/v1/records", tags=["records"])
ACCEPTED = "helhet_records_accepted_total"
REFUSED = "helhet_records_refused_total"
REFUSED_HELP = "Records refused whole, by agency and HTTP status"
AgencyClient = Annotated[Principal, Depends(require_role(Role.AGENCY))]


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Body too large", f"the body exceeds {limit} bytes", pointer="")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Problem(413, "Body too large", f"the body exceeds {limit} bytes", pointer="")
    return bytes(body)


@router.post("/{agency}", status_code=202, response_model=RecordAnswer)
async def post_record(
    agency: Agency,
    request: Request,
    principal: AgencyClient,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Translate a native record, forward what consent permits to the family's team, log it all.

    Content-Type selects the format (see docs/adapters/). Same Idempotency-Key and body: the same
    answer and no second forward; same key with another body: 409.
    """
    require_agency(principal, agency.value, request)
    content_type = request.headers.get("content-type")
    if not content_type:
        raise Problem(
            415,
            "Unsupported content type",
            "a Content-Type header is required",
            pointer="header:Content-Type",
        )
    body = await _read_body(request, services.settings.max_body_bytes)
    try:
        answer = await run_in_threadpool(
            accept_record,
            services,
            agency=agency.value,
            body=body,
            content_type=content_type,
            client_id=principal.client_id,
            client_name=principal.name,
            idempotency_key=idempotency_key,
            now=dt.datetime.now(dt.UTC),
        )
    except AdapterError as exc:
        services.metrics.inc(REFUSED, REFUSED_HELP, agency=agency.value, status=str(exc.status))
        raise Problem(
            exc.status,
            exc.title,
            str(exc),
            type_=PROBLEM_TYPE_BASE + "record",
            pointer=exc.pointer or "",
            extra={"agency": exc.agency, "record": exc.record, "expected": exc.expected},
        ) from exc
    except RecordError as exc:
        services.metrics.inc(REFUSED, REFUSED_HELP, agency=agency.value, status=str(exc.status))
        raise Problem(
            exc.status,
            "Record refused",
            str(exc),
            pointer=exc.pointer,
            type_=PROBLEM_TYPE_BASE + "record",
        ) from exc
    services.metrics.inc(ACCEPTED, "Records accepted (202)", agency=agency.value)
    for route in answer.routes:
        for name, categories in (("disclosed", route.disclosed), ("withheld", route.withheld)):
            if categories:
                services.metrics.inc(
                    "helhet_routes_total",
                    "Record routes to a recipient, by whether anything was disclosed or withheld",
                    recipient=route.recipient,
                    outcome=name,
                )
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)
