"""RFC 9457 problem+json: one exception type for the routers, and the handlers that render it.

Validation errors name the offending field as a JSON Pointer (`errors[].pointer`); a lost
database connection is a 503 with Retry-After.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api.problem_types import problem_type
from gateway.db.engine import unavailable
from gateway.errors import DatabaseUnavailable

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 2  # what a 503 asks the client to wait: a restart or fail-over
log = logging.getLogger("helhet.api")


class Problem(Exception):
    """Raise from a router to answer with problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        pointer: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type_ = type_ or "about:blank"
        self.pointer = pointer
        self.errors = list(errors or [])
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type_, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        errors = self.errors
        if self.pointer and not errors:
            errors = [{"pointer": self.pointer, "detail": self.detail or self.title}]
        if errors:
            body["errors"] = errors
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        headers=problem.headers,
        media_type=MEDIA_TYPE,
    )


def pointer_from_loc(loc: Sequence[str | int]) -> str:
    """A pydantic error location as a JSON Pointer into the request body (or a parameter)."""
    parts = list(loc)
    if parts and parts[0] in ("body",):
        parts = parts[1:]
    elif parts and parts[0] in ("query", "path", "header"):
        return f"{parts[0]}:{'.'.join(str(p) for p in parts[1:])}"
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return "/" + "/".join(escaped) if escaped else ""


def untagged_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors with union-member tags (`str-enum[Agency]`, `literal['*']`) taken out of
    their locations, one error per location: `/sources/0`, not `/sources/0/str-enum[Agency]`.
    """
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for error in errors:
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        tagged = len(loc) != len(error["loc"])
        if loc not in merged:
            merged[loc] = {**error, "loc": loc}
        elif tagged and "literal['*']" in error["loc"]:
            first = merged[loc]
            merged[loc] = {**first, "msg": f"{first['msg']}, or '*' alone"}
    return list(merged.values())


def validation_problem(errors: Sequence[Any], *, status: int = 422) -> Problem:
    errors = untagged_errors(errors)
    items = [
        {
            "pointer": pointer_from_loc(e["loc"]),
            "detail": str(e["msg"]).removeprefix("Value error, "),
        }
        for e in errors
    ]
    first = items[0] if items else {"pointer": "", "detail": "invalid request"}
    return Problem(
        status,
        "Invalid request",
        f"{first['pointer'] or 'the body'}: {first['detail']}",
        type_=problem_type("validation"),
        errors=items,
    )


def database_unavailable(exc: DatabaseUnavailable) -> Problem:
    return Problem(
        503,
        "Database unavailable",
        "the database cannot be reached just now, or is busy (a restart, a fail-over, or "
        "writers queued longer than the instance allows); nothing of this request was stored: "
        f"send it again after {RETRY_AFTER_SECONDS} s (a record sent again is not forwarded "
        "twice)",
        type_=problem_type("unavailable"),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unavailable_problem(exc: BaseException, method: str, route: object) -> Problem | None:
    """The 503 for a lost or refused database connection (logged with the route's template, as
    a path may name a person), or None when `exc` is another kind of error."""
    mapped = exc if isinstance(exc, DatabaseUnavailable) else unavailable(exc)
    if mapped is None:
        return None
    log.warning("%s %s: %s", method, getattr(route, "path", "?"), mapped)
    return database_unavailable(mapped)


def install(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(exc.errors()), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem = Problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))
        return problem_response(problem, request.url.path)

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        problem = unavailable_problem(exc, request.method, request.scope.get("route"))
        if problem is None:
            raise exc  # not a connection problem: a 500, as without this handler
        return problem_response(problem, request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(sa.exc.SQLAlchemyError, on_database)
    app.add_exception_handler(DatabaseUnavailable, on_database)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
