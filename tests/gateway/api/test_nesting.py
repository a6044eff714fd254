"""Finding 5: deeply nested JSON is refused with 422 problem+json on every route and format
(it gave 500, a RecursionError, on POST /v1/consents), and nothing is stored."""

from __future__ import annotations

import pytest

from gateway.api.bodies import json_depth
from tests.helpers.gateway import Gateway

DEEP = b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"


@pytest.mark.parametrize(
    ("who", "path", "content_type"),
    [
        ("coordinator", "/v1/consents", "application/json"),
        ("coordinator", "/v1/consents", "application/fhir+json"),
        ("coordinator", "/v1/families", "application/json"),
        ("coordinator", "/v1/consents/c1/withdraw", "application/json"),
        ("nav", "/v1/decisions", "application/json"),
        ("nav", "/v1/records/nav", "application/json"),
        ("nav", "/v1/records/nav", "application/x-ndjson"),
        ("health", "/v1/records/health", "application/fhir+json"),
        ("school", "/v1/records/school", "application/vnd.helhet.plan-update+json"),
    ],
)
def test_deep_json_is_422_everywhere(api: Gateway, who: str, path: str, content_type: str) -> None:
    with api.client(who) as c:
        response = c.post(path, content=DEEP, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Body nested too deeply"
    assert api.log_entries() == []


def test_ordinary_nesting_passes(api: Gateway) -> None:
    """The limit leaves room for the deepest real formats (FHIR bundles nest about ten)."""
    limit = api.settings.max_json_depth
    assert limit >= 32
    body = b'{"a": ' + b"[" * (limit - 1) + b"]" * (limit - 1) + b"}"
    assert json_depth(body) == limit
    with api.client("coordinator") as c:
        response = c.post(
            "/v1/consents", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422  # refused by the consent's own validation, not by depth
    assert response.json()["title"] != "Body nested too deeply"


def test_depth_counts_structure_not_strings() -> None:
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]"}]}') == 3
    assert json_depth(b'{"a": 1}\n{"b": [2]}\n') == 2
    assert json_depth(b"") == 0
