"""The request guard: a pure ASGI middleware that runs before FastAPI reads anything of a
request. It authenticates the bearer token of every protected route and enforces the body limit
while the body streams in, so an unauthenticated or oversized body is never read or parsed.

Order: the caller's address within its rate limit (429) -> token (401) -> declared
Content-Length and streamed size (413) -> nesting depth of a JSON body (422) -> the app, which
gets the body already read. Roles stay `deps.require_role`'s; the per-client rate limit too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import access_log
from gateway.api.access import Access, declared, framework_paths, matching_route
from gateway.api.auth import bearer_token, principal_for, unauthorized
from gateway.api.bodies import is_json, json_depth, too_deep, too_large
from gateway.api.problems import Problem, problem_response, unavailable_problem
from gateway.api.ratelimit import RateLimiter, too_many_requests
from gateway.config.instance import Instance
from gateway.errors import DatabaseUnavailable


class _Disconnected(Exception):
    """The client went away while its body was being read."""


class RequestGuard:
    """Authenticate before the body, and read the body within its limit (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fastapi_app: Any = scope["app"]
        instance: Instance = fastapi_app.state.instance
        route = matching_route(fastapi_app, scope)
        access = declared(route, framework_paths(fastapi_app)) if route is not None else None
        try:
            refused = await self._admit(fastapi_app, scope, instance, route, access)
        except (sa.exc.SQLAlchemyError, DatabaseUnavailable) as exc:
            # The guard runs outside FastAPI's exception handlers: a lost connection during the
            # token lookup or a refusal's log entry is the same 503 it is inside a route.
            refused = unavailable_problem(exc, scope.get("method", "?"), route)
            if refused is None:
                raise
        if refused is not None:
            await self._answer(refused, scope, receive, send)
            return
        limit = _body_limit(instance, access)
        try:
            body = await _read_body(scope, receive, limit)
            await run_in_threadpool(_check_depth, scope, body, instance.settings.max_json_depth)
        except _Disconnected:
            return
        except Problem as problem:
            await self._answer(problem, scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    @classmethod
    async def _admit(
        cls, fastapi_app: Any, scope: Scope, instance: Instance, route: Any, access: Access | None
    ) -> Problem | None:
        """None when the request may go on to its body; else the 429 or 401 to answer."""
        over_limit = await _address_over_limit(fastapi_app, scope)
        if over_limit is not None:
            return over_limit
        if route is not None:
            scope["route"] = route  # the template the access log records (set again by the router)
            if access is None or not access.public:
                return await cls._authenticate(scope, instance)
        return None

    @staticmethod
    async def _authenticate(scope: Scope, instance: Instance) -> Problem | None:
        """None once the caller's principal is on `request.state`; else the 401 to answer."""
        request = Request(scope)
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            reason = "no_bearer_token"
            detail = "a bearer token is required (Authorization: Bearer <token>)"
        else:
            principal = await run_in_threadpool(principal_for, instance.engine, token)
            if principal is not None:
                request.state.principal = principal
                return None
            reason, detail = "unknown_token", "the bearer token is unknown or revoked"
        await run_in_threadpool(
            access_log.record_denied, instance.engine, request, status=401, reason=reason
        )
        return unauthorized(detail)

    @staticmethod
    async def _answer(problem: Problem, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(problem, scope.get("path"))
        if problem.status == 413:
            response.headers["Connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


async def _address_over_limit(app: Any, scope: Scope) -> Problem | None:
    """The 429 for a client address over `rate_limit_per_address_per_minute` (before any
    token is looked at: it bounds what an unauthenticated caller costs), else None."""
    limiter: RateLimiter = app.state.address_limiter
    client = scope.get("client")
    address = client[0] if client else "unknown"
    wait = limiter.check(address)
    if wait <= 0:
        return None
    request = Request(scope)
    instance: Instance = app.state.instance
    await run_in_threadpool(
        access_log.record_denied,
        instance.engine,
        request,
        status=429,
        reason="rate_limited_address",
    )
    return too_many_requests("the address", limiter.per_minute, wait)


def _body_limit(instance: Instance, access: Access | None) -> int:
    settings = instance.settings
    if access is not None and access.large_body:
        return settings.max_body_bytes
    return settings.max_request_bytes


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refused (413) by its Content-Length or as soon as it streams past."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            declared_length = value.decode("latin-1").strip()
            if not declared_length.isascii() or not declared_length.isdigit():
                raise Problem(400, "Bad request", "Content-Length is not a number")
            if int(declared_length) > limit:
                raise too_large(limit, "the body")
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body.extend(message.get("body", b""))
        if len(body) > limit:
            raise too_large(limit, "the body")
        if not message.get("more_body", False):
            return bytes(body)


def _check_depth(scope: Scope, body: bytes, limit: int) -> None:
    """A JSON body nested deeper than `limit` is refused before any parser recurses into it."""
    if not body:
        return
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"").decode("latin-1")
    if is_json(content_type) and json_depth(body) > limit:
        raise too_deep(limit)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then waits as before."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
