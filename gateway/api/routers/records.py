"""Records in (agency role): POST /v1/records/{agency} in the agency's native format."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.errors import AdapterError
from gateway.api import policy
from gateway.api.access import allow
from gateway.api.bodies import read_body
from gateway.api.clients import Principal
from gateway.api.deps import MetricsDep, ServicesDep, require_agency, require_role
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem
from gateway.errors import RecordError
from gateway.intake.pipeline import RecordAnswer, accept_record
from schemas import Agency

router = APIRouter(prefix="/v1/records", tags=["records"])
ACCEPTED = "helhet_records_accepted_total"
REFUSED = "helhet_records_refused_total"
REFUSED_HELP = "Records refused whole, by agency and HTTP status"
AgencyClient = Annotated[Principal, Depends(require_role(*policy.SUBMIT_RECORDS))]


@router.post("/{agency}", status_code=202, response_model=RecordAnswer)
@allow(*policy.SUBMIT_RECORDS, agency_path="agency", large_body=True)
async def post_record(
    agency: Agency,
    request: Request,
    principal: AgencyClient,
    services: ServicesDep,
    metrics: MetricsDep,
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
    body = await read_body(request, services.settings.max_body_bytes)
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
        metrics.inc(REFUSED, REFUSED_HELP, agency=agency.value, status=str(exc.status))
        raise Problem(
            exc.status,
            exc.title,
            str(exc),
            type_=problem_type("record"),
            pointer=exc.pointer or "",
            extra={"agency": exc.agency, "record": exc.record, "expected": exc.expected},
        ) from exc
    except RecordError as exc:
        metrics.inc(REFUSED, REFUSED_HELP, agency=agency.value, status=str(exc.status))
        raise Problem(
            exc.status,
            "Record refused",
            str(exc),
            pointer=exc.pointer,
            type_=problem_type("record"),
        ) from exc
    metrics.inc(ACCEPTED, "Records accepted (202)", agency=agency.value)
    for route in answer.routes:
        for name, categories in (("disclosed", route.disclosed), ("withheld", route.withheld)):
            if categories:
                metrics.inc(
                    "helhet_routes_total",
                    "Record routes to a recipient, by whether anything was disclosed or withheld",
                    recipient=route.recipient,
                    outcome=name,
                )
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)
