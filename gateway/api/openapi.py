"""The OpenAPI document as integrators need it: the bearer scheme (Swagger UI's Authorize),
the problem+json every error really is, and each record format with a real example body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

import adapters
from gateway.api.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from schemas import PlanUpdate

BEARER = "bearer"
RECORDS_PATH = "/v1/records/{agency}"
EXAMPLES = Path(adapters.__file__).parent

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `type` is a page on this gateway (/problems/…)",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["/problems/validation"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "what is wrong, one entry per field",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {
                    "pointer": {
                        "type": "string",
                        "description": "a JSON Pointer into the body (or an XPath into an XML "
                        "record), or query:<name>, path:<name>, header:<name>",
                    },
                    "detail": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

_STATUS_TEXT = {
    "401": "No bearer token, or an unknown or revoked one",
    "403": "The client's role (or agency) may not do this",
    "404": "Not found",
    "413": "The body is too large",
    "415": "Unsupported content type",
    "422": "A field is invalid; `errors[].pointer` names it",
    "429": "Too many requests; see Retry-After",
}

# The examples shown per content type of POST /v1/records/{agency}: (agency, file).
RECORD_EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "application/json": [
        ("nav", "aktivitetskort-arbeidstrening.json"),
        ("nav", "vedtak-14a.json"),
        ("school", "fravarsregistrering.json"),
        ("school", "fint-collection.json"),
        ("child_welfare", "bekymringsmelding-offentlig.json"),
        ("housing", "bostotte.json"),
        ("housing", "kommunal-bolig.json"),
    ],
    "application/fhir+json": [("health", "bundle-helsestasjon-mor-og-barn.json")],
    "application/xml": [("child_welfare", "barnevern-v4.xml")],
    "application/x-ndjson": [
        ("nav", "aktivitetskort-batch.ndjson"),
        ("school", "dk-fravaer.ndjson"),
        ("housing", "bosituasjon-og-utkastelse.ndjson"),
    ],
}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _authenticated(route: APIRoute, principal: Callable[..., Any]) -> bool:
    return any(d.call is principal for d in _dependencies(route.dependant))


def _problem_response(status: str) -> dict[str, Any]:
    return {
        "description": _STATUS_TEXT[status],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _errors(operation: dict[str, Any], method: str, path: str, secured: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = {"422"} if "parameters" in operation or "requestBody" in operation else set()
    if secured:
        statuses |= {"401", "403", "429"}
    if "{" in path:
        statuses.add("404")
    if method in ("post", "patch") and "requestBody" in operation:
        statuses |= {"413", "415"}
    for status in sorted(statuses):
        responses[status] = _problem_response(status)


def _example(agency: str, name: str) -> dict[str, Any]:
    text = (EXAMPLES / agency / "examples" / name).read_text(encoding="utf-8")
    value: Any = json.loads(text) if name.endswith(".json") else text
    return {"summary": f"{agency}: {name}", "value": value}


def _record_body(operation: dict[str, Any]) -> None:
    content: dict[str, Any] = {}
    for media, examples in RECORD_EXAMPLES.items():
        schema: dict[str, Any] = (
            {"type": "object"} if media.endswith("json") else {"type": "string"}
        )
        content[media] = {
            "schema": schema,
            "examples": {
                f"{agency}-{Path(name).stem}": _example(agency, name) for agency, name in examples
            },
        }
    content["application/vnd.helhet.plan-update+json"] = {
        "schema": {"$ref": "#/components/schemas/PlanUpdate"},
    }
    operation["requestBody"] = {
        "required": True,
        "description": "one record (or several) in the agency's native format; the Content-Type "
        "says which (docs/adapters/). Every example here is a file under adapters/*/examples/.",
        "content": content,
    }


def install(app: FastAPI, principal: Callable[..., Any]) -> None:
    """Make `app.openapi()` give the document with these additions (built once, then cached).

    `principal` is the dependency that authenticates a caller (gateway.api.deps.get_principal):
    a route that depends on it needs the bearer token.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})[BEARER] = {
            "type": "http",
            "scheme": "bearer",
            "description": "a client token from `helhet clients add` (hh_…)",
        }
        models = components.setdefault("schemas", {})
        models["Problem"] = PROBLEM_SCHEMA
        plan_update = PlanUpdate.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in plan_update.pop("$defs", {}).items():
            models.setdefault(name, definition)
        models.setdefault("PlanUpdate", plan_update)
        for unused in ("HTTPValidationError", "ValidationError"):
            models.pop(unused, None)
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            path = context.path_format
            if not isinstance(route, APIRoute) or not route.include_in_schema or path is None:
                continue
            secured = _authenticated(route, principal)
            for method in context.methods or ():
                operation = schema["paths"].get(path, {}).get(method.lower())
                if operation is None:
                    continue
                if secured:
                    operation["security"] = [{BEARER: []}]
                if path == RECORDS_PATH and method == "POST":
                    _record_body(operation)
                _errors(operation, method.lower(), path, secured)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
