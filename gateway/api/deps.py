"""All FastAPI wiring: the instance, settings, database and the bearer-token auth seam.

Every protected endpoint declares `Annotated[Principal, Depends(require_role(...))]`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from gateway.api import access_log
from gateway.api.clients import Principal, Role, authenticate
from gateway.api.metrics import Metrics
from gateway.api.problems import PROBLEM_TYPE_BASE, Problem
from gateway.api.ratelimit import RateLimiter
from gateway.config.instance import Instance
from gateway.config.settings import Settings
from gateway.intake.services import Services


def get_instance(request: Request) -> Instance:
    instance: Instance = request.app.state.instance
    return instance


InstanceDep = Annotated[Instance, Depends(get_instance)]


def get_settings(instance: InstanceDep) -> Settings:
    return instance.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_engine(instance: InstanceDep) -> sa.Engine:
    return instance.engine


EngineDep = Annotated[sa.Engine, Depends(get_engine)]


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        type_=PROBLEM_TYPE_BASE + "unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="helhet"'},
    )


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_principal(request: Request, engine: EngineDep) -> Principal:
    """The authenticated caller, from `Authorization: Bearer <token>`."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        access_log.record_denied(engine, request, status=401, reason="no_bearer_token")
        raise _unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    with engine.connect() as conn:
        principal = authenticate(conn, token.strip())
    if principal is None:
        access_log.record_denied(engine, request, status=401, reason="unknown_token")
        raise _unauthorized("the bearer token is unknown or revoked")
    request.state.principal = principal
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.check(principal.client_id)
    if wait > 0:
        access_log.record_denied(
            engine,
            request,
            status=429,
            reason="rate_limited",
            client=principal.name,
            role=principal.role.value,
        )
        seconds = max(1, math.ceil(wait))
        raise Problem(
            429,
            "Too many requests",
            f"the client is over its limit of {limiter.per_minute} requests per minute; "
            f"try again in {seconds} s",
            type_=PROBLEM_TYPE_BASE + "rate-limited",
            headers={"Retry-After": str(seconds)},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def authorize(
    principal: Principal, allowed: frozenset[Role], request: Request, engine: sa.Engine
) -> Principal:
    """The principal if its role is in `allowed` (a `gateway.api.policy` set); else the refusal
    is logged and a 403 Problem raised. The API and the console both decide through this."""
    if principal.role not in allowed:
        access_log.record_denied(
            engine,
            request,
            status=403,
            reason="role",
            client=principal.name,
            role=principal.role.value,
        )
        names = ", ".join(sorted(r.value for r in allowed))
        raise Problem(
            403,
            "Forbidden",
            f"this operation needs the role {names}; the client has {principal.role.value}",
            type_=PROBLEM_TYPE_BASE + "forbidden",
        )
    return principal


def require_role(*roles: Role | str) -> Callable[..., Principal]:
    """A dependency that admits only callers holding one of `roles` (a `policy` set, unpacked)."""
    allowed = frozenset(Role(r) for r in roles)

    def check(principal: PrincipalDep, request: Request, engine: EngineDep) -> Principal:
        return authorize(principal, allowed, request, engine)

    return check


def require_agency(principal: Principal, agency: str, request: Request | None = None) -> None:
    """An agency client may act only as its own agency (pass `request` to log a refusal)."""
    if principal.role is Role.AGENCY and principal.agency != agency:
        if request is not None:
            access_log.record_denied(
                request.app.state.instance.engine,
                request,
                status=403,
                reason="agency",
                client=principal.name,
                role=principal.role.value,
                extra={"agency": agency},
            )
        raise Problem(
            403,
            "Forbidden",
            f"the client is bound to agency {principal.agency!r}, not {agency!r}",
            type_=PROBLEM_TYPE_BASE + "forbidden",
            pointer="path:agency",
        )
