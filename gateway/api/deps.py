"""All FastAPI wiring: the instance, settings, database and the bearer-token auth seam.

Every protected endpoint declares `Annotated[Principal, Depends(require_role(...))]` and, next
to its route, who may call it (`gateway.api.access`; the request guard reads that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from gateway.api import access_log
from gateway.api.auth import bearer_token, principal_for, unauthorized
from gateway.api.clients import Principal, Role
from gateway.api.metrics import Metrics
from gateway.api.problem_types import problem_type
from gateway.api.problems import Problem
from gateway.api.ratelimit import RateLimiter, too_many_requests
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


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_principal(request: Request, engine: EngineDep) -> Principal:
    """The authenticated caller: the request guard's (gateway.api.guard), which checked the
    bearer token before the body was read; else from `Authorization: Bearer <token>` here."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            access_log.record_denied(engine, request, status=401, reason="no_bearer_token")
            raise unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        principal = principal_for(engine, token)
        if principal is None:
            access_log.record_denied(engine, request, status=401, reason="unknown_token")
            raise unauthorized("the bearer token is unknown or revoked")
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
        raise too_many_requests("the client", limiter.per_minute, wait)
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
            type_=problem_type("forbidden"),
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
            type_=problem_type("forbidden"),
            pointer="path:agency",
        )
