"""The OpenAPI document as the API answers and integrators need it: the bearer scheme on every
protected route (Swagger UI's Authorize), every refusal as the RFC 9457 problem+json it is, and
each record format of POST /v1/records with a real example body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import adapters
from gateway.api.access import declared, framework_paths, routes
from gateway.api.problems import MEDIA_TYPE
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
}
# Every route can answer these: the request guard (token, rate limit, body size and depth) runs
# before any route, and a lost database answers 503.
REFUSALS = {
    "400": "Malformed request",
    "401": "No bearer token, or an unknown or revoked one",
    "403": "The client's role or agency may not do this",
    "404": "Not found",
    "409": "Conflicts with what is stored",
    "413": "Body too large",
    "415": "Unsupported content type",
    "422": "Invalid request (the field is named in errors[].pointer)",
    "429": "Too many requests (see Retry-After)",
    "503": "The database is unavailable for a moment (see Retry-After)",
}
PUBLIC_ONLY = ("401", "403")

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


def answers(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route whose 200 comes in several media types (exports)."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _example(agency: str, name: str) -> dict[str, Any]:
    text = (EXAMPLES / agency / "examples" / name).read_text(encoding="utf-8")
    value: Any = json.loads(text) if name.endswith(".json") else text
    return {"summary": f"{agency}: {name}", "value": value}


def _record_body(operation: dict[str, Any]) -> None:
    content: dict[str, Any] = {}
    for media, examples in RECORD_EXAMPLES.items():
        schema = {"type": "object" if media.endswith("json") else "string"}
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


def _components(spec: dict[str, Any]) -> None:
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "a client token from `helhet clients add` (hh_…)",
    }
    models = components.setdefault("schemas", {})
    models.pop("HTTPValidationError", None)
    models.pop("ValidationError", None)
    models["Problem"] = PROBLEM_SCHEMA
    plan_update = PlanUpdate.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in plan_update.pop("$defs", {}).items():
        models.setdefault(name, definition)
    models.setdefault("PlanUpdate", plan_update)


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with these additions (built once, then cached)."""
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
    _components(spec)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            is_public = (path, method) in public
            if not is_public:
                operation["security"] = [{BEARER: []}]
            if path == RECORDS_PATH and method == "post":
                _record_body(operation)
            responses = operation.setdefault("responses", {})
            for status, description in REFUSALS.items():
                if not (is_public and status in PUBLIC_ONLY):
                    responses[status] = _problem(description)
    app.openapi_schema = spec
    return spec


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
