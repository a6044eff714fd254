"""API fuzzing with schemathesis against the app's own OpenAPI document, over a real HTTP
server with real tokens: no 5xx anywhere, every response matches its documented schema and
media type, and afterwards the disclosure log verifies clean. Examples per operation are
bounded (FUZZ_EXAMPLES) so the suite stays within a couple of minutes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from audit import verify_log
from gateway.api.access import declared, framework_paths, routes
from gateway.api.clients import Role
from tests.helpers.gateway import Gateway, running_gateway

FUZZ_EXAMPLES = int(os.environ.get("HELHET_FUZZ_EXAMPLES", "40"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def fuzzed(tmp_path: Path, sqlite_url: str) -> Iterator[Gateway]:
    """A gateway with some content, so reads find something; the per-client and per-address
    rate limits are off (the fuzzer would hit them, and 429 is tested elsewhere)."""
    toml = "rate_limit_per_minute = 0\nrate_limit_per_address_per_minute = 0\n"
    with running_gateway(tmp_path, sqlite_url, "127.0.0.1:9", toml) as gateway:
        child, born = gateway.person(12)
        gateway.enrol([{"id": child, "role": "child", "birth_date": born.isoformat()}], ["nav"])
        yield gateway


def _token_for(gateway: Gateway, method: str, path: str, case_path: dict[str, Any]) -> str | None:
    """A token of a caller the route admits (the agency named in the path for records)."""
    for route in routes(gateway.app):
        if route.path != path or method.upper() not in (route.methods or ()):
            continue
        access = declared(route, framework_paths(gateway.app))
        if access is None or access.public:
            return None
        if access.agency_path is not None:
            agency = str(case_path.get(access.agency_path, "nav"))
            return gateway.tokens.get(agency, gateway.tokens["nav"])
        role = sorted(access.roles)[0]
        return gateway.tokens["nav" if role is Role.AGENCY else role.value]
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_survives_fuzzing(fuzzed: Gateway, mode: GenerationMode) -> None:
    """Valid requests (positive) and requests that break the schema (negative)."""
    schema = schemathesis.openapi.from_url(fuzzed.base_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for operation in operations:

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def exercise(case: schemathesis.Case) -> None:
            token = _token_for(fuzzed, case.method, case.path, case.path_parameters or {})
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = case.call(base_url=fuzzed.base_url, headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in it can be made invalid
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc!r}"[:1500])
    assert failures == [], "\n\n".join(failures)
    with fuzzed.engine.connect() as conn:
        report = verify_log(conn, fuzzed.instance.signing_key.public_key(), fuzzed.instance.origin)
    assert report.ok, report.summary()


def test_what_the_fuzzer_found(fuzzed: Gateway) -> None:
    """A consent version beyond a database integer was a 500 (an overflow in the driver)."""
    with fuzzed.client("privacy_officer") as c:
        response = c.get("/v1/consents/f", params={"version": str(2**75)})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "query:version"
