"""The API documentation an integrator opens: Authorize works (bearer scheme on every protected
route), errors are documented as the problem+json they are, each record format has a real
example, and the page loads nothing from outside the gateway."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from adapters import translate
from gateway.api.app import create_app
from gateway.api.openapi import RECORD_EXAMPLES
from gateway.api.server import running_server
from gateway.config.instance import Instance

PUBLIC = {"/healthz", "/readyz", "/v1/keys", "/problems", "/problems/{name}"}


@pytest.fixture
def spec_and_base(instance: Instance) -> Any:
    with running_server(create_app(instance, relay=False)) as base:
        yield httpx.get(base + "/openapi.json").json(), base


def test_every_protected_route_declares_the_bearer_scheme(spec_and_base: Any) -> None:
    spec, base = spec_and_base
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            public = path in PUBLIC or (path, method) == ("/v1/log/checkpoint", "get")
            assert ("security" in operation) != public, (method, path)
            if not public:  # it really is protected
                answer = httpx.request(
                    method.upper(), base + path.replace("{", "x").replace("}", "")
                )
                assert answer.status_code == 401, (method, path, answer.status_code)
                assert "401" in operation["responses"]


def test_errors_are_documented_as_problem_json(spec_and_base: Any) -> None:
    spec, base = spec_and_base
    problem = spec["components"]["schemas"]["Problem"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    answer = httpx.get(base + "/v1/subjects/123/disclosures")
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    content = response["content"]
                    assert list(content) == ["application/problem+json"], (path, status)
    body = answer.json()  # a real refusal has the documented shape
    assert set(problem["required"]) <= set(body)
    assert set(body) <= set(problem["properties"])


def test_each_record_format_has_examples_that_translate(spec_and_base: Any) -> None:
    spec, _ = spec_and_base
    content = spec["paths"]["/v1/records/{agency}"]["post"]["requestBody"]["content"]
    assert set(RECORD_EXAMPLES) | {"application/vnd.helhet.plan-update+json"} == set(content)
    for media, shown in RECORD_EXAMPLES.items():
        for agency, name in shown:
            example = content[media]["examples"][f"{agency}-{name.rsplit('.', 1)[0]}"]["value"]
            text = example if isinstance(example, str) else json.dumps(example)
            body = text.encode()
            assert translate(agency, body, media), (agency, name)


def test_the_documentation_page_loads_only_from_the_gateway(spec_and_base: Any) -> None:
    _, base = spec_and_base
    for page in ("/docs", "/redoc"):
        html = httpx.get(base + page).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, page
        assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
        for source in sources:
            assert httpx.get(base + source).status_code == 200, source
