"""GET /metrics: Prometheus text for the operator (outbox backlog, log size, records, relay)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from gateway.api import policy
from gateway.api.access import allow
from gateway.api.clients import Principal
from gateway.api.deps import MetricsDep, ServicesDep, require_role
from gateway.api.metrics import CONTENT_TYPE, render
from gateway.db.engine import reading

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=PlainTextResponse)
@allow(*policy.READ_METRICS)
def metrics(
    request: Request,
    services: ServicesDep,
    counters: MetricsDep,
    principal: Annotated[Principal, Depends(require_role(*policy.READ_METRICS))],
) -> PlainTextResponse:
    relay = getattr(request.app.state, "relay", None)
    with reading(services.engine) as conn:
        text = render(
            counters,
            conn,
            consents=len(services.consents),
            relay_error=relay.last_error if relay is not None else None,
            relay_running=relay is not None,
        )
    return PlainTextResponse(text, media_type=CONTENT_TYPE)
