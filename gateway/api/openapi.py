"""The OpenAPI document as the API answers: every refusal is RFC 9457 problem+json (not
FastAPI's default validation error), with the statuses each route can give documented.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.api.access import declared, framework_paths, routes
from gateway.api.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors[].pointer` names the offending field",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}
REFUSALS = {
    "400": "Malformed request",
    "401": "No valid bearer token",
    "403": "The client's role or agency may not do this",
    "404": "Not found",
    "409": "Conflicts with what is stored",
    "413": "Body too large",
    "415": "Unsupported content type",
    "422": "Invalid request (the field is named in errors[].pointer)",
    "429": "Too many requests (Retry-After)",
}
PUBLIC_ONLY = ("401", "403")


def answers(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route whose 200 comes in several media types (exports)."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with problem+json refusals (built once, then cached)."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    public = {
        (str(route.path), method.lower())
        for route in routes(app)
        for method in route.methods or ()
        if (access := declared(route, framework_paths(app))) is not None and access.public
    }
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, description in REFUSALS.items():
                if (path, method) in public and status in PUBLIC_ONLY:
                    continue
                responses[status] = _problem(description)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    app.openapi_schema = spec
    return spec


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
